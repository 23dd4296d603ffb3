/**
 * Which records make up a conversation: one session (from the current log or the archives), a
 * checkpoint's records, the hits of a search, or every recorded log; then narrowed by seq, time,
 * topic, agent and replay marking. The one selection `context`, `export`, `replay` and the
 * session-start hooks share. Reads through src/store/ only.
 *
 * @module
 */
import { ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { CheckpointStore } from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { readFirstRecord, readRecordAt, scanLog } from "../store/log_reader.ts";
import type { MessageIndex, SearchRequest } from "../store/message_index.ts";
import { checkRecordLine, type LogRecord } from "../store/record.ts";
import { listArchivedLogs } from "../store/session_archive.ts";
import { fileSize } from "../store/file_info.ts";

/** A selected record and its stored line (bytes as in the log, newline included). */
export interface SelectedRecord {
  readonly record: LogRecord;
  readonly line: Uint8Array;
}

/**
 * Where a conversation comes from: the current session, one session, a checkpoint, the hits of a
 * search, or every recorded log (archived and current; narrow it with seq or time filters).
 */
export type ConversationSource =
  | { readonly kind: "current" }
  | { readonly kind: "logs" }
  | { readonly kind: "session"; readonly session: string }
  | { readonly kind: "checkpoint"; readonly checkpoint: string }
  | {
    readonly kind: "search";
    /** The index to search, opened by the caller (and closed by it). */
    readonly index: MessageIndex;
    readonly request: SearchRequest;
  }
  | {
    /** Records already read (from the shared store), oldest first; blob frames in `blobDir`. */
    readonly kind: "records";
    readonly records: readonly SelectedRecord[];
    readonly blobDir: string;
  };

/** How a selection is narrowed; all optional. */
export interface ConversationFilters {
  /** Only records received at or after this time (epoch ms). */
  readonly sinceMs?: number;
  /** Only records received at or before this time (epoch ms). */
  readonly untilMs?: number;
  /** Only records with a seq at or above this one. */
  readonly fromSeq?: number;
  /** Only records with a seq at or below this one. */
  readonly toSeq?: number;
  /** Only messages whose topic starts with one of these (daemon events are kept). */
  readonly topics?: readonly string[];
  /** Only messages NAME sent, those addressed to NAME, and those addressed to nobody. */
  readonly agent?: string;
  /** Keep messages recorded as replays (`meta.replay_of`); left out by default. */
  readonly includeReplays?: boolean;
}

/** What {@link selectConversation} found. */
export interface Conversation {
  /** The session shown (null for a selection spanning several, or an empty data dir). */
  readonly session: string | null;
  /** The checkpoint read, for `--checkpoint`. */
  readonly checkpoint: string | null;
  /** Selected records, oldest first (seq order). */
  readonly records: readonly SelectedRecord[];
  /** Replayed messages left out (see {@link ConversationFilters.includeReplays}). */
  readonly replaysLeftOut: number;
  /** Log lines that failed their checksum and were skipped. */
  readonly damagedLines: number;
  /** Folder of the blob files the records' frames refer to (a checkpoint keeps its own). */
  readonly blobDir: string;
  /** True when only the end of the log was read (`tailBytes`): older messages may exist. */
  readonly partial?: boolean;
}

/** Options of {@link selectConversation}. */
export interface SelectOptions extends ConversationFilters {
  /**
   * Read at most this many bytes from the end of the current log (`kind: "current"`): bounds
   * the time a hook spends on a huge log. Default: the whole log.
   */
  readonly tailBytes?: number;
  /** Called while logs are read, with bytes done and total. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** What the caller does with the selection, for error messages. Default: `"read"`. */
  readonly action?: "read" | "replay";
}

/** The state of one selection while its logs are read. */
interface Reading extends SelectOptions {
  damagedLines: number;
}

/** Recipients that mean "everyone": a message to them is addressed to nobody in particular. */
const BROADCAST_RECIPIENTS = new Set(["", "all", "*", "everyone", "broadcast"]);

/**
 * Selects a conversation's records from the data dir.
 *
 * @example
 * ```ts
 * const conversation = await selectConversation(layout, { kind: "current" }, { agent: "claude" });
 * ```
 */
export async function selectConversation(
  layout: DataDirLayout,
  source: ConversationSource,
  options: SelectOptions = {},
): Promise<Conversation> {
  let session: string | null = null;
  let checkpoint: string | null = null;
  let records: SelectedRecord[];
  let partial = false;
  let blobDir = layout.blobsDir;
  const reading: Reading = { ...options, damagedLines: 0 };
  if (source.kind === "current") {
    const read = await readCurrentSession(layout, reading);
    session = read.session;
    records = read.records;
    partial = read.partial;
  } else if (source.kind === "session") {
    session = source.session;
    records = await readSession(layout, source.session, reading);
  } else if (source.kind === "checkpoint") {
    const read = await readCheckpoint(layout, source.checkpoint, options.action ?? "read");
    checkpoint = read.id;
    session = read.session;
    records = read.records;
    blobDir = read.blobDir;
  } else if (source.kind === "search") {
    records = await readSearchHits(layout, source.index, source.request);
    session = onlySession(records);
  } else if (source.kind === "records") {
    records = [...source.records];
    session = onlySession(records);
    blobDir = source.blobDir;
  } else {
    records = await readAllLogs(layout, reading);
  }
  let replaysLeftOut = 0;
  const kept = records.filter((selected) => {
    if (!passesFilters(selected.record, options)) return false;
    if (!options.includeReplays && isReplay(selected.record)) {
      replaysLeftOut++;
      return false;
    }
    return true;
  });
  return {
    // Every log holds many sessions: the one shown is the one the range falls in, if only one.
    session: source.kind === "logs" ? onlySession(kept) : session,
    checkpoint,
    records: kept,
    replaysLeftOut,
    damagedLines: reading.damagedLines,
    blobDir,
    partial,
  };
}

/** The session all `records` belong to, or null when they span several (or are none). */
function onlySession(records: readonly SelectedRecord[]): string | null {
  const sessions = new Set(records.map((selected) => selected.record.session));
  return sessions.size === 1 ? [...sessions][0]! : null;
}

/** True for a message the recorder marked as a replay of an earlier one (`meta.replay_of`). */
export function isReplay(record: LogRecord): boolean {
  const meta = record.meta as Record<string, unknown> | undefined;
  return typeof meta === "object" && meta !== null && meta.replay_of !== undefined &&
    meta.replay_of !== null;
}

/** The sender and recipient enrichment found for a record (`meta`), if any. */
export function senderAndRecipient(
  record: LogRecord,
): { sender: string | null; recipient: string | null } {
  const meta = (record.meta ?? {}) as Record<string, unknown>;
  return {
    sender: typeof meta.sender === "string" ? meta.sender : null,
    recipient: typeof meta.recipient === "string" ? meta.recipient : null,
  };
}

function passesFilters(record: LogRecord, filters: ConversationFilters): boolean {
  const time = Date.parse(record.received_at);
  if (filters.sinceMs !== undefined && !(time >= filters.sinceMs)) return false;
  if (filters.untilMs !== undefined && !(time <= filters.untilMs)) return false;
  if (filters.fromSeq !== undefined && record.seq < filters.fromSeq) return false;
  if (filters.toSeq !== undefined && record.seq > filters.toSeq) return false;
  if (record.type !== "message" && record.type !== "oversized") return true; // daemon events
  if (filters.topics && filters.topics.length > 0) {
    const topic = typeof record.topic === "string" ? record.topic : null;
    if (topic === null || !filters.topics.some((prefix) => topic.startsWith(prefix))) return false;
  }
  if (filters.agent !== undefined) {
    const { sender, recipient } = senderAndRecipient(record);
    const toNobody = recipient === null || BROADCAST_RECIPIENTS.has(recipient.toLowerCase());
    if (sender !== filters.agent && recipient !== filters.agent && !toNobody) return false;
  }
  return true;
}

async function readCurrentSession(
  layout: DataDirLayout,
  options: Reading,
): Promise<{ session: string | null; records: SelectedRecord[]; partial: boolean }> {
  let fromOffset = 0;
  const size = (await fileSize(layout.currentLog)) ?? 0;
  if (options.tailBytes !== undefined && size > options.tailBytes) {
    fromOffset = await lineStartAfter(layout.currentLog, size - options.tailBytes);
  }
  const all = await readLogRecords(layout.currentLog, options, { fromOffset, totalBytes: size });
  if (all.length === 0) {
    // No current log (between sessions, or never recorded): the newest archived session.
    const archives = await listArchivedLogs(layout);
    const newest = archives.at(-1);
    if (newest === undefined) return { session: null, records: [], partial: false };
    const records = await readLogRecords(newest, options);
    const session = records.at(-1)?.record.session ?? null;
    return {
      session,
      records: records.filter((r) => r.record.session === session),
      partial: false,
    };
  }
  const session = all.at(-1)!.record.session;
  return {
    session,
    records: all.filter((selected) => selected.record.session === session),
    // The part not read may hold older messages of the same session.
    partial: fromOffset > 0 && all[0]?.record.session === session,
  };
}

async function readSession(
  layout: DataDirLayout,
  session: string,
  options: Reading,
): Promise<SelectedRecord[]> {
  const paths = [...await listArchivedLogs(layout), layout.currentLog];
  const records: SelectedRecord[] = [];
  let found = false;
  for (const path of paths) {
    const first = await readFirstRecord(path);
    // A log file holds one session from its first record on (a rotation archives it).
    if (first === undefined || first.record.session !== session) continue;
    found = true;
    for (const selected of await readLogRecords(path, options)) {
      if (selected.record.session === session) records.push(selected);
    }
  }
  if (!found) {
    const verb = options.action === "replay" ? "replay" : "find";
    throw new PersistError(
      `Cannot ${verb} session "${session}": see "shearwater-persist sessions"`,
      { code: ErrorCode.sessionNotFound, exitCode: ExitCode.failure },
    );
  }
  return records;
}

/** Every recorded log, archived then current: the records of all sessions, in seq order. */
async function readAllLogs(layout: DataDirLayout, options: Reading): Promise<SelectedRecord[]> {
  const records: SelectedRecord[] = [];
  for (const path of [...await listArchivedLogs(layout), layout.currentLog]) {
    records.push(...await readLogRecords(path, options));
  }
  return records.sort((a, b) => a.record.seq - b.record.seq);
}

async function readCheckpoint(
  layout: DataDirLayout,
  idOrPrefix: string,
  action: "read" | "replay",
): Promise<{ id: string; session: string; records: SelectedRecord[]; blobDir: string }> {
  const store = new CheckpointStore(layout.checkpointsDir, { dataBlobsDir: layout.blobsDir });
  const entry = await store.get(idOrPrefix);
  if (!entry.ok) {
    throw new PersistError(`Cannot ${action} checkpoint ${entry.id}: ${entry.reason}`, {
      code: ErrorCode.checkpointDamaged,
      exitCode: ExitCode.damaged,
    });
  }
  const records: SelectedRecord[] = [];
  for await (const line of store.lines(entry.manifest)) {
    // get() verified the checkpoint whole: a line failing now was changed since.
    const check = checkRecordLine(line);
    if (!check.ok) {
      throw new PersistError(
        `Cannot ${action} checkpoint ${entry.id}: a line failed verification: ${check.reason}`,
        { code: ErrorCode.checkpointDamaged, exitCode: ExitCode.damaged },
      );
    }
    records.push({ record: check.record, line: line.slice() });
  }
  return { id: entry.id, session: entry.manifest.session, records, blobDir: store.blobsDir };
}

async function readSearchHits(
  layout: DataDirLayout,
  index: MessageIndex,
  request: SearchRequest,
): Promise<SelectedRecord[]> {
  const hits = index.search(request);
  const records: SelectedRecord[] = [];
  for (const hit of hits) {
    const read = await readRecordAt(`${layout.root}/${hit.file}`, hit.offset, hit.length);
    records.push({ record: read.record, line: read.line });
  }
  return records.sort((a, b) => a.record.seq - b.record.seq);
}

async function readLogRecords(
  path: string,
  options: Reading,
  place: { fromOffset?: number; totalBytes?: number } = {},
): Promise<SelectedRecord[]> {
  const records: SelectedRecord[] = [];
  const total = place.totalBytes ?? (await fileSize(path)) ?? 0;
  const onBadLine = () => options.damagedLines++;
  for await (const placed of scanLog(path, { fromOffset: place.fromOffset, onBadLine })) {
    records.push({ record: placed.record, line: placed.line.slice() });
    options.onProgress?.(placed.offset + placed.length, total);
  }
  return records;
}

/** The offset of the first line that starts at or after `offset`. */
async function lineStartAfter(path: string, offset: number): Promise<number> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(offset - 1, Deno.SeekMode.Start);
    const buffer = new Uint8Array(64 * 1024);
    let position = offset - 1;
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) return position;
      const newline = buffer.subarray(0, n).indexOf(0x0a);
      if (newline !== -1) return position + newline + 1;
      position += n;
    }
  } finally {
    file.close();
  }
}
