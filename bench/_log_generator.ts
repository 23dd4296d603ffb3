import { messageRecord } from "../src/enrich/mod.ts";
import { silentLogger } from "../src/logger.ts";
import { ensureDataDir, fileTimestamp } from "../src/store/data_dir.ts";
import { MessageLog } from "../src/store/message_log.ts";
import { encodeRecordLine, type RecordBody } from "../src/store/record.ts";
import { RECORD_FORMAT_VERSION } from "../src/version.ts";
import { chatPayload, type CorpusMessage, type MessageCorpus } from "./_corpus.ts";

/** Options for {@link SessionLogWriter.create}. */
export interface SessionLogOptions {
  /** Session id, `YYYYMMDD_HHMMSS_xxxx`. */
  readonly session: string;
  /** `received_at` of the session_start record; message n (from 0) is stamped n × stepMs later. */
  readonly startMs: number;
  readonly stepMs: number;
  /** Makes the messages: the same seed writes the same bytes. */
  readonly corpus: MessageCorpus;
  /** seq of the record before session_start; default 0. */
  readonly seq?: number;
  /** Fields of the session_start record besides the envelope; default a new data dir's. */
  readonly startFields?: Record<string, unknown>;
  /** Sees each message as it is written, with its index in the session. */
  readonly onMessage?: (message: CorpusMessage, index: number) => void;
}

/** Bytes appended before a write + fsync, to keep memory flat for large sessions. */
const FLUSH_BYTES = 4 * 1024 * 1024;
const encoder = new TextEncoder();

/**
 * Writes a session log the way the daemon does, through the daemon's own {@link MessageLog}: a
 * `session_start` record, chat messages (`[topic, {from, to, type, content}]`, about 300 B of
 * payload) built with `messageRecord`, every line checksummed, fsynced after each append.
 *
 * @example
 * ```ts
 * const log = await SessionLogWriter.create(path, { session, startMs, stepMs: 10, corpus });
 * await log.append(1000);
 * await log.close();
 * ```
 */
export class SessionLogWriter {
  readonly #log: MessageLog;
  readonly #options: SessionLogOptions;
  #seq: number;
  #messages = 0;

  private constructor(log: MessageLog, options: SessionLogOptions) {
    this.#log = log;
    this.#options = options;
    this.#seq = options.seq ?? 0;
  }

  /** Creates the log at `path` (which must not exist yet) and writes its `session_start`. */
  static async create(path: string, options: SessionLogOptions): Promise<SessionLogWriter> {
    const log = await MessageLog.open(path, {
      syncMode: "always",
      syncMs: 0,
      logger: silentLogger,
    });
    const writer = new SessionLogWriter(log, options);
    writer.#event("session_start", options.startFields ?? { reason: "new data dir or empty log" });
    await log.flush();
    return writer;
  }

  get path(): string {
    return this.#log.path;
  }

  /** Messages written so far. */
  get messages(): number {
    return this.#messages;
  }

  /** The last record's seq. */
  get seq(): number {
    return this.#seq;
  }

  /** Bytes of the log so far: every line complete and fsynced once `append` returned. */
  get bytes(): number {
    return this.#log.sizeBytes;
  }

  /** Appends `count` messages and fsyncs them. */
  async append(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const message = this.#options.corpus.next();
      this.#options.onMessage?.(message, this.#messages);
      const frames = [encoder.encode(message.topic), encoder.encode(chatPayload(message))];
      const record = messageRecord(frames, {
        seq: ++this.#seq,
        session: this.#options.session,
        receivedAt: this.#at(this.#messages++),
      });
      this.#log.append(encodeRecordLine(record), record.seq);
      if (this.#log.pendingBytes >= FLUSH_BYTES) await this.#log.flush();
    }
    await this.#log.flush();
  }

  /** Writes `session_end` (when `endReason` is given), fsyncs and closes the file. */
  async close(endReason?: string): Promise<void> {
    if (endReason) this.#event("session_end", { reason: endReason });
    await this.#log.close();
  }

  #event(type: "session_start" | "session_end", fields: Record<string, unknown>): void {
    const body: RecordBody = {
      v: RECORD_FORMAT_VERSION,
      seq: ++this.#seq,
      type,
      session: this.#options.session,
      received_at: this.#at(this.#messages).toISOString(),
      ...fields,
    };
    this.#log.append(encodeRecordLine(body), body.seq);
  }

  #at(message: number): Date {
    return new Date(this.#options.startMs + message * this.#options.stepMs);
  }
}

