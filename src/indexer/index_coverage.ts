import { DamagedDataError } from "../errors.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { readRecordAtSync } from "../store/log_reader.ts";
import type { MessageIndex } from "../store/message_index.ts";
import { listArchivedLogsSync } from "../store/session_archive.ts";

/**
 * True when `index` already covers every log of the data dir: each log is indexed to its full
 * size and still holds the last record indexed from it, and no indexed log is gone. Then a
 * reader needs no `refreshIndex` (which takes the index lock, syncs it and opens the index
 * for writing): the cheap check readers make first. Any doubt answers false.
 * Synchronous: it runs at the start of every `search` and `recent`, where a few async file
 * operations cost more than the work.
 *
 * @example
 * ```ts
 * if (!indexCoversLogs(layout, index)) await refreshIndex(layout, { logger });
 * ```
 */
export function indexCoversLogs(
  layout: DataDirLayout,
  index: MessageIndex,
): boolean {
  const root = layout.root.replace(/\/+$/, "");
  const indexed = new Map(index.files().map((file) => [file.path, file]));
  const logs = [...listArchivedLogsSync(layout), layout.currentLog];
  let covered = 0;
  for (const path of logs) {
    const file = indexed.get(path.slice(root.length + 1));
    let size: number;
    try {
      size = Deno.statSync(path).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (path === layout.currentLog) continue; // none yet (the next daemon starts one)
      return false; // rotated meanwhile
    }
    if (file === undefined) {
      if (size === 0) continue; // an empty current log: nothing to index
      return false;
    }
    if (file.indexedBytes !== size) return false;
    try {
      const { record } = readRecordAtSync(path, file.lastOffset, file.lastLength);
      if (record.seq !== file.lastSeq) return false;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      if (error instanceof DamagedDataError) return false;
      throw error;
    }
    covered++;
  }
  return covered === indexed.size;
}
