import { DEFAULT_BLOB_THRESHOLD_BYTES, oversizedRecord } from "../enrich/mod.ts";
import { type Logger, type LogLevel, writeForwarded } from "../logger.ts";
import { parentDir } from "../store/data_dir.ts";
import { encodeRecordLine } from "../store/record.ts";
import { packBatch, type PackItem } from "./_batch_codec.ts";
import type { WriterEvent, WriterRequest } from "./record_writer_worker.ts";
import type { ReplayMark } from "./replay_marks.ts";

/** Messages that were received but could not be written when the writer closed. */
export interface WriterCloseReport {
  /** Received messages that are not in the log. */
  readonly unwrittenMessages: number;
  /** All records (messages and daemon events) that are not in the log. */
  readonly unwrittenRecords: number;
}

/** Device and inode of the file the writer has open. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number | null;
}

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
  /** Debug fault injection (SHEARWATER_DEBUG_FAULT): the writer throws on this topic. */
  readonly faultTopic?: string;
  /** Receives the writer thread's log entries. */
  readonly logger?: Logger;
}

/** Durable advances {@link RecordWriter.durableAdvances} keeps (the newest). */
export const MAX_DURABLE_ADVANCES = 65_536;
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
  /** A hand-over is queued as a microtask (see #queue). */
  #handOverQueued = false;
  #handedOverBytes = 0;
  #handedOverSeq = 0;
  #size = 0;
  #durableSeq = 0;
  #lastError: string | undefined;
  readonly #maxMessageBytes: number;
  #failed: string | undefined;
  #identity: FileIdentity | undefined;
  /** Handed-over batches not yet durable: their last seq and how many messages they hold. */
  #inFlight: { lastSeq: number; messages: number }[] = [];
  #pendingMessages = 0;
  /** Messages appended after the writer thread failed: never written. */
  #lostMessages = 0;
  /** Durable advances as flat pairs: seq, wall-clock ms of the fsync; the newest kept. */
  #advances: number[] = [];

  private constructor(worker: Worker, options: RecordWriterOptions) {
    this.#worker = worker;
    this.#options = options;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    worker.onmessage = (event: MessageEvent<WriterEvent>) => this.#onEvent(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#failed = `record writer thread failed: ${event.message}`;
      this.#lastError = this.#failed;
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(this.#failed));
      this.#waiting.clear();
      options.onFatal?.(this.#failed);
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

  /**
   * Each fsync that made records durable, oldest first, after `sinceSeq`: the new durable seq
   * and the wall-clock time (`performance.timeOrigin + performance.now()` on the writer thread,
   * sub-millisecond) the fsync returned. So a record's publish → durable latency is exact to
   * the fsync, whenever this thread gets to read it. The newest {@link MAX_DURABLE_ADVANCES}.
   */
  durableAdvances(sinceSeq = 0): [seq: number, atMs: number][] {
    const advances: [number, number][] = [];
    for (let i = 0; i < this.#advances.length; i += 2) {
      if (this.#advances[i]! > sinceSeq) {
        advances.push([this.#advances[i]!, this.#advances[i + 1]!]);
      }
    }
    return advances;
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

  /** Why the writer thread died, or undefined while it runs. */
  get failure(): string | undefined {
    return this.#failed;
  }

  /** Device and inode of the open log file, as the writer saw it when it opened it. */
  get fileIdentity(): FileIdentity | undefined {
    return this.#identity;
  }

  /** The last write error the writer reported, cleared by the next fsync. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Queues one encoded line (a daemon event) with its seq; seqs strictly increase. */
  appendLine(line: Uint8Array, seq: number): void {
    this.#queue({ kind: 0, seq, parts: [line] }, line.length);
  }

  /**
   * Queues one bus message, to be enriched and encoded on the writer thread; `refilled` marks a
   * message a publisher resent to fill a gap (`meta.refilled: true`).
   */
  appendMessage(
    frames: Uint8Array[],
    seq: number,
    session: string,
    receivedAtMs: number,
    refilled = false,
  ): void {
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
    this.#pendingMessages++;
    this.#queue({ kind: refilled ? 2 : 1, seq, receivedAtMs, parts: frames }, bytes);
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
      faultTopic: this.#options.faultTopic,
    });
    if (done.type !== "done") return;
    this.#path = path;
    this.#size = done.size;
    this.#identity = done.dev === undefined ? undefined : { dev: done.dev, ino: done.ino ?? null };
  }

  /**
   * Announces messages a replayer is about to send (see `ReplayMarks`): the writer thread
   * records a received message with a matching digest with `meta.replay_of`. Everything appended
   * before this call is handed over first, so only later messages can match. Rejects when too
   * many marks are waiting.
   */
  async expectReplays(marks: readonly ReplayMark[], ttlMs: number): Promise<void> {
    this.#handOver();
    await this.#request({ type: "expect_replays", id: 0, marks, ttlMs });
  }

  /**
   * Makes the writer stop retrying failed writes (disk full) `afterMs` from now: what fits is
   * written, the rest is counted by {@link terminate}. For a shutdown that must end.
   */
  giveUpWritesAfter(afterMs: number): void {
    if (this.#failed) return;
    this.#worker.postMessage({ type: "give_up", afterMs } satisfies WriterRequest);
  }

  /**
   * Closes the file (flushing) and stops the writer thread. Returns what could not be written:
   * after {@link giveUpWritesAfter} on a full disk, or everything not durable when the writer
   * thread had failed.
   */
  async terminate(): Promise<WriterCloseReport> {
    let report: WriterCloseReport = { unwrittenMessages: 0, unwrittenRecords: 0 };
    if (this.#path !== "" && !this.#failed) {
      this.#handOver();
      try {
        const done = await this.#request({ type: "close", id: 0 });
        if (done.type === "done") {
          this.#noteDurable(done.durableSeq, done.size);
          report = {
            unwrittenMessages: done.unwritten?.messages ?? 0,
            unwrittenRecords: done.unwritten?.records ?? 0,
          };
        }
      } catch (error) {
        if (!this.#failed) throw error; // the thread died while closing: count below
      }
    }
    if (this.#failed) report = this.#notDurable();
    this.#path = "";
    this.#worker.terminate();
    return report;
  }

  /** What is not durable, as far as this thread knows (after the writer thread died). */
  #notDurable(): WriterCloseReport {
    const inFlight = this.#inFlight.filter((batch) => batch.lastSeq > this.#durableSeq);
    return {
      unwrittenMessages: inFlight.reduce((sum, batch) => sum + batch.messages, 0) +
        this.#pendingMessages + this.#lostMessages,
      unwrittenRecords: Math.max(0, this.#handedOverSeq - this.#durableSeq) +
        this.#pending.length,
    };
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
    } else if (!this.#handOverQueued) {
      // Handed over as soon as the receive loop finishes its batch (a microtask: a Deno timer,
      // even of 0 ms, fires 1-2 ms late); under a burst the handoffMs check above also hands
      // over every millisecond.
      this.#handOverQueued = true;
      queueMicrotask(() => {
        this.#handOverQueued = false;
        this.#handOver();
      });
    }
  }

  #handOver(): void {
    if (this.#pending.length === 0) return;
    const items = this.#pending;
    if (this.#failed) {
      this.#lostMessages += this.#pendingMessages;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#pendingMessages = 0;
      return;
    }
    const batch = packBatch(items);
    this.#worker.postMessage(
      { type: "append", batch, session: this.#pendingSession } satisfies WriterRequest,
      [batch],
    );
    this.#handedOverBytes = this.#durableSeq >= this.#handedOverSeq
      ? this.#pendingBytes
      : this.#handedOverBytes + this.#pendingBytes;
    this.#handedOverSeq = items.at(-1)!.seq;
    this.#inFlight.push({ lastSeq: this.#handedOverSeq, messages: this.#pendingMessages });
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingMessages = 0;
  }

  #request(request: WriterRequest & { id: number }): Promise<WriterEvent> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#failed) {
        reject(new Error(this.#failed));
        return;
      }
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id });
    });
  }

  #onEvent(event: WriterEvent): void {
    switch (event.type) {
      case "durable":
        if (event.durableSeq > this.#durableSeq) {
          this.#advances.push(event.durableSeq, event.atMs);
          if (this.#advances.length >= 4 * MAX_DURABLE_ADVANCES) {
            this.#advances = this.#advances.slice(-2 * MAX_DURABLE_ADVANCES);
          }
        }
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
    while (this.#inFlight.length > 0 && this.#inFlight[0]!.lastSeq <= this.#durableSeq) {
      this.#inFlight.shift();
    }
    this.#size = size;
    this.#lastError = undefined;
  }
}
