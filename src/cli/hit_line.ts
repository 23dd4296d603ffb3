import type { DataDirLayout } from "../store/data_dir.ts";
import type { IndexHit } from "../store/message_index.ts";
import { readLineAtSync } from "../store/log_reader.ts";
import { checkRecordLine, type LineCheck } from "../store/record.ts";

/**
 * Reads and verifies the log line behind an index hit. The index row outlives damage to its
 * line (a flipped byte after indexing), so a command that shows a hit checks the line before
 * presenting it as recorded. Never throws for damage: a line that fails its checksum, holds
 * another seq, or whose file is gone gives `{ ok: false, reason }`.
 *
 * @example
 * ```ts
 * const line = await readHitLine(layout, hit);
 * if (!line.ok) console.log(`damaged: ${line.reason}`);
 * ```
 */
export function readHitLine(layout: DataDirLayout, hit: IndexHit): Promise<LineCheck> {
  return Promise.resolve(readHitLineSync(layout, hit));
}

function readHitLineSync(layout: DataDirLayout, hit: IndexHit): LineCheck {
  let line: Uint8Array;
  try {
    line = readLineAtSync(`${layout.root}/${hit.file}`, hit.offset, hit.length);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, reason: `its log file ${hit.file} is missing` };
    }
    throw error;
  }
  if (line.length < hit.length) {
    return { ok: false, reason: `its log file ${hit.file} ends before the line does` };
  }
  const check = checkRecordLine(line);
  if (!check.ok) return check;
  if (check.record.seq !== hit.seq) {
    return {
      ok: false,
      reason: `the log holds seq ${check.record.seq} where the index expects it`,
    };
  }
  return check;
}

/** The note printed under a hit whose line is damaged: what is shown instead, what to do. */
export function damagedNote(reason: string): string {
  return `DAMAGED in the log (${reason}): shown from the index; run "shearwater-persist diag"`;
}
