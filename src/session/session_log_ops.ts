/**
 * Checkpoint operations on a session log, shared by the daemon (which owns the log while it
 * runs) and the CLI (which takes the data-dir lock when no daemon runs).
 *
 * @module
 */
import type { CheckpointManifest, CheckpointStore } from "../store/checkpoint_store.ts";
import { readFirstRecord } from "../store/log_reader.ts";
import type { RecordBody } from "../store/record.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { restoredRecords } from "./restore.ts";

/** The checkpoint a session was restored from (its `session_start` says), if any. */
export async function parentCheckpointOf(logPath: string): Promise<string | null> {
  const first = await readFirstRecord(logPath);
  const parent = first?.record.type === "session_start" ? first.record.parent_checkpoint : null;
  return typeof parent === "string" ? parent : null;
}

/** The records that open a session restored from `manifest`, then its messages. */
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
  const start: RecordBody = {
    v: RECORD_FORMAT_VERSION,
    seq: options.firstSeq,
    type: "session_start",
    session: options.session,
    received_at: new Date().toISOString(),
    reason: `checkpoint load ${manifest.id}`,
    parent_checkpoint: manifest.id,
    previous_session: options.previousSession,
    archived_to: options.archivedTo,
  };
  return [
    start,
    ...restoredRecords(lines, { session: options.session, firstSeq: options.firstSeq + 1 }),
  ];
}
