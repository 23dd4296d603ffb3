import { ErrorCode, PersistError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { PRIVATE_FILE_MODE, writeAll } from "./data_dir.ts";
import { concatBytes } from "./bytes.ts";

/** How {@link MessageLog} makes appended lines durable. */
export interface MessageLogOptions {
  /** `interval`: group commit, one write + fsync per batch; `always`: caller flushes each line. */
  readonly syncMode: "interval" | "always";
  /** Longest wait between a line's append and the start of the write + fsync of its batch. */
  readonly syncMs: number;
  /** A batch this large is written at once, without waiting for `syncMs`. */
  readonly maxBatchBytes?: number;
  /** Called after each fsync with the highest durable sequence number. */
  readonly onDurable?: (durableSeq: number) => void;
  /** Called when a write or fsync fails (it is retried). */
  readonly onWriteError?: (error: Error) => void;
  readonly logger: Logger;
}

/** What a log that gave up retrying could not write (see {@link MessageLog.giveUpAfter}). */
export interface UnwrittenReport {
  /** Lines (records) that were appended but never written. */
  readonly records: number;
  /** Of those, the lines that held received messages (as counted by `append`). */
  readonly messages: number;
  /** Seq of the first unwritten line, or undefined when everything was written. */
  readonly firstSeq: number | undefined;
}

const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
const RETRY_DELAY_MS = 500;

/**
 * An append-only JSONL file with group commit: lines are queued in memory, then written in one
 * call and fsynced (`syncData`). A log that started no write in the last `syncMs` writes at once
 * (once the caller's synchronous appends are done: a quiet bus's message is durable after one
 * fsync); otherwise the write starts `syncMs` after the previous one started. So a line waits at
 * most `syncMs` (plus the fsync in flight) and a burst costs at most one fsync per `syncMs`.
 * A line is durable once {@link MessageLog.durableSeq} reaches its sequence number.
 *
 * A failed write is rolled back (the file is truncated to its last good size) and retried, so a
 * disk-full error delays lines but never tears or drops them — until {@link giveUpAfter} sets a
 * deadline (a stop must end): past it, what fits is written line by line, the rest is counted
 * in {@link unwritten} and dropped.
 *
 * @example
 * ```ts
 * const log = await MessageLog.open("current_session.jsonl", { syncMode: "interval", syncMs: 5, logger });
 * log.append(encodeRecordLine(record), record.seq);
 * await log.flush();
 * ```
 */
export class MessageLog {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #options: MessageLogOptions;
  readonly #maxBatchBytes: number;
  #pending: Uint8Array[] = [];
  /** Seq and message count of each pending line, in step with #pending. */
  #pendingSeqs: number[] = [];
  #pendingMessages: number[] = [];
  #pendingBytes = 0;
  #pendingLastSeq = 0;
  /** When the last write (and fsync) started, `performance.now()`. */
  #lastWriteStartedAt = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A write is queued as a microtask (it cannot be cancelled; see #startWrite). */
  #writeQueued = false;
  #flushing: Promise<void> | undefined;
  #size: number;
  #durableSeq = 0;
  #closed = false;
  #lastError: Error | undefined;
  #giveUpAt: number | undefined;
  #wakeRetry: (() => void) | undefined;
  #unwritten = { records: 0, messages: 0, firstSeq: undefined as number | undefined };

  private constructor(path: string, file: Deno.FsFile, size: number, options: MessageLogOptions) {
    this.path = path;
    this.#file = file;
    this.#size = size;
    this.#options = options;
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  }

  /** Opens (creating with mode 0600 if needed) the log for appending at its current end. */
  static async open(path: string, options: MessageLogOptions): Promise<MessageLog> {
    const file = await Deno.open(path, {
      read: true,
      write: true,
      create: true,
      mode: PRIVATE_FILE_MODE,
    });
    const size = (await file.stat()).size;
    await file.seek(size, Deno.SeekMode.Start);
    return new MessageLog(path, file, size, options);
  }

  /** Highest sequence number known to be on disk (fsynced). */
  get durableSeq(): number {
    return this.#durableSeq;
  }

  /** Bytes written to the file so far (durable or not). */
  get sizeBytes(): number {
    return this.#size;
  }

  /** Bytes appended but not yet written. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** The last write error, cleared by the next successful write. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Device and inode of the open file, to tell whether its path still leads to it. */
  async identity(): Promise<{ dev: number; ino: number | null }> {
    const info = await this.#file.stat();
    return { dev: info.dev, ino: info.ino };
  }

  /** What was dropped after giving up (all zero unless {@link giveUpAfter} was called). */
  get unwritten(): UnwrittenReport {
    return { ...this.#unwritten };
  }

  /**
   * Stops retrying failed writes `ms` from now (a shutdown deadline): a batch still failing then
   * is written line by line as far as it fits, and the rest is dropped and counted in
   * {@link unwritten}. Later batches get one attempt each.
   */
  giveUpAfter(ms: number): void {
    const at = performance.now() + ms;
    this.#giveUpAt = Math.min(this.#giveUpAt ?? at, at);
    this.#wakeRetry?.();
  }

  /**
   * Queues one encoded line (or several joined, `seq` being the last one's). `seq` must be
   * higher than any appended before. In `interval` mode the line is written and fsynced within
   * `syncMs` (plus one fsync); in `always` mode as soon as possible, and a caller that wants
   * one fsync per message awaits {@link flush} after each append. `messages` is how many
   * received messages the line holds (for {@link unwritten}); 0 for daemon events.
   */
  append(line: Uint8Array, seq: number, messages = 0): void {
    if (this.#closed) throw new Error(`MessageLog.append after close: ${this.path}`);
    if (seq <= this.#pendingLastSeq) {
      throw new Error(`MessageLog.append: seq ${seq} not above ${this.#pendingLastSeq}`);
    }
    this.#pending.push(line);
    this.#pendingSeqs.push(seq);
    this.#pendingMessages.push(messages);
    this.#pendingBytes += line.length;
    this.#pendingLastSeq = seq;
    if (this.#pendingBytes >= this.#maxBatchBytes && this.#timer !== undefined) {
      this.#clearTimer(); // a full batch does not wait for the timer
    }
    this.#schedule();
  }

  /** Writes and fsyncs everything appended so far; resolves once it is durable. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      if (this.#flushing) {
        await this.#flushing;
        continue;
      }
      this.#clearTimer();
      this.#flushing = this.#writeBatch().finally(() => {
        this.#flushing = undefined;
      });
      await this.#flushing;
    }
  }

  /** Flushes, then closes the file. Further appends throw. Returns what could not be written. */
  async close(): Promise<UnwrittenReport> {
    await this.flush();
    this.#closed = true;
    this.#clearTimer();
    this.#file.close();
    return this.unwritten;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#writeQueued || this.#flushing) return;
    const sinceLastWrite = performance.now() - this.#lastWriteStartedAt;
    const delay = this.#pendingBytes >= this.#maxBatchBytes || this.#options.syncMode === "always"
      ? 0
      : Math.max(0, this.#options.syncMs - sinceLastWrite);
    if (delay === 0) {
      // Not a timer: a Deno timer, even of 0 ms, fires 1-2 ms late. A microtask runs once the
      // caller's synchronous appends (a whole handed-over batch) are done: one write for them.
      this.#writeQueued = true;
      queueMicrotask(() => {
        this.#writeQueued = false;
        this.#startWrite();
      });
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#startWrite();
    }, delay);
  }

  /** Starts writing what is pending, unless a write (a flush's) is in flight: it takes it. */
  #startWrite(): void {
    if (this.#flushing || this.#closed) return;
    this.#flushing = this.#writeBatch().finally(() => {
      this.#flushing = undefined;
      if (this.#pending.length > 0 && !this.#closed) this.#schedule();
    });
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  async #writeBatch(): Promise<void> {
    if (this.#pending.length === 0) return;
    this.#lastWriteStartedAt = performance.now();
    const lines = this.#pending;
    const seqs = this.#pendingSeqs;
    const messages = this.#pendingMessages;
    const lastSeq = this.#pendingLastSeq;
    this.#pending = [];
    this.#pendingSeqs = [];
    this.#pendingMessages = [];
    this.#pendingBytes = 0;
    const batch = lines.length === 1 ? lines[0]! : concatBytes(lines);
    for (let attempt = 1;; attempt++) {
      try {
        await writeAll(this.#file, batch);
        await this.#file.syncData();
        this.#size += batch.length;
        this.#lastError = undefined;
        break;
      } catch (error) {
        this.#lastError = describeWriteError(this.path, error);
        this.#options.onWriteError?.(this.#lastError);
        this.#options.logger.error("log_write_failed", {
          path: this.path,
          attempt,
          bytes: batch.length,
          error: this.#lastError.message,
        });
        await this.#rollBackTo(this.#size);
        if (this.#giveUpAt !== undefined && performance.now() >= this.#giveUpAt) {
          await this.#writeWhatFits(lines, seqs, messages);
          return;
        }
        await this.#sleepBeforeRetry();
      }
    }
    this.#durableSeq = lastSeq;
    this.#options.onDurable?.(lastSeq);
  }

  /** Waits before the next attempt; {@link giveUpAfter} cuts the wait short. */
  async #sleepBeforeRetry(): Promise<void> {
    const left = this.#giveUpAt === undefined
      ? RETRY_DELAY_MS
      : Math.min(RETRY_DELAY_MS, Math.max(0, this.#giveUpAt - performance.now()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, left);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeRetry = done;
    });
    this.#wakeRetry = undefined;
  }

  /** Last attempt after giving up: lines one by one until one fails; the rest are counted. */
  async #writeWhatFits(lines: Uint8Array[], seqs: number[], messages: number[]): Promise<void> {
    let written = 0;
    for (; written < lines.length; written++) {
      try {
        await writeAll(this.#file, lines[written]!);
        this.#size += lines[written]!.length;
      } catch (error) {
        this.#options.logger.error("log_write_given_up", {
          path: this.path,
          error: describeWriteError(this.path, error).message,
        });
        await this.#rollBackTo(this.#size);
        break;
      }
    }
    let synced = written > 0;
    if (synced) {
      try {
        await this.#file.syncData();
      } catch (error) {
        synced = false;
        this.#options.logger.error("log_sync_failed", {
          path: this.path,
          error: describeWriteError(this.path, error).message,
        });
      }
    }
    if (synced) {
      this.#durableSeq = seqs[written - 1]!;
      this.#options.onDurable?.(this.#durableSeq);
    }
    if (written < lines.length) {
      this.#unwritten.records += lines.length - written;
      this.#unwritten.messages += messages.slice(written).reduce((sum, n) => sum + n, 0);
      this.#unwritten.firstSeq ??= seqs[written];
    }
  }

  async #rollBackTo(size: number): Promise<void> {
    try {
      await this.#file.truncate(size);
      await this.#file.seek(size, Deno.SeekMode.Start);
    } catch (error) {
      this.#options.logger.error("log_rollback_failed", {
        path: this.path,
        error: (error as Error).message,
      });
    }
  }
}

function describeWriteError(path: string, error: unknown): PersistError {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const message = (error as Error)?.message ?? String(error);
  const detail = /ENOSPC|No space left/i.test(message) ? "disk is full" : message;
  return new PersistError(`Cannot append to "${name}": ${detail}`, {
    code: ErrorCode.logWriteFailed,
    cause: error,
  });
}
