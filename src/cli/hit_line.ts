import type { DataDirLayout } from "../store/data_dir.ts";
import type { IndexHit } from "../store/message_index.ts";
import { readLineFromSync } from "../store/log_reader.ts";
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
  return Promise.resolve(readHitLines(layout, [hit])[0]!);
}

/**
 * {@link readHitLine} for many hits at once, synchronously, opening each log file once: a
 * command checks up to a few hundred short lines, and four file operations per line cost more
 * than the reads themselves.
 */
export function readHitLines(layout: DataDirLayout, hits: readonly IndexHit[]): LineCheck[] {
  const files = new Map<string, Deno.FsFile | null>(); // null: the file is missing
  try {
    return hits.map((hit) => {
      let file = files.get(hit.file);
      if (file === undefined) {
        file = openIfPresent(`${layout.root}/${hit.file}`);
        files.set(hit.file, file);
      }
      if (file === null) return { ok: false, reason: `its log file ${hit.file} is missing` };
      return checkHitLine(hit, readLineFromSync(file, hit.offset, hit.length));
    });
  } finally {
    for (const file of files.values()) file?.close();
  }
}

function openIfPresent(path: string): Deno.FsFile | null {
  try {
    return Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function checkHitLine(hit: IndexHit, line: Uint8Array): LineCheck {
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
