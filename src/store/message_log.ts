import { PersistError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { PRIVATE_FILE_MODE, writeAll } from "./data_dir.ts";

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

const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
const RETRY_DELAY_MS = 500;

/**
 * An append-only JSONL file with group commit: lines are queued in memory, then written in one
 * call and fsynced (`syncData`) at most `syncMs` after the first of them was appended. A line is
 * durable once {@link MessageLog.durableSeq} reaches its sequence number.
 *
 * A failed write is rolled back (the file is truncated to its last good size) and retried, so a
 * disk-full error delays lines but never tears or drops them.
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
  #pendingBytes = 0;
  #pendingLastSeq = 0;
  #oldestPendingAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #size: number;
  #durableSeq = 0;
  #closed = false;
  #lastError: Error | undefined;

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

  /**
   * Queues one encoded line (or several joined, `seq` being the last one's). `seq` must be
   * higher than any appended before. In `interval` mode the line is written and fsynced within
   * `syncMs` (plus one fsync); in `always` mode as soon as possible, and a caller that wants
   * one fsync per message awaits {@link flush} after each append.
   */
  append(line: Uint8Array, seq: number): void {
    if (this.#closed) throw new Error(`MessageLog.append after close: ${this.path}`);
    if (seq <= this.#pendingLastSeq) {
      throw new Error(`MessageLog.append: seq ${seq} not above ${this.#pendingLastSeq}`);
    }
    if (this.#pending.length === 0) this.#oldestPendingAt = performance.now();
    this.#pending.push(line);
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

  /** Flushes, then closes the file. Further appends throw. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    this.#clearTimer();
    this.#file.close();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#flushing) return;
    const waited = performance.now() - this.#oldestPendingAt;
    const delay = this.#pendingBytes >= this.#maxBatchBytes || this.#options.syncMode === "always"
      ? 0
      : Math.max(0, this.#options.syncMs - waited);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#writeBatch().finally(() => {
        this.#flushing = undefined;
        if (this.#pending.length > 0 && !this.#closed) this.#schedule();
      });
    }, delay);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  async #writeBatch(): Promise<void> {
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    const lastSeq = this.#pendingLastSeq;
    this.#pending = [];
    const batchBytes = this.#pendingBytes;
    this.#pendingBytes = 0;
    const batch = lines.length === 1 ? lines[0]! : concat(lines, batchBytes);
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
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
    this.#durableSeq = lastSeq;
    this.#options.onDurable?.(lastSeq);
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

function concat(chunks: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function describeWriteError(path: string, error: unknown): PersistError {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const message = (error as Error)?.message ?? String(error);
  const detail = /ENOSPC|No space left/i.test(message) ? "disk is full" : message;
  return new PersistError(`Cannot append to "${name}": ${detail}`, {
    code: "log_write_failed",
    cause: error,
  });
}
