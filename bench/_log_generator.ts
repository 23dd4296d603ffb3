import { messageRecord } from "../src/enrich/mod.ts";
import {
  ensureDataDir,
  fileTimestamp,
  PRIVATE_FILE_MODE,
  writeAll,
} from "../src/store/data_dir.ts";
import { encodeRecordLine, type RecordBody } from "../src/store/record.ts";
import { RECORD_FORMAT_VERSION } from "../src/version.ts";
import { chatPayload, type CorpusMessage, type MessageCorpus } from "./_corpus.ts";

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

const FLUSH_BYTES = 4 * 1024 * 1024;
const PHRASE_SAMPLES = 64;
const encoder = new TextEncoder();

/**
 * Writes a data directory as the daemon would have: `archive/session_<id>.jsonl` files and a
 * `current_session.jsonl`, each opening with `session_start`, archived ones closing with
 * `session_end`, every line checksummed, seq strictly increasing across files.
 *
 * @example
 * ```ts
 * const logs = await generateLogs(dir, { messages: 1000, sessions: 2, spanMs, endMs, corpus });
 * ```
 */
export async function generateLogs(root: string, options: GenerateOptions): Promise<GeneratedLogs> {
  const started = performance.now();
  const layout = await ensureDataDir(root);
  const state = {
    seq: 0,
    written: 0,
    records: 0,
    bytes: 0,
    phrases: [] as string[],
    nextReport: 0.1,
  };
  const startMs = options.endMs - options.spanMs;
  const stepMs = options.spanMs / Math.max(1, options.messages);
  let previous: { session: string; path: string } | undefined;
  for (let index = 0; index < options.sessions; index++) {
    const isLast = index === options.sessions - 1;
    const count = Math.floor(options.messages * (index + 1) / options.sessions) -
      Math.floor(options.messages * index / options.sessions);
    const firstMs = startMs + state.written * stepMs;
    const session = `${fileTimestamp(new Date(firstMs))}_${sessionSuffix(index)}`;
    const path = isLast ? layout.currentLog : `${layout.archiveDir}/session_${session}.jsonl`;
    await writeSession(path, {
      ...options,
      state,
      session,
      previous,
      count,
      startMs,
      stepMs,
      isLast,
    });
    previous = { session, path: path.slice(layout.root.length + 1) };
  }
  return {
    messages: state.written,
    records: state.records,
    files: options.sessions,
    bytes: state.bytes,
    seconds: (performance.now() - started) / 1000,
    firstReceivedMs: startMs,
    lastReceivedMs: startMs + Math.max(0, state.written - 1) * stepMs,
    phrases: state.phrases,
  };
}

interface SessionParts extends GenerateOptions {
  readonly state: {
    seq: number;
    written: number;
    records: number;
    bytes: number;
    phrases: string[];
    nextReport: number;
  };
  readonly session: string;
  readonly previous: { session: string; path: string } | undefined;
  readonly count: number;
  readonly startMs: number;
  readonly stepMs: number;
  readonly isLast: boolean;
}

async function writeSession(path: string, parts: SessionParts): Promise<void> {
  const { state, session } = parts;
  const file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
    mode: PRIVATE_FILE_MODE,
  });
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const push = (body: RecordBody) => {
    const line = encodeRecordLine(body);
    pending.push(line);
    pendingBytes += line.length;
    state.records++;
  };
  const flush = async () => {
    const chunk = new Uint8Array(pendingBytes);
    let offset = 0;
    for (const line of pending) {
      chunk.set(line, offset);
      offset += line.length;
    }
    await writeAll(file, chunk);
    state.bytes += pendingBytes;
    pending.length = 0;
    pendingBytes = 0;
    if (parts.signal?.aborted) throw parts.signal.reason;
  };
  try {
    const at = () => new Date(parts.startMs + state.written * parts.stepMs);
    push(sessionEvent("session_start", ++state.seq, session, at(), {
      reason: parts.previous ? "new-session" : "new data dir or empty log",
      ...(parts.previous
        ? { previous_session: parts.previous.session, archived_to: parts.previous.path }
        : {}),
    }));
    const sampleEvery = Math.max(1, Math.floor(parts.messages / PHRASE_SAMPLES));
    for (let i = 0; i < parts.count; i++) {
      const message = parts.corpus.next();
      if (state.written % sampleEvery === 0) state.phrases.push(phraseOf(message, state.written));
      const frames = [encoder.encode(message.topic), encoder.encode(chatPayload(message))];
      push(messageRecord(frames, { seq: ++state.seq, session, receivedAt: at() }));
      state.written++;
      if (pendingBytes >= FLUSH_BYTES) await flush();
      if (state.written >= state.nextReport * parts.messages) {
        parts.progress?.(`  generated ${Math.round(state.nextReport * 100)}%`);
        state.nextReport += 0.1;
      }
    }
    if (!parts.isLast) {
      push(sessionEvent("session_end", ++state.seq, session, at(), { reason: "new-session" }));
    }
    await flush();
  } finally {
    file.close();
  }
}

function sessionEvent(
  type: "session_start" | "session_end",
  seq: number,
  session: string,
  at: Date,
  fields: Record<string, unknown>,
): RecordBody {
  return {
    v: RECORD_FORMAT_VERSION,
    seq,
    type,
    session,
    received_at: at.toISOString(),
    ...fields,
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
