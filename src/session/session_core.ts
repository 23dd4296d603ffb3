/**
 * The one implementation of the session operations: end a session (`session_end`, archive,
 * journal), start one (`session_start` with its lineage), take a checkpoint, and load a
 * checkpoint as a new session. Written against a small appender interface; the daemon adapts
 * its writer thread to it (`src/daemon.ts`), and {@link OfflineSession} the log under the
 * data-dir lock, so both write the same records and journal entries.
 *
 * @module
 */
import { ErrorCode, PersistError } from "../errors.ts";
import type {
  CheckpointManifest,
  CheckpointStore,
  CheckpointTrigger,
  CreateOptions,
} from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import type { RecordBody } from "../store/record.ts";
import type { JournalEntry } from "../store/recovery_journal.ts";
import { readFirstRecord } from "../store/log_reader.ts";
import { archiveCurrentLog, newSessionId } from "../store/session_archive.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { restoredRecords } from "./restore.ts";

/** Where session records go: the daemon's writer thread, or the log under the lock. */
export interface SessionAppender {
  /** Queues one record (its seq above every one before); {@link flush} makes it durable. */
  append(body: RecordBody): void;
  /** Writes and fsyncs everything appended. */
  flush(): Promise<void>;
  /** Flushes, then the size of the current log in bytes, or null when there is none. */
  flushedSize(): Promise<number | null>;
  /** The highest seq known to be on disk. */
  readonly durableSeq: number;
  /** Flushes and closes the current log (before it is archived). */
  closeFile(): Promise<void>;
  /** Appends go to `path` from now on. */
  openFile(path: string): Promise<void>;
}

/** Where session lifecycle entries go: the recovery journal. */
export interface SessionJournal {
  append(entry: JournalEntry): Promise<void>;
}

/** What the session operations work on. */
export interface SessionDeps {
  readonly layout: DataDirLayout;
  readonly log: SessionAppender;
  readonly journal: SessionJournal;
  readonly checkpoints: CheckpointStore;
  readonly onSegmentRepaired?: CreateOptions["onSegmentRepaired"];
  /**
   * Creates the checkpoint in place of `checkpoints.create` (the daemon's: on a worker thread,
   * so its receiving thread is never held); the same result.
   */
  readonly createCheckpointWith?: (options: CreateOptions) => Promise<CheckpointManifest>;
}

/** The session records go to and the last seq used. */
export interface SessionPosition {
  /** The current session, or null when the log holds none (no log, or no good record). */
  readonly session: string | null;
  readonly lastSeq: number;
}

/** How a rotation opens the next session. */
export type SessionOpening =
  /** A new, empty session. */
  | { readonly kind: "new" }
  /** A session restored from a checkpoint: its messages, with the checkpoint as parent. */
  | { readonly kind: "restore"; readonly manifest: CheckpointManifest }
  /** No session yet: the next daemon start begins one (offline `new-session`). */
  | { readonly kind: "none" };

/** What a rotation did. */
export interface Rotation {
  readonly archived: string | undefined;
  readonly previousSession: string | null;
  /** The session now current, or null with opening `none`. */
  readonly session: string | null;
  readonly lastSeq: number;
}

/** Lineage a `session_start` may name. */
export interface SessionLineage {
  readonly parent_checkpoint?: string;
  readonly previous_session?: string | null;
  readonly archived_to?: string | null;
}

/**
 * The `session_start` record, the only place one is built.
 *
 * @example
 * ```ts
 * log.append(sessionStartRecord(1, newSessionId(new Date()), "new data dir or empty log"));
 * ```
 */
export function sessionStartRecord(
  seq: number,
  session: string,
  reason: string,
  lineage: SessionLineage = {},
): RecordBody {
  return {
    v: RECORD_FORMAT_VERSION,
    seq,
    type: "session_start",
    session,
    received_at: new Date().toISOString(),
    reason,
    ...lineage,
  };
}

/** The checkpoint a session was restored from (its `session_start` says), if any. */
export async function parentCheckpointOf(logPath: string): Promise<string | null> {
  const first = await readFirstRecord(logPath);
  const parent = first?.record.type === "session_start" ? first.record.parent_checkpoint : null;
  return typeof parent === "string" ? parent : null;
}

/**
 * The records that open a session restored from `manifest` (its blobs restored first), then
 * its messages.
 */
export async function restoredSessionRecords(
  store: CheckpointStore,
  manifest: CheckpointManifest,
  options: {
    session: string;
    firstSeq: number;
    previousSession: string | null;
    archivedTo: string | null;
  },
): Promise<RecordBody[]> {
  // The blobs first: a restored record never names a blob the data dir does not hold.
  await store.restoreBlobs(manifest);
  const lines: Uint8Array[] = [];
  for await (const line of store.lines(manifest)) lines.push(line.slice());
  const start = sessionStartRecord(
    options.firstSeq,
    options.session,
    `checkpoint load ${manifest.id}`,
    {
      parent_checkpoint: manifest.id,
      previous_session: options.previousSession,
      archived_to: options.archivedTo,
    },
  );
  return [
    start,
    ...restoredRecords(lines, { session: options.session, firstSeq: options.firstSeq + 1 }),
  ];
}

/**
 * Ends the session at `from` (a `session_end` record, when there is one), moves the log to
 * `archive/`, opens the next session as `opening` says, and journals `session_archived` with
 * the new session and the durable seq after its first records. The caller keeps anything else
 * from appending meanwhile.
 */
