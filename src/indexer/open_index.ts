import type { Logger } from "../logger.ts";
import { type DataDirLayout, fileTimestamp } from "../store/data_dir.ts";
import { DataDirLock } from "../store/data_dir_lock.ts";
import { IndexUnusableError, SqliteIndex } from "../store/sqlite_index.ts";
import { exists } from "../store/file_info.ts";

export { isDiskFullError } from "../store/sqlite_index.ts";

/** Path of the index database in a data dir. */
export function indexPath(layout: DataDirLayout): string {
  return `${layout.indexDir}/index.db`;
}

/** Path of the lock held by whoever writes the index (the daemon's indexer, or a CLI). */
export function indexLockPath(layout: DataDirLayout): string {
  return `${layout.indexDir}/index.lock`;
}

/** A writable index, opened under the index lock. */
export interface IndexWriter {
  readonly index: SqliteIndex;
  readonly lock: DataDirLock;
  /** Why the index was started afresh, when it was (missing, corrupt, old schema). */
  readonly rebuiltBecause: string | undefined;
  close(): void;
}

/**
 * Takes the index lock and opens index.db for writing. A missing index is created; an
 * unusable one (not SQLite, corrupt, another schema version) is moved to `recovery/` with a
 * warning and replaced by an empty one, which the indexer then rebuilds from the logs.
 * Throws `DataDirBusyError` when another process holds the index lock.
 *
 * @example
 * ```ts
 * const writer = await openIndexWriter(layout, logger);
 * try { await new LogIndexer(layout, writer.index, { logger }).catchUp(); } finally { writer.close(); }
 * ```
 */
export async function openIndexWriter(
  layout: DataDirLayout,
  logger: Logger,
  options: {
    fresh?: boolean;
    setAsideBecause?: string;
    /**
     * With `fresh`: builds the new index at the path it is given, under the lock, before it is
     * opened (see `rebuildIndexFile`). Without it, `fresh` deletes the index first.
     */
    build?: (path: string) => Promise<void>;
  } = {},
): Promise<IndexWriter> {
  await Deno.mkdir(layout.indexDir, { recursive: true, mode: 0o700 });
  const lock = await DataDirLock.acquire(indexLockPath(layout), "indexer");
  try {
    const path = indexPath(layout);
    let rebuiltBecause: string | undefined;
    if (options.fresh) {
      if (options.build) await options.build(path);
      else await removeIndexFiles(path);
      rebuiltBecause = "reindex requested";
    } else if (options.setAsideBecause) {
      const setAside = await setIndexAside(layout, path);
      rebuiltBecause = `${options.setAsideBecause}; set aside as ${setAside}`;
      logger.warn("index_set_aside", { reason: options.setAsideBecause, set_aside: setAside });
    } else if (!(await exists(path))) {
      rebuiltBecause = "index.db was missing";
    }
    let index: SqliteIndex;
    try {
      index = SqliteIndex.open(path, { readOnly: false });
    } catch (error) {
      if (!(error instanceof IndexUnusableError)) throw error;
      const setAside = await setIndexAside(layout, path);
      rebuiltBecause = `${error.message}; set aside as ${setAside}`;
      logger.warn("index_set_aside", { reason: error.message, set_aside: setAside });
      index = SqliteIndex.open(path, { readOnly: false });
    }
    await Deno.chmod(path, 0o600);
    return {
      index,
      lock,
      rebuiltBecause,
      close() {
        index.close();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Moves an unusable index.db (and its -wal/-shm files) into `recovery/`, so it can be looked
 * at, and returns the new path of the main file.
 */
export async function setIndexAside(layout: DataDirLayout, path: string): Promise<string> {
  const target = `${layout.recoveryDir}/index_unusable_${fileTimestamp(new Date())}_${
    crypto.randomUUID().slice(0, 8)
  }.db`;
  await Deno.mkdir(layout.recoveryDir, { recursive: true, mode: 0o700 });
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      await Deno.rename(path + suffix, target + suffix);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return target;
}

/** True when a message says SQLite found the database damaged. */
export function isCorruptionError(error: unknown): boolean {
  const message = (error as Error)?.message ?? "";
  return /malformed|not a database|disk image|SQLITE_CORRUPT|SQLITE_NOTADB/i.test(message);
}

async function removeIndexFiles(path: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      await Deno.remove(path + suffix);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
