/**
 * Session and checkpoint operations for when no daemon runs: the caller's process takes the
 * data-dir lock (so a daemon cannot start meanwhile) and writes the log itself.
 *
 * @module
 */
import { silentLogger } from "../logger.ts";
import { PersistError } from "../errors.ts";
import { type DataDirLayout, ensureDataDir } from "../store/data_dir.ts";
import { DataDirLock } from "../store/data_dir_lock.ts";
import {
  type CheckpointManifest,
  CheckpointStore,
  type CheckpointTrigger,
  type CreateOptions,
} from "../store/checkpoint_store.ts";
import { MessageLog } from "../store/message_log.ts";
import { encodeRecordLine, type RecordBody } from "../store/record.ts";
import { RecoveryJournal } from "../store/recovery_journal.ts";
import { archiveCurrentLog, highestStoredSeq, newSessionId } from "../store/session_archive.ts";
import { readLastGoodRecord, repairLogTail } from "../store/tail_repair.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { parentCheckpointOf, restoredSessionRecords } from "./session_log_ops.ts";

/** Runs `work` holding the data-dir lock; throws DataDirBusyError when a daemon holds it. */
export async function withDataDirLock<T>(
  layout: DataDirLayout,
  role: string,
  work: () => Promise<T>,
): Promise<T> {
  await ensureDataDir(layout.root);
  const lock = await DataDirLock.acquire(layout.lockFile, role);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/** The next free seq: above everything stored or journaled. Call under the lock. */
export async function nextFreeSeq(layout: DataDirLayout): Promise<number> {
  const previous = await RecoveryJournal.readPreviousRun(layout.recoveryJournal);
  return Math.max(previous.maxDurableSeq, await highestStoredSeq(layout)) + 1;
}

/**
 * Ends the current session (a `session_end` record) and moves its log to `archive/`. Call
 * under the lock. Returns the archive path and the next free seq.
 */
export async function archiveSessionOffline(
  layout: DataDirLayout,
  reason: string,
): Promise<{ archived: string | undefined; session: string | null; nextSeq: number }> {
  // A daemon killed mid-write may have left a torn tail: set it aside before appending.
  await repairLogTail(layout.currentLog, layout.recoveryDir);
  const last = await readLastGoodRecord(layout.currentLog);
  let nextSeq = await nextFreeSeq(layout);
  if (!last) {
    return { archived: await archiveCurrentLog(layout, "unknown"), session: null, nextSeq };
  }
  await appendRecords(layout.currentLog, [{
    v: RECORD_FORMAT_VERSION,
    seq: nextSeq,
    type: "session_end",
    session: last.session,
    received_at: new Date().toISOString(),
    reason,
  }]);
  const archived = await archiveCurrentLog(layout, last.session);
  await journal(layout, {
    event: "session_archived",
    at: new Date().toISOString(),
    pid: Deno.pid,
    previous_session: last.session,
    archived_to: archived,
    durable_seq: nextSeq,
  });
  nextSeq++;
  return { archived, session: last.session, nextSeq };
}

/** Checkpoints the current session log as it is on disk. Call under the lock. */
export async function createCheckpointOffline(
  layout: DataDirLayout,
  trigger: CheckpointTrigger,
  label: string | null,
  options: Pick<CreateOptions, "onSegmentRepaired"> = {},
): Promise<CheckpointManifest> {
  let size: number;
  try {
    size = (await Deno.stat(layout.currentLog)).size;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new PersistError(
      `Cannot create a checkpoint: "${layout.currentLog}" does not exist (nothing recorded yet)`,
      { code: "checkpoint_empty" },
    );
  }
  return await new CheckpointStore(layout.checkpointsDir).create({
    logPath: layout.currentLog,
    endOffset: size,
    trigger,
    label,
    parentCheckpoint: await parentCheckpointOf(layout.currentLog),
    onSegmentRepaired: options.onSegmentRepaired,
  });
}

/**
 * Loads a checkpoint with no daemon running: `before-load` checkpoint of the current session,
 * archive it, and write a new current session restored from the checkpoint. Call under the
 * lock.
 */
export async function loadCheckpointOffline(
  layout: DataDirLayout,
  manifest: CheckpointManifest,
): Promise<{ archived: string | undefined; session: string; before_load: string | null }> {
  const store = new CheckpointStore(layout.checkpointsDir);
  const problems = await store.verify(manifest); // before anything changes
  if (problems.length) {
    throw new PersistError(`Cannot load checkpoint ${manifest.id}: ${problems.join("; ")}`, {
      code: "checkpoint_damaged",
    });
  }
  let beforeLoad: string | null = null;
  if (await readLastGoodRecord(layout.currentLog)) {
    beforeLoad =
      (await createCheckpointOffline(layout, "before-load", `before loading ${manifest.id}`)).id;
  }
  const { archived, session: previous, nextSeq } = await archiveSessionOffline(
    layout,
    `checkpoint load ${manifest.id}`,
  );
  const session = newSessionId(new Date());
  const records = await restoredSessionRecords(store, manifest, {
    session,
    firstSeq: nextSeq,
    previousSession: previous,
    archivedTo: archived ?? null,
  });
  await appendRecords(layout.currentLog, records);
  return { archived, session, before_load: beforeLoad };
}

async function appendRecords(path: string, records: readonly RecordBody[]): Promise<void> {
  const log = await MessageLog.open(path, {
    syncMode: "interval",
    syncMs: 0,
    logger: silentLogger,
  });
  for (const body of records) log.append(encodeRecordLine(body), body.seq);
  await log.close();
}

async function journal(
  layout: DataDirLayout,
  entry: Parameters<RecoveryJournal["append"]>[0],
): Promise<void> {
  const file = await RecoveryJournal.open(layout.recoveryJournal);
  try {
    await file.append(entry);
  } finally {
    file.close();
  }
}