export async function rotateSession(
  deps: SessionDeps,
  from: SessionPosition,
  reason: string,
  opening: SessionOpening,
): Promise<Rotation> {
  let seq = from.lastSeq;
  if (from.session !== null) {
    deps.log.append({
      v: RECORD_FORMAT_VERSION,
      seq: ++seq,
      type: "session_end",
      session: from.session,
      received_at: new Date().toISOString(),
      reason,
    });
  }
  await deps.log.closeFile();
  const archived = await archiveCurrentLog(deps.layout, from.session ?? "unknown");
  const session = opening.kind === "none" ? null : newSessionId(new Date());
  if (session !== null) {
    const lineage = { previousSession: from.session, archivedTo: archived ?? null };
    const records = opening.kind === "restore"
      ? await restoredSessionRecords(deps.checkpoints, opening.manifest, {
        session,
        firstSeq: seq + 1,
        ...lineage,
      })
      : [sessionStartRecord(seq + 1, session, reason, {
        previous_session: lineage.previousSession,
        archived_to: lineage.archivedTo,
      })];
    await deps.log.openFile(deps.layout.currentLog);
    for (const body of records) deps.log.append(body);
    seq = records.at(-1)?.seq ?? seq;
  }
  await deps.log.flush();
  if (from.session !== null || session !== null) {
    await deps.journal.append({
      event: "session_archived",
      at: new Date().toISOString(),
      pid: Deno.pid,
      ...(session !== null ? { session } : {}),
      previous_session: from.session,
      archived_to: archived,
      durable_seq: deps.log.durableSeq,
    });
  }
  return { archived, previousSession: from.session, session, lastSeq: seq };
}

/**
 * Checkpoints the current log up to everything appended so far (flushed first), or up to
 * `endOffset` (a log whose writer has stopped). Throws a {@link PersistError}
 * `checkpoint_empty` when there is no current log.
 */
export async function createCheckpoint(
  deps: SessionDeps,
  trigger: CheckpointTrigger,
  label: string | null,
  options: { endOffset?: number } = {},
): Promise<CheckpointManifest> {
  const endOffset = options.endOffset ?? await deps.log.flushedSize();
  if (endOffset === null) {
    throw new PersistError(
      `Cannot create a checkpoint: "${deps.layout.currentLog}" does not exist (nothing recorded yet)`,
      { code: ErrorCode.checkpointEmpty },
    );
  }
  const create = deps.createCheckpointWith ??
    ((options: CreateOptions) => deps.checkpoints.create(options));
  return await create({
    logPath: deps.layout.currentLog,
    endOffset,
    trigger,
    label,
    parentCheckpoint: await parentCheckpointOf(deps.layout.currentLog),
    onSegmentRepaired: deps.onSegmentRepaired,
  });
}

/**
 * The checkpoint `id` (an id, a unique prefix or `latest`) to load; one whose manifest is
 * unreadable throws a {@link PersistError} `checkpoint_damaged`. {@link loadAsNewSession}
 * verifies its segments.
 */
export async function checkpointToLoad(
  store: CheckpointStore,
  id: string,
): Promise<CheckpointManifest> {
  const entry = await store.get(id);
  if (!entry.ok) {
    throw new PersistError(`Cannot load checkpoint ${entry.id}: ${entry.reason}`, {
      code: ErrorCode.checkpointDamaged,
    });
  }
  return entry.manifest;
}

/** Throws a {@link PersistError} `checkpoint_damaged` unless `manifest` verifies in full. */
export async function assertLoadable(
  store: CheckpointStore,
  manifest: CheckpointManifest,
): Promise<void> {
  const problems = await store.verify(manifest);
  if (problems.length) {
    throw new PersistError(`Cannot load checkpoint ${manifest.id}: ${problems.join("; ")}`, {
      code: ErrorCode.checkpointDamaged,
    });
  }
}

/** The session operations a host (the daemon, or an offline session) offers to {@link loadAsNewSession}. */
export interface SessionHost {
  /** True when the current log holds a session worth saving before it is replaced. */
  hasSession(): Promise<boolean>;
  createCheckpoint(trigger: CheckpointTrigger, label: string | null): Promise<CheckpointManifest>;
  rotate(reason: string, opening: SessionOpening): Promise<Pick<Rotation, "archived" | "session">>;
}

/** What loading a checkpoint did. */
export interface LoadOutcome {
  readonly archived: string | undefined;
  readonly session: string;
  /** The `before-load` checkpoint of the replaced session, or null when there was none. */
  readonly before_load: string | null;
}

/**
 * Loads `manifest` as a new session: verifies it (before anything changes), saves the current
 * session as a `before-load` checkpoint, archives it, and restores the checkpoint's messages
 * (blobs first) into a new session whose parent is the checkpoint.
 */
export async function loadAsNewSession(
  host: SessionHost,
  store: CheckpointStore,
  manifest: CheckpointManifest,
): Promise<LoadOutcome> {
  await assertLoadable(store, manifest);
  const beforeLoad = await host.hasSession()
    ? (await host.createCheckpoint("before-load", `before loading ${manifest.id}`)).id
    : null;
  const rotation = await host.rotate(`checkpoint load ${manifest.id}`, {
    kind: "restore",
    manifest,
  });
  return { archived: rotation.archived, session: rotation.session!, before_load: beforeLoad };
}
