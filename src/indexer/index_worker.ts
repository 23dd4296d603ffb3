/**
 * Web Worker entry that keeps the index up to date while the daemon records, so that SQLite's
 * synchronous work never runs on the recording thread. Messages in: `{ type: "start",
 * dataDir, logLevel }`, `{ type: "release" }` (close the index and let another process take
 * the lock, e.g. `reindex`), `{ type: "stop" }`. Messages out: `progress`, `waiting`,
 * `stopped`, `error`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createForwardingLogger, type LogLevel } from "../logger.ts";
import { DataDirBusyError } from "../errors.ts";
import { dataDirLayout } from "../store/data_dir.ts";
import { ParsingWorker } from "./entry_source.ts";
import { LogIndexer } from "./log_indexer.ts";
import {
  type IndexWriter,
  isCorruptionError,
  isDiskFullError,
  openIndexWriter,
} from "./open_index.ts";

/**
 * Pause after a pass that found nothing new. A pass that indexed something is followed by the
 * next one at once: under load each pass takes everything written meanwhile as one bigger
 * batch, and at a trickle a message is searchable within about this pause of being durable.
 */
const IDLE_POLL_MS = 20;
/** Records per index transaction at most (a backlog is indexed in batches of this size). */
const LIVE_BATCH_SIZE = 20_000;
/**
 * A pass with at least this much of a log to read (a backlog: the recorder is busy) has the
 * log parsed on one more thread, so that the index is written while the next lines are parsed.
 */
const BACKLOG_PARSE_BYTES = 4 * 1024 * 1024;
/** How long a fully indexed archived log is trusted without looking at it again. */
const ARCHIVE_RECHECK_MS = 2000;
const LOCK_RETRY_MS = 1000;
/** First and longest wait before indexing again after the disk was full. */
const DISK_FULL_FIRST_BACKOFF_MS = 1000;
const DISK_FULL_MAX_BACKOFF_MS = 60_000;

let stopping = false;
let releaseRequested = false;
let wake: (() => void) | undefined;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { type: string; dataDir?: string; logLevel?: LogLevel };
  if (message.type === "start") {
    run(message.dataDir!, message.logLevel ?? "info").catch((error) => {
      self.postMessage({ type: "error", message: (error as Error).message });
    });
  } else if (message.type === "stop") {
    stopping = true;
  } else if (message.type === "release") {
    releaseRequested = true;
  }
  wake?.();
};

async function run(dataDir: string, logLevel: LogLevel): Promise<void> {
  // Entries go to the daemon's logger (its stderr or --log-file), through the main thread.
  const logger = createForwardingLogger(
    { component: "indexer", level: logLevel },
    (entry) => self.postMessage({ type: "log", entry }),
  );
  const layout = dataDirLayout(dataDir);
  let writer: IndexWriter | undefined;
  let indexer: LogIndexer | undefined;
  let setAsideBecause: string | undefined;
  let reported = false;
  let diskFullBackoffMs = 0;
  let parser: ParsingWorker | undefined;
  const backlogSource = () => {
    if (!parser || parser.closed) parser = ParsingWorker.start();
    return parser.source;
  };
  /**
   * A full disk: say so once, close the index (its WAL gives its space back to the log, which
   * goes first), and try again later with a growing wait.
   */
  const pauseForFullDisk = async (error: unknown) => {
    try {
      writer?.close();
    } catch (closeError) {
      logger.warn("index_close_failed", { error: (closeError as Error).message });
    }
    writer = undefined;
    if (diskFullBackoffMs === 0) {
      logger.warn("index_disk_full", {
        error: (error as Error).message,
        action: "indexing paused while the disk is full; the log goes first",
      });
      diskFullBackoffMs = DISK_FULL_FIRST_BACKOFF_MS;
    } else {
      diskFullBackoffMs = Math.min(DISK_FULL_MAX_BACKOFF_MS, diskFullBackoffMs * 2);
    }
    logger.debug("index_disk_full_retry", { next_try_ms: diskFullBackoffMs });
    self.postMessage({ type: "waiting", reason: "disk full: indexing paused" });
    await sleep(diskFullBackoffMs);
  };
  while (!stopping) {
    if (releaseRequested && writer) {
      writer.close();
      writer = undefined;
      releaseRequested = false;
      logger.info("index_released");
      await sleep(LOCK_RETRY_MS);
      continue;
    }
    releaseRequested = false;
    if (!writer) {
      try {
        writer = await openIndexWriter(layout, logger, { setAsideBecause });
        setAsideBecause = undefined;
        reported = false;
        if (writer.rebuiltBecause) {
          logger.warn("index_rebuilding", { reason: writer.rebuiltBecause });
        }
        indexer = new LogIndexer(layout, writer.index, {
          logger,
          batchSize: LIVE_BATCH_SIZE,
          archiveRecheckMs: ARCHIVE_RECHECK_MS,
          backlogSource: { source: backlogSource, fromBytes: BACKLOG_PARSE_BYTES },
          shouldStop: () => stopping,
          onBatch: (lastSeq) => self.postMessage({ type: "progress", lastSeq }),
        });
      } catch (error) {
        if (isDiskFullError(error)) {
          await pauseForFullDisk(error);
          continue;
        }
        if (!(error instanceof DataDirBusyError)) throw error;
        self.postMessage({ type: "waiting", reason: error.message });
        await sleep(LOCK_RETRY_MS);
        continue;
      }
    }
    let found = false;
    try {
      const result = await indexer!.catchUp();
      found = result.records > 0;
      if (result.records > 0 || result.reindexedFiles > 0 || !reported) {
        self.postMessage({ type: "progress", lastSeq: writer.index.lastSeq() });
        reported = true;
      }
      if (diskFullBackoffMs > 0) {
        logger.info("index_resumed", { after: "disk full" });
        diskFullBackoffMs = 0;
      }
    } catch (error) {
      if (isDiskFullError(error)) {
        await pauseForFullDisk(error);
        continue;
      }
      if (!isCorruptionError(error)) throw error;
      writer.close();
      writer = undefined;
      setAsideBecause = `index.db is damaged: ${(error as Error).message}`;
      continue;
    }
    await sleep(found ? 0 : IDLE_POLL_MS);
  }
  writer?.close();
  parser?.close();
  self.postMessage({ type: "stopped" });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      wake = undefined;
      resolve();
    }, ms);
    wake = () => {
      clearTimeout(timer);
      wake = undefined;
      resolve();
    };
  });
}
