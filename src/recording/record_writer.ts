import { DEFAULT_BLOB_THRESHOLD_BYTES, oversizedRecord } from "../enrich/mod.ts";
import { type Logger, type LogLevel, writeForwarded } from "../logger.ts";
import { parentDir } from "../store/data_dir.ts";
import { encodeRecordLine } from "../store/record.ts";
import { packBatch, type PackItem } from "./_batch_codec.ts";
import type { WriterEvent, WriterRequest } from "./record_writer_worker.ts";

/** Options for {@link RecordWriter.open}. */
export interface RecordWriterOptions {
  readonly syncMode: "interval" | "always";
  readonly syncMs: number;
  readonly logLevel: LogLevel;
  /** Folder of blob files; default `blobs/` beside the log. */
  readonly blobDir?: string;
  /** Frames over this many bytes go to blob files; default 1 MiB. */
  readonly blobThresholdBytes?: number;
  /** Messages over this many bytes are kept only as an `oversized` record; default 1 GiB. */
  readonly maxMessageBytes?: number;
  /** Longest time appended items wait on this thread before they go to the writer. */
  readonly handoffMs?: number;
  /** Bytes after which appended items go to the writer at once. */
  readonly handoffBytes?: number;
  /** Bytes handed over but not yet durable above which {@link RecordWriter.hasRoom} is false. */
  readonly maxInFlightBytes?: number;
  /** Called when the writer thread fails (a bug): recording cannot go on. */
  readonly onFatal?: (message: string) => void;
  /** Receives the writer thread's log entries. */
  readonly logger?: Logger;
}

const DEFAULT_HANDOFF_MS = 1;
const DEFAULT_HANDOFF_BYTES = 256 * 1024;
const DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;
const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;

/**
 * The receiving thread's side of the session log. Bus messages (raw frames plus their seq) and
 * encoded event lines are handed over in order, in batches at least every `handoffMs`, to a
 * writer thread that enriches, encodes, appends and fsyncs them (group commit, see
 * `MessageLog`). Handing over is a plain message post, so it works even while the receive loop
 * keeps this thread busy.
 *
 * @example
 * ```ts
 * const writer = await RecordWriter.open(path, { syncMode: "interval", syncMs: 5, logLevel: "info" });
 * writer.appendMessage(frames, seq, session, Date.now());
 * await writer.flush();
 * await writer.terminate();
 * ```
 */
export class RecordWriter {
  readonly #worker: Worker;
  readonly #options: RecordWriterOptions;
  readonly #waiting = new Map<number, { resolve(e: WriterEvent): void; reject(e: Error): void }>();
  #nextId = 1;
  #path = "";
  #pending: PackItem[] = [];
  #pendingSession = "";
  #pendingBytes = 0;
  #firstPendingAt = 0;
  #handoffTimer: ReturnType<typeof setTimeout> | undefined;
  #handedOverBytes = 0;
  #handedOverSeq = 0;
  #size = 0;
  #durableSeq = 0;
  #lastError: string | undefined;
  readonly #maxMessageBytes: number;

  private constructor(worker: Worker, options: RecordWriterOptions) {
    this.#worker = worker;
    this.#options = options;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    worker.onmessage = (event: MessageEvent<WriterEvent>) => this.#onEvent(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#lastError = `record writer thread failed: ${event.message}`;
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(this.#lastError));
      this.#waiting.clear();
      options.onFatal?.(this.#lastError);
    };
  }

  /** Starts the writer thread and opens `path` for appending. */
  static async open(path: string, options: RecordWriterOptions): Promise<RecordWriter> {
    const worker = new Worker(new URL("./record_writer_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const writer = new RecordWriter(worker, options);
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

  /** Size of the log file as last reported by the writer (written bytes). */
  get sizeBytes(): number {
    return this.#size;
  }

  /** Bytes (frames or lines) handed over or pending whose records are not yet durable. */
  get pendingBytes(): number {
    return this.#durableSeq >= this.#handedOverSeq
      ? this.#pendingBytes
      : this.#handedOverBytes + this.#pendingBytes;
  }

  /** False while too much is in flight: the caller should `await flush()` first. */
  get hasRoom(): boolean {
    return this.pendingBytes < (this.#options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES);
  }

  /** The last write error the writer reported, cleared by the next fsync. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Queues one encoded line (a daemon event) with its seq; seqs strictly increase. */
  appendLine(line: Uint8Array, seq: number): void {
    this.#queue({ kind: 0, seq, parts: [line] }, line.length);
  }

  /** Queues one bus message, to be enriched and encoded on the writer thread. */
  appendMessage(frames: Uint8Array[], seq: number, session: string, receivedAtMs: number): void {
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    if (bytes > this.#maxMessageBytes) {
      // Rare: hashed here rather than copied to the writer thread. The line carries its session.
      const receivedAt = new Date(receivedAtMs);
      const body = oversizedRecord(frames, { seq, session, receivedAt }, {
        maxMessageBytes: this.#maxMessageBytes,
      });
      this.appendLine(encodeRecordLine(body), seq);
      return;
    }
    if (session !== this.#pendingSession) {
      this.#handOver(); // one session per batch
      this.#pendingSession = session;
    }
    this.#queue({ kind: 1, seq, receivedAtMs, parts: frames }, bytes);
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
      blobDir: this.#options.blobDir ?? `${parentDir(path)}/blobs`,
      blobThresholdBytes: this.#options.blobThresholdBytes ?? DEFAULT_BLOB_THRESHOLD_BYTES,
      maxMessageBytes: this.#maxMessageBytes,
    });
    if (done.type !== "done") return;
    this.#path = path;
    this.#size = done.size;
  }

  /** Closes the file (flushing) and stops the writer thread. */
  async terminate(): Promise<void> {
    if (this.#path !== "") await this.closeFile();
    this.#path = "";
    this.#worker.terminate();
  }

  #queue(item: PackItem, bytes: number): void {
    if (this.#pending.length === 0) this.#firstPendingAt = performance.now();
    this.#pending.push(item);
    this.#pendingBytes += bytes;
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

  #handOver(): void {
    if (this.#handoffTimer !== undefined) {
      clearTimeout(this.#handoffTimer);
      this.#handoffTimer = undefined;
    }
    if (this.#pending.length === 0) return;
    const items = this.#pending;
    const batch = packBatch(items);
    this.#worker.postMessage(
      { type: "append", batch, session: this.#pendingSession } satisfies WriterRequest,
      [batch],
    );
    this.#handedOverBytes = this.#durableSeq >= this.#handedOverSeq
      ? this.#pendingBytes
      : this.#handedOverBytes + this.#pendingBytes;
    this.#handedOverSeq = items.at(-1)!.seq;
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
      case "log":
        if (this.#options.logger) writeForwarded(this.#options.logger, event.entry);
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
    this.#size = size;
    this.#lastError = undefined;
  }
}
