/**
 * Session logs for the tests (session, store, indexer, CLI), built the way the daemon writes them: a
 * `session_start` record, then `message` records made by `messageRecord` and encoded by
 * `encodeRecordLine`.
 */
import { messageRecord } from "../src/enrich/mod.ts";
import { type DataDirLayout, ensureDataDir } from "../src/store/data_dir.ts";
import {
  checkRecordLine,
  encodeRecordLine,
  type LogRecord,
  type RecordBody,
} from "../src/store/record.ts";
import { RECORD_FORMAT_VERSION } from "../src/version.ts";
import { concatBytes } from "../src/store/bytes.ts";
import { listArchivedLogs } from "../src/store/session_archive.ts";
import { assert } from "./_assert.ts";

const encoder = new TextEncoder();
const START_MS = Date.parse("2026-11-25T13:31:07.000Z");

/** Agents that take turns in the fixture conversations. */
export const AGENTS = ["claude", "gemini", "codex"] as const;

/** A `session_start` record opening `session` at `seq`. */
export function sessionStartRecord(seq: number, session: string): RecordBody {
  return {
    v: RECORD_FORMAT_VERSION,
    seq,
    type: "session_start",
    session,
    received_at: new Date(START_MS + seq).toISOString(),
    reason: "daemon start",
  };
}

/** A chat message on `agent.<sender>` in the `topic {json}` two-frame form. */
export function chatRecord(seq: number, session: string, text: string): RecordBody {
  const sender = AGENTS[seq % AGENTS.length]!;
  const payload = JSON.stringify({ from: sender, to: "all", type: "chat", content: text });
  return messageRecord([encoder.encode(`agent.${sender}`), encoder.encode(payload)], {
    seq,
    session,
    receivedAt: new Date(START_MS + seq),
  });
}

/** Frame sets that need every storage form: binary, BOM, empty, multi-frame, Unicode. */
export function unusualFrameSets(): Uint8Array[][] {
  return [
    [encoder.encode("bin.blob"), new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x22])],
    [new Uint8Array([0xc3, 0x28]), encoder.encode("payload after a binary topic")],
    [encoder.encode("\ufefftext.bom"), encoder.encode("\ufeffhello with a BOM")],
    [encoder.encode('agent.claude {"from":"claude","content":"single frame ✓ \\u2028"}')],
    [encoder.encode("empty.parts"), new Uint8Array(0), new Uint8Array(0)],
    [
      encoder.encode("agent.gemini"),
      encoder.encode('{"from":"gemini","content":"日本語 🐦 \\"q\\""}'),
    ],
  ];
}

/** Message records for {@link unusualFrameSets}, from `firstSeq` on. */
export function unusualMessageRecords(firstSeq: number, session: string): RecordBody[] {
  return unusualFrameSets().map((frames, i) =>
    messageRecord(frames, {
      seq: firstSeq + i,
      session,
      receivedAt: new Date(START_MS + firstSeq + i),
    })
  );
}

/** A daemon event record (not a message) at `seq`. */
export function eventRecord(seq: number, session: string, type: "gap" | "shutdown"): RecordBody {
  return {
    v: RECORD_FORMAT_VERSION,
    seq,
    type,
    session,
    received_at: new Date(START_MS + seq).toISOString(),
    reason: "test",
  };
}

/** Encodes records as log lines. */
export function encodeLines(records: readonly RecordBody[]): Uint8Array[] {
  return records.map(encodeRecordLine);
}

/** Joins lines into the bytes of a log file. */
export { concatBytes };

/** The session of the logs {@link writeNoteLog} writes. */
export const NOTE_SESSION = "20261125_100000_aaaa";

/**
 * Writes `<root>/data/current_session.jsonl` (mode 0600): a `session_start` (seq 1), then `count`
 * messages on topic `agents` (seq 2 … count + 1, one second apart) whose JSON payload is
 * `payload(i)`. Returns the data dir.
 *
 * @example
 * ```ts
 * const dataDir = await writeNoteLog(root, 3, (i) => ({ from: "claude", content: `note ${i}` }));
 * ```
 */
export async function writeNoteLog(
  root: string,
  count: number,
  payload: (i: number) => Record<string, unknown>,
): Promise<string> {
  const dataDir = `${root}/data`;
  await Deno.mkdir(dataDir, { recursive: true });
  const lines = [encodeRecordLine({
    v: 1,
    seq: 1,
    type: "session_start",
    session: NOTE_SESSION,
    received_at: "2026-11-25T10:00:00.000Z",
  })];
  for (let i = 0; i < count; i++) {
    const frames = [encoder.encode("agents"), encoder.encode(JSON.stringify(payload(i)))];
    lines.push(encodeRecordLine(messageRecord(frames, {
      seq: i + 2,
      session: NOTE_SESSION,
      receivedAt: new Date(Date.parse("2026-11-25T10:00:01Z") + i * 1000),
    })));
  }
  await Deno.writeFile(`${dataDir}/current_session.jsonl`, concatBytes(lines), { mode: 0o600 });
  return dataDir;
}

/** A session: `session_start` at `firstSeq`, then `messages` chat messages. */
export function sessionRecords(
  session: string,
  options: { firstSeq: number; messages: number },
): RecordBody[] {
  const records = [sessionStartRecord(options.firstSeq, session)];
  for (let i = 1; i <= options.messages; i++) {
    const seq = options.firstSeq + i;
    records.push(chatRecord(seq, session, `message ${seq} of ${session}`));
  }
  return records;
}

/** Runs `fn` with a fresh data directory in a temp dir, removed afterwards. */
export async function withDataDir(fn: (layout: DataDirLayout) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "shearwater_checkpoints_" });
  try {
    await fn(await ensureDataDir(`${root}/data`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Every record of a log, each line verified: a bad or incomplete line fails the test. */
export async function readRecords(path: string): Promise<LogRecord[]> {
  const bytes = await Deno.readFile(path);
  const records: LogRecord[] = [];
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
    const check = checkRecordLine(bytes.subarray(start, i + 1));
    if (!check.ok) throw new Error(`Bad line at byte ${start} of ${path}: ${check.reason}`);
    records.push(check.record);
    start = i + 1;
  }
  if (start !== bytes.length) throw new Error(`${path} ends with an incomplete line`);
  return records;
}

/** Writes `records` as a log file (replacing it) and returns its bytes. */
export async function writeLog(path: string, records: readonly RecordBody[]): Promise<Uint8Array> {
  const bytes = concatBytes(encodeLines(records));
  await Deno.writeFile(path, bytes);
  return bytes;
}

/**
 * The records of every log of a data dir (archived sessions, then the current log), each line
 * verified; a current log that does not exist (between sessions) is left out.
 */
export async function readAllLogs(layout: DataDirLayout): Promise<LogRecord[][]> {
  const logs: LogRecord[][] = [];
  for (const path of [...await listArchivedLogs(layout), layout.currentLog]) {
    try {
      logs.push(await readRecords(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return logs;
}

/** Fails unless every seq appears once across `logs` and rises within each log. */
export function assertSeqOrder(logs: readonly LogRecord[][]): void {
  const seen = new Set<number>();
  for (const records of logs) {
    records.forEach((record, i) => {
      assert(!seen.has(record.seq), `seq ${record.seq} appears twice`);
      seen.add(record.seq);
      if (i > 0) assert(record.seq > records[i - 1]!.seq, `seq ${record.seq} goes backwards`);
    });
  }
}

/** Appends `records` to a log file. */
export async function appendLog(path: string, records: readonly RecordBody[]): Promise<void> {
  await Deno.writeFile(path, concatBytes(encodeLines(records)), { append: true });
}
