import { messageRecord } from "../src/enrich/mod.ts";
import { PRIVATE_FILE_MODE, writeAll } from "../src/store/data_dir.ts";
import { encodeRecordLine } from "../src/store/record.ts";
import { RECORD_FORMAT_VERSION } from "../src/version.ts";
import { mulberry32, type Prng } from "../tests/prng.ts";

/** Options for {@link SessionLogWriter.create}. */
export interface SessionLogOptions {
  /** Session id, `YYYYMMDD_HHMMSS_xxxx`. */
  readonly session: string;
  /** `received_at` of the session_start record; messages follow 10 ms apart. */
  readonly startMs: number;
  /** Seed of the message text; the same seed writes the same bytes. */
  readonly seed: number;
}

const AGENTS = ["claude", "gemini", "codex", "aider", "operator"] as const;
const WORDS = (
  "the a to of and in checkpoint segment session log record index search daemon broker " +
  "message agent reply plan review patch test build deploy rollback retry timeout latency " +
  "queue batch fsync rename manifest hash verify restore fork archive prune retention disk " +
  "budget token context summary question answer because therefore however meanwhile next"
).split(" ");
/** Characters of words per message: with the JSON around it, a payload of about 300 bytes. */
const CONTENT_CHARS = 240;
const MESSAGE_STEP_MS = 10;
const encoder = new TextEncoder();

/**
 * Writes a session log the way the daemon does — a `session_start` record, then chat messages
 * (`[topic, {from, to, type, content}]`, about 300 B of payload) built with `messageRecord` and
 * `encodeRecordLine` — and fsyncs after each batch, so a checkpoint reads a durable log.
 *
 * @example
 * ```ts
 * const log = await SessionLogWriter.create(path, { session, startMs: Date.now(), seed: 1 });
 * await log.append(1000);
 * log.close();
 * ```
 */
export class SessionLogWriter {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #options: SessionLogOptions;
  readonly #random: Prng;
  #seq = 0;
  #messages = 0;
  #bytes = 0;

  private constructor(path: string, file: Deno.FsFile, options: SessionLogOptions) {
    this.path = path;
    this.#file = file;
    this.#options = options;
    this.#random = mulberry32(options.seed);
  }

  /** Creates (or truncates) the log at `path` and writes its `session_start` record. */
  static async create(path: string, options: SessionLogOptions): Promise<SessionLogWriter> {
    const file = await Deno.open(path, {
      write: true,
      create: true,
      truncate: true,
      mode: PRIVATE_FILE_MODE,
    });
    const writer = new SessionLogWriter(path, file, options);
    const line = encodeRecordLine({
      v: RECORD_FORMAT_VERSION,
      seq: ++writer.#seq,
      type: "session_start",
      session: options.session,
      received_at: new Date(options.startMs).toISOString(),
      reason: "new data dir or empty log",
    });
    await writer.#write([line], line.length);
    return writer;
  }

  /** Messages written so far. */
  get messages(): number {
    return this.#messages;
  }

  /** Bytes of the log so far: every line complete and fsynced. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends `count` messages in one write, then fsyncs. */
  async append(count: number): Promise<void> {
    const lines: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const line = encodeRecordLine(this.#nextMessage());
      lines.push(line);
      total += line.length;
    }
    await this.#write(lines, total);
  }

  /** Closes the file; the log stays. */
  close(): void {
    this.#file.close();
  }

  #nextMessage() {
    const from = this.#random.pick(AGENTS);
    const to = this.#random.pick(AGENTS);
    const payload = JSON.stringify({ from, to, type: "chat", content: this.#content() });
    const seq = ++this.#seq;
    this.#messages++;
    return messageRecord([encoder.encode(`agent.${from}`), encoder.encode(payload)], {
      seq,
      session: this.#options.session,
      receivedAt: new Date(this.#options.startMs + this.#messages * MESSAGE_STEP_MS),
    });
  }

  #content(): string {
    const words: string[] = [`#${this.#messages + 1}`];
    let length = words[0]!.length;
    while (length < CONTENT_CHARS) {
      const word = this.#random.pick(WORDS);
      words.push(word);
      length += word.length + 1;
    }
    return words.join(" ");
  }

  async #write(lines: readonly Uint8Array[], total: number): Promise<void> {
    const chunk = new Uint8Array(total);
    let at = 0;
    for (const line of lines) {
      chunk.set(line, at);
      at += line.length;
    }
    await writeAll(this.#file, chunk);
    await this.#file.syncData();
    this.#bytes += total;
  }
}

/**
 * Writes a whole session of `messages` messages to `path` and returns its size in bytes.
 *
 * @example
 * ```ts
 * const bytes = await writeSessionLog(path, 1000, { session, startMs: Date.now(), seed: 1 });
 * ```
 */
export async function writeSessionLog(
  path: string,
  messages: number,
  options: SessionLogOptions,
): Promise<number> {
  const writer = await SessionLogWriter.create(path, options);
  try {
    // Batches keep memory flat for large sessions.
    for (let left = messages; left > 0; left -= 10_000) await writer.append(Math.min(left, 10_000));
    return writer.bytes;
  } finally {
    writer.close();
  }
}
