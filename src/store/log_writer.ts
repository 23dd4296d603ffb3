import type { LogLevel } from "../logger.ts";
import type { WriterEvent, WriterRequest } from "./log_writer_worker.ts";

/** Options for {@link LogWriter.open}. */
export interface LogWriterOptions {
  readonly syncMode: "interval" | "always";
  readonly syncMs: number;
  readonly logLevel: LogLevel;
  /** Longest time appended lines wait on this thread before they go to the writer. */
  readonly handoffMs?: number;
  /** Bytes after which appended lines go to the writer at once. */
  readonly handoffBytes?: number;
  /** Bytes handed over but not yet durable above which {@link LogWriter.hasRoom} is false. */
  readonly maxInFlightBytes?: number;
}

const DEFAULT_HANDOFF_MS = 1;
const DEFAULT_HANDOFF_BYTES = 256 * 1024;
const DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/**
 * The recording thread's side of the log: lines appended here are handed over in batches (at
 * least every `handoffMs`) to a worker thread that writes and fsyncs them (group commit, see
 * `MessageLog`). Handing over is a plain message post, so it works even while the receive loop
 * keeps this thread busy, and the fsync cadence is kept by the worker's own event loop.
 *
 * @example
 * ```ts
 * const writer = await LogWriter.open(path, { syncMode: "interval", syncMs: 5, logLevel: "info" });
 * writer.append(encodeRecordLine(record), record.seq);
 * await writer.flush();
 * await writer.terminate();
 * ```
 */
export class LogWriter {
  readonly #worker: Worker;
  readonly #options: LogWriterOptions;
  readonly #waiting = new Map<number, { resolve(e: WriterEvent): void; reject(e: Error): void }>();
  #nextId = 1;
  #path = "";
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingLastSeq = 0;
  #firstPendingAt = 0;
  #handoffTimer: ReturnType<typeof setTimeout> | undefined;
  #handedOverBytes = 0;
  #durableBytes = 0;
  #baseSize = 0;
  #durableSeq = 0;
  #lastError: string | undefined;

  private constructor(worker: Worker, options: LogWriterOptions) {
    this.#worker = worker;
    this.#options = options;
    worker.onmessage = (event: MessageEvent<WriterEvent>) => this.#onEvent(event.data);
  }

  /** Starts the writer thread and opens `path` for appending. */
  static async open(path: string, options: LogWriterOptions): Promise<LogWriter> {
    const worker = new Worker(new URL("./log_writer_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const writer = new LogWriter(worker, options);
    await writer.openFile(path);
    return writer;
  }

  /** Path of the open log. */
  get path(): string {
    return this.#path;
  }

  /** Highest seq known to be fsynced. */
  get durableSeq(): number {
    return this.#durableSeq;
  }

  /** Size of the log file including lines not yet written. */
  get sizeBytes(): number {
    return this.#baseSize + this.#handedOverBytes + this.#pendingBytes;
  }

  /** Bytes appended but not yet durable. */
  get pendingBytes(): number {
    return this.#handedOverBytes - this.#durableBytes + this.#pendingBytes;
  }

  /** False while too much is in flight: the caller should `await flush()` first. */
  get hasRoom(): boolean {
    return this.pendingBytes < (this.#options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES);
  }

  /** The last write error the writer reported, cleared by the next fsync. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Queues one encoded line with its seq (strictly increasing). */
  append(line: Uint8Array, seq: number): void {
    if (this.#pending.length === 0) this.#firstPendingAt = performance.now();
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.#pendingLastSeq = seq;
    const handoffMs = this.#options.handoffMs ?? DEFAULT_HANDOFF_MS;
    if (
      this.#pendingBytes >= (this.#options.handoffBytes ?? DEFAULT_HANDOFF_BYTES) ||
      performance.now() - this.#firstPendingAt >= handoffMs
    ) {
      this.#handOver();
    } else if (this.#handoffTimer === undefined) {
      this.#handoffTimer = setTimeout(() => this.#handOver(), handoffMs);
    }
  }

  /** Hands everything over and resolves once it is fsynced. */
  async flush(): Promise<void> {
    this.#handOver();
    const done = await this.#request({ type: "flush", id: 0 });
    if (done.type === "done") this.#noteDurable(done.durableSeq, done.size);
  }

  /** Flushes and closes the file; the writer thread stays for {@link openFile}. */
  async closeFile(): Promise<void> {
    this.#handOver();
    const done = await this.#request({ type: "close", id: 0 });
    if (done.type === "done") this.#noteDurable(done.durableSeq, done.size);
  }

  /** Opens another file (after {@link closeFile}) for appending. */
  async openFile(path: string): Promise<void> {
    const done = await this.#request({
      type: "open",
      id: 0,
      path,
      syncMode: this.#options.syncMode,
      syncMs: this.#options.syncMs,
      logLevel: this.#options.logLevel,
    });
    if (done.type !== "done") return;
    this.#path = path;
    this.#baseSize = done.size;
    this.#handedOverBytes = 0;
    this.#durableBytes = 0;
  }

  /** Closes the file (flushing) and stops the writer thread. */
  async terminate(): Promise<void> {
    if (this.#path !== "") await this.closeFile();
    this.#path = "";
    this.#worker.terminate();
  }

  #handOver(): void {
    if (this.#handoffTimer !== undefined) {
      clearTimeout(this.#handoffTimer);
      this.#handoffTimer = undefined;
    }
    if (this.#pending.length === 0) return;
    const bytes = this.#pending.length === 1
      ? this.#pending[0]!
      : joinChunks(this.#pending, this.#pendingBytes);
    this.#worker.postMessage({ type: "append", bytes, lastSeq: this.#pendingLastSeq }, [
      bytes.buffer as ArrayBuffer,
    ]);
    this.#handedOverBytes += this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #request(request: WriterRequest & { id: number }): Promise<WriterEvent> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id });
    });
  }

  #onEvent(event: WriterEvent): void {
    switch (event.type) {
      case "durable":
        this.#noteDurable(event.durableSeq, event.size);
        return;
      case "write_error":
        this.#lastError = event.message;
        return;
      case "done":
      case "failed": {
        const waiter = this.#waiting.get(event.id);
        this.#waiting.delete(event.id);
        if (event.type === "done") waiter?.resolve(event);
        else waiter?.reject(new Error(event.message));
        return;
      }
    }
  }

  #noteDurable(durableSeq: number, size: number): void {
    if (durableSeq > this.#durableSeq) this.#durableSeq = durableSeq;
    this.#durableBytes = Math.max(this.#durableBytes, size - this.#baseSize);
    this.#lastError = undefined;
  }
}

function joinChunks(chunks: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
