import { DatabaseSync } from "node:sqlite";
import type { Logger } from "../logger.ts";
import { type DataDirLayout, syncDirectory, syncFile } from "../store/data_dir.ts";
import { SqliteIndex } from "../store/sqlite_index.ts";
import { type EntrySource, ParsingWorker } from "./entry_source.ts";
import { FtsBuilder } from "./fts_builder.ts";
import { type CatchUpProgress, type CatchUpResult, LogIndexer } from "./log_indexer.ts";

/** Records per transaction of a rebuild (the progress is reported after each). */
const REBUILD_BATCH_SIZE = 25_000;

/** Suffix of the file a rebuild writes before it is renamed over index.db. */
export const REBUILD_SUFFIX = ".rebuild";
/** Suffix of the file its full-text table is loaded into, by another thread. */
export const REBUILD_FTS_SUFFIX = ".rebuild-fts";
/** Entries between two checks that the full-text thread keeps up. */
const ROOM_CHECK_ENTRIES = 5000;

/**
 * Builds a new index of all the logs in `<path>.rebuild` and renames it over `path` once it
 * is complete: readers see the old index until then, and a crash leaves the old index (and a
 * stray `.rebuild` file, deleted by the next rebuild), never a half-built one. The logs are
 * read and parsed in a worker thread while this thread writes SQLite, in big transactions
 * without a journal; the secondary indexes and the full-text merge come at the end. The caller
 * holds the index lock.
 *
 * @example
 * ```ts
 * const result = await rebuildIndexFile(layout, indexPath(layout), { logger });
 * ```
 */
export async function rebuildIndexFile(
  layout: DataDirLayout,
  path: string,
  options: { logger: Logger; onProgress?: (progress: CatchUpProgress) => void },
): Promise<CatchUpResult> {
  const building = path + REBUILD_SUFFIX;
  const ftsPath = path + REBUILD_FTS_SUFFIX;
  await removeFiles(building, ["", "-journal", "-wal", "-shm"]);
  await removeFiles(ftsPath, ["", "-journal", "-wal", "-shm"]);
  // Three threads: this one writes records, sessions and files; one reads and parses the logs;
  // one loads the full-text index (copied in at the end).
  const fts = FtsBuilder.start(ftsPath);
  const parser = ParsingWorker.start();
  let index: SqliteIndex | undefined;
  let result: CatchUpResult;
  try {
    index = SqliteIndex.createForRebuild(building, {
      contentSink: (seqs, contents) => fts.add(seqs, contents),
    });
    const source: EntrySource = async function* (logPath, scan) {
      let entries = 0;
      for await (const entry of parser.scan(logPath, scan)) {
        yield entry;
        if (++entries % ROOM_CHECK_ENTRIES === 0) await fts.room();
      }
    };
    result = await new LogIndexer(layout, index, {
      logger: options.logger,
      onProgress: options.onProgress,
      batchSize: REBUILD_BATCH_SIZE,
      entrySource: source,
    }).catchUp();
    parser.close();
    // The full-text thread's final merge and this thread's index sorts run side by side.
    const rebuilt = index;
    const ftsFinished = fts.finish((chunk) => rebuilt.addFtsDocsize(chunk));
    index.createRebuildIndexes();
    await ftsFinished;
    index.finishRebuild(ftsPath);
    index = undefined;
  } catch (error) {
    try {
      index?.close();
    } catch (closeError) {
      options.logger.warn("index_rebuild_close_failed", { error: (closeError as Error).message });
    }
    await removeFiles(building, ["", "-journal"]);
    throw error;
  } finally {
    parser.close();
    fts.close();
    await removeFiles(ftsPath, ["", "-journal"]);
  }
  // On disk before the rename, so that a crash cannot put a file with holes in its place.
  await syncFile(building);
  retireOldIndex(path, options.logger);
  await Deno.rename(building, path);
  await syncDirectory(layout.indexDir);
  return result;
}

/**
 * Gets the old index out of the new one's way: its write-ahead log must not be replayed over
 * the new file. Switching it out of WAL mode checkpoints and deletes its -wal and -shm (which
 * needs a moment without readers: SQLite waits up to its busy timeout); when that cannot be
 * done (readers stay, the file is damaged) the two files are deleted just before the rename,
 * which readers that have them open do not notice.
 */
function retireOldIndex(path: string, logger: Logger): void {
  let db: DatabaseSync | undefined;
  try {
    Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 2000");
    const row = db.prepare("PRAGMA journal_mode = DELETE").get() as { journal_mode?: string };
    if (row?.journal_mode === "delete") return;
  } catch (error) {
    logger.debug("index_old_not_retired", { error: (error as Error).message });
  } finally {
    db?.close();
  }
  for (const suffix of ["-wal", "-shm"]) {
    try {
      Deno.removeSync(path + suffix);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

async function removeFiles(path: string, suffixes: readonly string[]): Promise<void> {
  for (const suffix of suffixes) {
    try {
      await Deno.remove(path + suffix);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
