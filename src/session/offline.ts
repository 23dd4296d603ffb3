/**
 * The session operations for when no daemon runs: the caller's process takes the data-dir lock
 * (so a daemon cannot start meanwhile) and writes the log itself, through the same
 * {@link rotateSession}, {@link createCheckpoint} and {@link loadAsNewSession} as the daemon.
 *
 * @module
 */
import { silentLogger } from "../logger.ts";
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
import { type JournalEntry, RecoveryJournal } from "../store/recovery_journal.ts";
import { highestStoredSeq } from "../store/session_archive.ts";
import { readLastGoodRecord, repairLogTail } from "../store/tail_repair.ts";
import {
  createCheckpoint,
  loadAsNewSession,
  type LoadOutcome,
  rotateSession,
  type Rotation,
  type SessionAppender,
  type SessionDeps,
  type SessionHost,
  type SessionOpening,
} from "./session_core.ts";
import { fileSize } from "../store/file_info.ts";

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

/** The next free seq: above everything stored, journaled or reserved. Call under the lock. */
export async function nextFreeSeq(layout: DataDirLayout): Promise<number> {
  const previous = await RecoveryJournal.readPreviousRun(layout.recoveryJournal);
  return Math.max(previous.maxDurableSeq, previous.maxReservedSeq, await highestStoredSeq(layout)) +
    1;
}

/**
 * The current session log under the data-dir lock, as a {@link SessionHost}. Open it only
 * while holding the lock ({@link withDataDirLock}); {@link close} when done.
 *
 * @example
 * ```ts
 * await withDataDirLock(layout, "new-session", () =>
 *   OfflineSession.run(layout, {}, (session) => session.rotate("new-session command", { kind: "none" })));
 * ```
 */
export class OfflineSession implements SessionHost {
  readonly #deps: SessionDeps;
  readonly #log: OfflineLogAppender;

  private constructor(deps: SessionDeps, log: OfflineLogAppender) {
    this.#deps = deps;
    this.#log = log;
  }

  /** Opens the session of `layout`, runs `work` on it, and closes it. Call under the lock. */
  static async run<T>(
    layout: DataDirLayout,
    options: Pick<CreateOptions, "onSegmentRepaired">,
    work: (session: OfflineSession) => Promise<T>,
  ): Promise<T> {
    const log = new OfflineLogAppender(layout.currentLog);
    const journal = new LazyJournal(layout.recoveryJournal);
    const session = new OfflineSession({
      layout,
      log,
      journal,
      checkpoints: new CheckpointStore(layout.checkpointsDir),
      onSegmentRepaired: options.onSegmentRepaired,
    }, log);
    try {
      return await work(session);
    } finally {
      await log.closeFile();
      journal.close();
    }
  }

  /** True when the current log holds a good record. */
  async hasSession(): Promise<boolean> {
    return (await readLastGoodRecord(this.#deps.layout.currentLog)) !== undefined;
  }

  /** Checkpoints the current session log as it is on disk. */
  createCheckpoint(trigger: CheckpointTrigger, label: string | null): Promise<CheckpointManifest> {
    return createCheckpoint(this.#deps, trigger, label);
  }

  /**
   * Ends the current session and opens the next. A daemon killed mid-write may have left a
   * torn tail: it is set aside first, so that `session_end` follows the last good record.
   */
  async rotate(reason: string, opening: SessionOpening): Promise<Rotation> {
    const { layout } = this.#deps;
    await repairLogTail(layout.currentLog, layout.recoveryDir);
    const last = await readLastGoodRecord(layout.currentLog);
    const lastSeq = (await nextFreeSeq(layout)) - 1;
    if (last) await this.#log.openFile(layout.currentLog); // for its session_end
    return await rotateSession(
      this.#deps,
      { session: last?.session ?? null, lastSeq },
      reason,
      opening,
    );
  }

  /** Loads `manifest` as a new session (see {@link loadAsNewSession}). */
  load(manifest: CheckpointManifest): Promise<LoadOutcome> {
    return loadAsNewSession(this, this.#deps.checkpoints, manifest);
  }
}

/** A {@link SessionAppender} over a {@link MessageLog} opened on the first append. */
class OfflineLogAppender implements SessionAppender {
  #path: string;
  #log: MessageLog | undefined;
  #durableSeq = 0;

  constructor(path: string) {
    this.#path = path;
  }

  get durableSeq(): number {
    return this.#log?.durableSeq ?? this.#durableSeq;
  }

  append(body: RecordBody): void {
    if (!this.#log) throw new Error(`OfflineLogAppender: append before openFile (seq ${body.seq})`);
    this.#log.append(encodeRecordLine(body), body.seq);
  }

  async flush(): Promise<void> {
    await this.#log?.flush();
  }

  async flushedSize(): Promise<number | null> {
    await this.flush();
    return await fileSize(this.#path);
  }

  async closeFile(): Promise<void> {
    const log = this.#log;
    this.#log = undefined;
    if (!log) return;
    await log.close();
    this.#durableSeq = log.durableSeq;
  }

  async openFile(path: string): Promise<void> {
    await this.closeFile();
    this.#path = path;
    this.#log = await MessageLog.open(path, {
      syncMode: "interval",
      syncMs: 0,
      logger: silentLogger,
    });
  }
}

/** The recovery journal, opened on the first entry and closed by {@link close}. */
class LazyJournal {
  readonly #path: string;
  #file: RecoveryJournal | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  async append(entry: JournalEntry): Promise<void> {
    this.#file ??= await RecoveryJournal.open(this.#path);
    await this.#file.append(entry);
  }

  close(): void {
    this.#file?.close();
  }
}
