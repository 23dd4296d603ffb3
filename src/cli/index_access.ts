import { DamagedDataError, DataDirBusyError, ErrorCode, PersistError } from "../errors.ts";
import { indexPath } from "../indexer/open_index.ts";
import { indexCoversLogs } from "../indexer/index_coverage.ts";
import { lazyModule } from "../lazy_import.ts";
import { createJsonLogger, type Logger } from "../logger.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { readLineAt, readRecordAt } from "../store/log_reader.ts";
import type { IndexHit } from "../store/message_index.ts";
import type { LogRecord } from "../store/record.ts";
import { IndexUnusableError, SqliteIndex } from "../store/sqlite_index.ts";
import { createProgress } from "./progress.ts";

// The refresh (indexer, index writer, lock) loads only when the index is behind the logs: most
// runs find it current, and loading it cost every search and recent a few ms.
const loadRefresh = lazyModule<typeof import("../indexer/refresh.ts")>(
  import.meta.resolve("../indexer/refresh.ts"),
);

/** Records to catch up before a progress bar is worth showing. */
const PROGRESS_ABOVE_BYTES = 8 * 1024 * 1024;

/**
 * Opens the index for a reader command. When no daemon keeps the index up to date (the index
 * lock is free), it first catches up with the logs itself, with a progress bar for long work,
 * so results are current whether or not the daemon runs. Then it opens index.db read-only.
 */
export async function openIndexForReading(
  layout: DataDirLayout,
  options: { logger?: Logger; quiet?: boolean } = {},
): Promise<SqliteIndex> {
  const current = openIfCurrent(layout);
  if (current) return current;
  const logger = options.logger ?? createJsonLogger({ component: "cli", level: "warn" });
  const progress = options.quiet ? undefined : createProgress("Indexing");
  let shown = false;
  try {
    const { refreshIndex } = await loadRefresh();
    const result = await refreshIndex(layout, {
      logger,
      onProgress: (update) => {
        if (!progress || (!shown && update.bytesTotal < PROGRESS_ABOVE_BYTES)) return;
        shown = true;
        progress.update(
          update.bytesDone,
          update.bytesTotal,
          `${update.records.toLocaleString("en-US")} records`,
        );
      },
    });
    if (shown) progress?.finish(`${result.records.toLocaleString("en-US")} records indexed`);
    if (result.rebuiltBecause && result.records > 0 && !options.quiet) {
      console.error(`note: the index was rebuilt from the logs (${result.rebuiltBecause})`);
    }
  } catch (error) {
    // The daemon's indexer holds the lock and keeps the index current: just read.
    if (!(error instanceof DataDirBusyError)) throw error;
  }
  try {
    return SqliteIndex.open(indexPath(layout), { readOnly: true });
  } catch (error) {
    throw new PersistError(
      `Cannot open the search index of "${layout.root}": ${(error as Error).message} ` +
        `(if a daemon is starting, retry in a moment; "shearwater-persist reindex" rebuilds it)`,
      { code: ErrorCode.indexUnavailable, cause: error },
    );
  }
}

/**
 * The index opened read-only when it already covers every log (nothing to catch up: no lock,
 * no writer), else undefined. A missing or unusable index answers undefined: the refresh
 * rebuilds it.
 */
function openIfCurrent(layout: DataDirLayout): SqliteIndex | undefined {
  let index: SqliteIndex;
  try {
    index = SqliteIndex.open(indexPath(layout), { readOnly: true });
  } catch (error) {
    if (error instanceof IndexUnusableError) return undefined;
    throw error;
  }
  try {
    if (indexCoversLogs(layout, index)) return index;
  } catch (error) {
    index.close();
    throw error;
  }
  index.close();
  return undefined;
}

/** Reads the bytes of an index hit's log line as stored, unverified (to show a damaged line). */
export async function readHitBytes(layout: DataDirLayout, hit: IndexHit): Promise<Uint8Array> {
  return await readLineAt(`${layout.root}/${hit.file}`, hit.offset, hit.length);
}

/**
 * Reads the full record behind an index hit from its log file and checks it is the record the
 * index promised: a line that fails its checksum, or holds another seq, throws a
 * {@link DamagedDataError} naming the file and offset.
 */
export async function readHitRecord(
  layout: DataDirLayout,
  hit: IndexHit,
): Promise<{ record: LogRecord; line: Uint8Array }> {
  const path = `${layout.root}/${hit.file}`;
  const read = await readRecordAt(path, hit.offset, hit.length);
  if (read.record.seq !== hit.seq) {
    throw new DamagedDataError(
      `Cannot read record ${hit.seq} at byte ${hit.offset} of "${path}": the line there holds ` +
        `seq ${read.record.seq} (the log changed under the index: run "shearwater-persist reindex")`,
    );
  }
  return read;
}
