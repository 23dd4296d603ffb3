import { DamagedDataError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { readRecordAt } from "../store/log_reader.ts";
import type { MessageIndex } from "../store/message_index.ts";
import { listArchivedLogs } from "../store/session_archive.ts";
import { type CatchUpProgress, type CatchUpResult, LogIndexer } from "./log_indexer.ts";
import { isCorruptionError, openIndexWriter } from "./open_index.ts";
import { fileSize } from "../store/file_info.ts";

/** What {@link refreshIndex} did. */
export interface RefreshResult extends CatchUpResult {
  /** Why the index was rebuilt from scratch, when it was. */
  readonly rebuiltBecause: string | undefined;
}

/**
 * Takes the index lock, brings the index up to date with the logs, and releases the lock.
 * A corrupt index found on the way is set aside and rebuilt (once). With `fresh`, the index is
 * deleted and rebuilt from scratch (`reindex`). Throws `DataDirBusyError` when another process
 * (the daemon's indexer) holds the index lock.
 *
 * @example
 * ```ts
 * const result = await refreshIndex(layout, { logger });
 * ```
 */
export async function refreshIndex(
  layout: DataDirLayout,
  options: { logger: Logger; fresh?: boolean; onProgress?: (progress: CatchUpProgress) => void },
): Promise<RefreshResult> {
  let setAsideBecause: string | undefined;
  for (let attempt = 1;; attempt++) {
    const writer = await openIndexWriter(layout, options.logger, {
      fresh: options.fresh && attempt === 1,
      setAsideBecause,
    });
    try {
      const indexer = new LogIndexer(layout, writer.index, {
        logger: options.logger,
        onProgress: options.onProgress,
      });
      const first = await indexer.catchUp();
      // A log deleted by hand is dropped once it is missing from two passes in a row (one pass
      // can miss a log being archived); a second pass, cheap after the first, does that here.
      const second = await indexer.catchUp();
      return {
        records: first.records + second.records,
        reindexedFiles: first.reindexedFiles + second.reindexedFiles,
        badLines: first.badLines + second.badLines,
        rebuiltBecause: writer.rebuiltBecause,
      };
    } catch (error) {
      if (!isCorruptionError(error) || attempt > 1) throw error;
      setAsideBecause = `index.db is damaged: ${(error as Error).message}`;
    } finally {
      writer.close();
    }
  }
}

/**
 * True when `index` already covers every log of the data dir: each log is indexed to its full
 * size and still holds the last record indexed from it, and no indexed log is gone. Then a
 * reader needs no {@link refreshIndex} (which takes the index lock, syncs it and opens the index
 * for writing): the cheap check readers make first. Any doubt answers false.
 *
 * @example
 * ```ts
 * if (!(await indexCoversLogs(layout, index))) await refreshIndex(layout, { logger });
 * ```
 */
export async function indexCoversLogs(
  layout: DataDirLayout,
  index: MessageIndex,
): Promise<boolean> {
  const root = layout.root.replace(/\/+$/, "");
  const indexed = new Map(index.files().map((file) => [file.path, file]));
  const logs = [...await listArchivedLogs(layout), layout.currentLog];
  let covered = 0;
  for (const path of logs) {
    const file = indexed.get(path.slice(root.length + 1));
    const size = await fileSize(path);
    if (size === null) {
      if (path === layout.currentLog) continue; // none yet (the next daemon starts one)
      return false; // rotated meanwhile
    }
    if (file === undefined) {
      if (size === 0) continue; // an empty current log: nothing to index
      return false;
    }
    if (file.indexedBytes !== size) return false;
    try {
      const { record } = await readRecordAt(path, file.lastOffset, file.lastLength);
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