/** Options for {@link generateLogs}. */
export interface GenerateOptions {
  /** Message records to write, over all sessions. */
  readonly messages: number;
  /** Sessions: all but the last are archived, the last is `current_session.jsonl`. */
  readonly sessions: number;
  /** `received_at` runs evenly from `endMs - spanMs` to `endMs`. */
  readonly spanMs: number;
  readonly endMs: number;
  readonly corpus: MessageCorpus;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

/** What {@link generateLogs} wrote. */
export interface GeneratedLogs {
  readonly messages: number;
  /** Message records plus session_start / session_end records. */
  readonly records: number;
  readonly files: number;
  /** Bytes of all log files. */
  readonly bytes: number;
  readonly seconds: number;
  readonly firstReceivedMs: number;
  readonly lastReceivedMs: number;
  /** Adjacent word pairs taken from written messages: phrase queries that match. */
  readonly phrases: readonly string[];
}

const PHRASE_SAMPLES = 64;
/** Messages appended between progress lines and abort checks. */
const CHUNK_MESSAGES = 10_000;

/**
 * Writes a data directory as the daemon would have: `archive/session_<id>.jsonl` files and a
 * `current_session.jsonl`, each opening with `session_start`, archived ones closing with
 * `session_end`, seq strictly increasing across files.
 *
 * @example
 * ```ts
 * const logs = await generateLogs(dir, { messages: 1000, sessions: 2, spanMs, endMs, corpus });
 * ```
 */
export async function generateLogs(root: string, options: GenerateOptions): Promise<GeneratedLogs> {
  const started = performance.now();
  const layout = await ensureDataDir(root);
  const startMs = options.endMs - options.spanMs;
  const stepMs = options.spanMs / Math.max(1, options.messages);
  const sampleEvery = Math.max(1, Math.floor(options.messages / PHRASE_SAMPLES));
  const phrases: string[] = [];
  let written = 0;
  let seq = 0;
  let bytes = 0;
  let reported = 0;
  let previous: { session: string; path: string } | undefined;
  for (let index = 0; index < options.sessions; index++) {
    const isLast = index === options.sessions - 1;
    const count = Math.floor(options.messages * (index + 1) / options.sessions) - written;
    const firstMs = startMs + written * stepMs;
    const session = `${fileTimestamp(new Date(firstMs))}_${sessionSuffix(index)}`;
    const path = isLast ? layout.currentLog : `${layout.archiveDir}/session_${session}.jsonl`;
    const before = written;
    const writer = await SessionLogWriter.create(path, {
      session,
      startMs: firstMs,
      stepMs,
      corpus: options.corpus,
      seq,
      startFields: previous
        ? { reason: "new-session", previous_session: previous.session, archived_to: previous.path }
        : undefined,
      onMessage: (message, i) => {
        if ((before + i) % sampleEvery === 0) phrases.push(phraseOf(message, before + i));
      },
    });
    try {
      for (let left = count; left > 0; left -= CHUNK_MESSAGES) {
        await writer.append(Math.min(left, CHUNK_MESSAGES));
        options.signal?.throwIfAborted();
        const tenths = Math.floor(10 * (before + writer.messages) / options.messages);
        if (tenths > reported) options.progress?.(`  generated ${(reported = tenths) * 10}%`);
      }
    } finally {
      await writer.close(isLast ? undefined : "new-session");
    }
    written += writer.messages;
    seq = writer.seq;
    bytes += writer.bytes;
    previous = { session, path: path.slice(layout.root.length + 1) };
  }
  return {
    messages: written,
    records: seq,
    files: options.sessions,
    bytes,
    seconds: (performance.now() - started) / 1000,
    firstReceivedMs: startMs,
    lastReceivedMs: startMs + Math.max(0, written - 1) * stepMs,
    phrases,
  };
}

/**
 * Two adjacent words of the message. Chosen without the corpus's generator, so that the
 * baseline can replay the same message stream from the seed.
 */
function phraseOf(message: CorpusMessage, salt: number): string {
  const words = message.content.split(/[ .]+/).filter((word) => word !== "");
  const at = (salt * 7919) % Math.max(1, words.length - 1);
  return words.slice(at, at + 2).join(" ");
}

function sessionSuffix(index: number): string {
  return ((index * 0x9e37 + 0x51ab) & 0xffff).toString(16).padStart(4, "0");
}
