/**
 * Which recorded messages a replay sends: one function that reads them, in seq order, from the
 * session logs (archived and current) or from a checkpoint.
 *
 * @module
 */
import { ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { CheckpointStore } from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { scanLog } from "../store/log_reader.ts";
import { checkRecordLine, type LogRecord, type StoredFrame } from "../store/record.ts";
import { listArchivedLogs } from "../store/session_archive.ts";

/** What to replay: a session, a checkpoint, a seq range (inclusive) or a time range. */
export type ReplaySelection =
  | { readonly session: string }
  | { readonly checkpoint: string }
  | { readonly fromSeq: number; readonly toSeq: number }
  | { readonly sinceMs: number; readonly untilMs?: number };

/** One recorded message to send again. */
export interface SelectedMessage {
  readonly seq: number;
  readonly receivedAtMs: number;
  readonly topic: string | null;
  readonly frames: readonly StoredFrame[];
}

/** The messages a selection found, and where their blob frames are read from. */
export interface ReplaySource {
  readonly messages: SelectedMessage[];
  /** Folder of the blob files the frames refer to (for `decodeStoredFrames`). */
  readonly blobDir: string;
  /** Records left out because they are replays themselves (`meta.replay_of`). */
  readonly replaysLeftOut: number;
  /** Lines that failed their checksum and were skipped. */
  readonly damagedLines: number;
}

/**
 * Reads the messages of `selection` in seq order. Replays recorded earlier are left out (they
 * repeat messages already selected or recorded elsewhere). An unknown session or checkpoint is
 * a {@link PersistError} with exit code 1; damaged lines are skipped and counted.
 *
 * @example
 * ```ts
 * const source = await selectReplayMessages(layout, { session: "20261130-000102" });
 * ```
 */
export async function selectReplayMessages(
  layout: DataDirLayout,
  selection: ReplaySelection,
): Promise<ReplaySource> {
  const found: LogRecord[] = [];
  let damagedLines = 0;
  let blobDir = layout.blobsDir;
  if ("checkpoint" in selection) {
    const store = new CheckpointStore(layout.checkpointsDir);
    const entry = await store.get(selection.checkpoint);
    if (!entry.ok) {
      throw new PersistError(`Cannot replay checkpoint ${entry.id}: ${entry.reason}`, {
        code: ErrorCode.checkpointDamaged,
        exitCode: ExitCode.damaged,
      });
    }
    blobDir = store.blobsDir;
    for await (const line of store.lines(entry.manifest)) {
      const checked = checkRecordLine(line);
      if (checked.ok) found.push(checked.record);
      else damagedLines++;
    }
  } else {
    const logs = [...await listArchivedLogs(layout), layout.currentLog];
    for (const path of logs) {
      for await (const { record } of scanLog(path, { onBadLine: () => damagedLines++ })) {
        if (matches(record, selection)) found.push(record);
      }
    }
    if ("session" in selection && found.length === 0) {
      throw new PersistError(
        `Cannot replay session ${selection.session}: no such session is recorded ` +
          `(list them with "shearwater-persist sessions")`,
        { code: ErrorCode.sessionNotFound, exitCode: ExitCode.failure },
      );
    }
  }
  let replaysLeftOut = 0;
  const messages: SelectedMessage[] = [];
  for (const record of found.sort((a, b) => a.seq - b.seq)) {
    if (record.type !== "message" || !Array.isArray(record.frames)) continue;
    if (typeof (record.meta as { replay_of?: unknown } | undefined)?.replay_of === "number") {
      replaysLeftOut++;
      continue;
    }
    messages.push({
      seq: record.seq,
      receivedAtMs: Date.parse(record.received_at),
      topic: typeof record.topic === "string" ? record.topic : null,
      frames: record.frames as StoredFrame[],
    });
  }
  return { messages, blobDir, replaysLeftOut, damagedLines };
}

function matches(record: LogRecord, selection: ReplaySelection): boolean {
  if ("session" in selection) return record.session === selection.session;
  if ("fromSeq" in selection) {
    return record.seq >= selection.fromSeq && record.seq <= selection.toSeq;
  }
  if ("sinceMs" in selection) {
    const at = Date.parse(record.received_at);
    return at >= selection.sinceMs && (selection.untilMs === undefined || at <= selection.untilMs);
  }
  return false;
}
