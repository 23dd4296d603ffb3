import type { Logger } from "../logger.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { type CatchUpProgress, type CatchUpResult, LogIndexer } from "./log_indexer.ts";
import { isCorruptionError, openIndexWriter } from "./open_index.ts";
import { rebuildIndexFile } from "./rebuild.ts";

export { indexCoversLogs } from "./index_coverage.ts";

/** What {@link refreshIndex} did. */
export interface RefreshResult extends CatchUpResult {
  /** Why the index was rebuilt from scratch, when it was. */
  readonly rebuiltBecause: string | undefined;
}

/**
 * Takes the index lock, brings the index up to date with the logs, and releases the lock.
 * A corrupt index found on the way is set aside and rebuilt (once). With `fresh`, a new index is
 * built from scratch next to the old one and replaces it when complete (`reindex`; see
 * {@link rebuildIndexFile}). Throws `DataDirBusyError` when another process
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
  let built: CatchUpResult | undefined;
  for (let attempt = 1;; attempt++) {
    const writer = await openIndexWriter(layout, options.logger, {
      fresh: options.fresh && attempt === 1,
      setAsideBecause,
      build: async (path) => {
        built = await rebuildIndexFile(layout, path, options);
      },
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
        records: (built?.records ?? 0) + first.records + second.records,
        reindexedFiles: (built?.reindexedFiles ?? 0) + first.reindexedFiles +
          second.reindexedFiles,
        badLines: (built?.badLines ?? 0) + first.badLines + second.badLines,
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
