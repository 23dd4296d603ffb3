/**
 * The recorder daemon: wires transport (ZeroMQ subscriber) -> enrich (frames to record) ->
 * store (log, journal), and owns the lifecycle: lock, crash recovery, control socket, signals.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { controlHandler } from "./control/dispatch.ts";
import type { DaemonStatus, StopReport } from "./control/protocol.ts";
import { ControlServer } from "./control/server.ts";
import { IndexWorkerHandle } from "./indexer/index_worker_handle.ts";
import { keepOrigin, type OriginKeeper } from "./pgstore/origin.ts";
import { ShipWorkerHandle } from "./pgstore/ship_worker_handle.ts";
import type { Logger } from "./logger.ts";
import { type DataDirLayout, ensureDataDir } from "./store/data_dir.ts";
import { DataDirLock } from "./store/data_dir_lock.ts";
import { RecordWriter } from "./recording/record_writer.ts";
import { PublisherAccounting } from "./recording/publisher_accounting.ts";
import type { PublisherGap } from "./recording/publisher_refill.ts";
import { CheckpointPolicy, COUNT_CHECKPOINT_SPACING_MS } from "./session/checkpoint_policy.ts";
import {
  checkpointToLoad,
  createCheckpoint,
  loadAsNewSession,
  type LoadOutcome,
  rotateSession,
  type Rotation,
  type SessionDeps,
  type SessionOpening,
  sessionStartRecord,
} from "./session/session_core.ts";
import { writerAppender } from "./session/writer_appender.ts";
import {
  type CheckpointManifest,
  CheckpointStore,
  type CheckpointTrigger,
} from "./store/checkpoint_store.ts";
import { CheckpointCreator } from "./store/checkpoint_creator.ts";
import { ExitCode } from "./errors.ts";
import { encodeRecordLine, type RecordBody, type RecordType } from "./store/record.ts";
import { type PreviousRun, RecoveryJournal } from "./store/recovery_journal.ts";
import { highestStoredSeq, listArchivedLogs, newSessionId } from "./store/session_archive.ts";
import { repairLogTail, type TailRepair } from "./store/tail_repair.ts";
import { ResendLinks } from "./transport/resend_client.ts";
import { type LinkEvent, type MessageSource, openSubscriber } from "./transport/subscriber.ts";
import { globToRegExp } from "./transport/topic_glob.ts";
import { RECORD_FORMAT_VERSION, VERSION } from "./version.ts";

type EventFields = Record<string, unknown>;

/** How long shutdown waits for the indexer to finish its batch (it is safe to cut short). */
const INDEXER_STOP_TIMEOUT_MS = 1000;
/** How long shutdown waits for the shipper (cut short: it resumes from the store at start). */
const SHIPPER_STOP_TIMEOUT_MS = 1000;
/** Longest stretch of continuous receiving before timers and control requests get a turn. */
const YIELD_EVERY_MS = 50;
const TOPIC_DECODER = new TextDecoder();
/** How often the automatic checkpoint policy is checked. */
const CHECKPOINT_POLICY_CHECK_MS = 1000;
/**
 * How long a stop lets the writer retry failed writes (a full disk) before it writes what fits
 * and counts the rest as unwritten.
 */
const STOP_WRITE_DEADLINE_MS = 3000;
/**
 * Longest a stop may take, whatever hangs: then `done` resolves with {@link ExitCode.daemonFailed}
 * and the process exits. Below the 10 s the `stop` command waits.
 */
const STOP_DEADLINE_MS = 6000;
/** Archived logs (the most recent) scanned with the current one to rebuild publisher figures. */
const PUBLISHER_HISTORY_ARCHIVES = 2;

/**
 * A running recorder. Start with {@link Daemon.start}; it records until {@link Daemon.stop}.
 *
 * @example
 * ```ts
 * const daemon = await Daemon.start(resolveConfig({ dataDir: "/tmp/logs" }), logger);
 * await daemon.stop("test over");
 * ```
 */
export class Daemon {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #layout: DataDirLayout;
  readonly #lock: DataDirLock;
  readonly #journal: RecoveryJournal;
  readonly #excludePatterns: RegExp[];
  readonly #startedAt = new Date();
  #log: RecordWriter;
  #session: string;
  #seq: number;
  #received = 0;
  #excluded = 0;
  #duplicates = 0;
  readonly #resendLinks = new ResendLinks();
  readonly #accounting: PublisherAccounting;
  /** Resent messages waiting for a session rotation to end before they are appended. */
  #refillQueue: Uint8Array[][] = [];
  #drainingRefills = false;
  #lastMessageAtMs: number | null = null;
  #brokerConnected = false;
  #brokerLastChangeAt: Date | null = null;
  #subscriber: MessageSource | undefined;
  #indexer: IndexWorkerHandle | undefined;
  #shipper: ShipWorkerHandle | undefined;
  /** The data dir's origin id in the shared store (`<data-dir>/origin`), made in the background. */
  readonly #origin: OriginKeeper;
  #control: ControlServer | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #receiving: Promise<void> = Promise.resolve();
  #rotating: Promise<void> | undefined;
  /** Counts session rotations, so a file check that overlapped one is not trusted. */
  #rotations = 0;
  #checkingFiles = false;
  #checkpointing: Promise<unknown> | undefined;
  readonly #checkpoints: CheckpointStore;
  /** The daemon's checkpoints are created on a worker thread, never on the receiving one. */
  readonly #checkpointCreator: CheckpointCreator;
  readonly #sessionDeps: SessionDeps;
  readonly #checkpointPolicy: CheckpointPolicy;
  #checkpointTimer: ReturnType<typeof setInterval> | undefined;
  #autoCheckpointRunning = false;
  #stopping: Promise<number> | undefined;
  #stopReason = "";
  /** Why the daemon is failing (a fatal error), or undefined. */
  #failure: string | undefined;
  #resolveDone!: (exitCode: number) => void;
  #resolveStopReport!: (report: StopReport) => void;
  /** How the stop went, known once the log is closed (answered to `stop` with `wait`). */
  readonly #stopReport = new Promise<StopReport>((resolve) => this.#resolveStopReport = resolve);
  /**
   * Resolves with the process exit code once the daemon has stopped (by {@link stop}, a control
   * `stop`, or a failure): 0 after a clean stop, {@link ExitCode.daemonFailed} after a fatal
   * error, with received messages left unwritten, or when the stop deadline passed.
   */
  readonly done: Promise<number>;

  private constructor(parts: {
    config: Config;
    logger: Logger;
    layout: DataDirLayout;
    lock: DataDirLock;
    journal: RecoveryJournal;
    log: RecordWriter;
    session: string;
    seq: number;
  }) {
    this.#config = parts.config;
    this.#logger = parts.logger;
    this.#layout = parts.layout;
    this.#lock = parts.lock;
    this.#journal = parts.journal;
    this.#log = parts.log;
    this.#session = parts.session;
    this.#seq = parts.seq;
    this.#origin = keepOrigin(parts.layout.root, {
      onProblem: (event, fields) => this.#logger.warn(event, fields),
    });
    this.#excludePatterns = parts.config.exclude.map(globToRegExp);
    this.#accounting = new PublisherAccounting({
      ask: (endpoint, request, onMessage) => this.#resendLinks.ask(endpoint, request, onMessage),
      appendRefilled: (frames) => this.#queueRefilled(frames),
      writeGap: (gap) => this.#writeGap(gap),
      // With a topic filter a publisher's seqs jump over its other topics: no loss to refill.
      trackGaps: parts.config.topics.length === 0,
      onRefillError: (error, pub) =>
        this.#logger.error("refill_failed", { publisher: pub, error: error.message }),
    });
    this.#checkpoints = new CheckpointStore(parts.layout.checkpointsDir);
    this.#checkpointCreator = new CheckpointCreator(this.#checkpoints);
    this.#sessionDeps = {
      layout: parts.layout,
      log: writerAppender(parts.log, { onAppend: (body) => this.#seq = body.seq }),
      journal: parts.journal,
      checkpoints: this.#checkpoints,
      onSegmentRepaired: (repair) => this.#logger.warn("checkpoint_segment_repaired", repair),
      createCheckpointWith: (options) => this.#checkpointCreator.create(options),
    };
    this.#checkpointPolicy = new CheckpointPolicy({
      everyMessages: parts.config.checkpointEvery,
      everyMinutes: parts.config.checkpointMinutes,
      keep: parts.config.checkpointKeep,
      countSpacingMs: COUNT_CHECKPOINT_SPACING_MS,
    });
    this.done = new Promise<number>((resolve) => this.#resolveDone = resolve);
  }

  /**
   * Locks the data dir, recovers from an unclean previous stop (tail repair + gap record),
   * then starts the control socket, the subscriber and the heartbeat.
   */
  static async start(config: Config, logger: Logger): Promise<Daemon> {
    const layout = await ensureDataDir(config.dataDir);
    const lock = await DataDirLock.acquire(layout.lockFile, "daemon");
    let daemonRef: Daemon | undefined;
    try {
      const previous = await RecoveryJournal.readPreviousRun(layout.recoveryJournal);
      const repair = await repairLogTail(layout.currentLog, layout.recoveryDir);
      if (repair.setAsideBytes > 0) {
        logger.warn("log_tail_repaired", {
          set_aside: repair.setAsidePath,
          bytes: repair.setAsideBytes,
          reason: repair.reason,
        });
      }
      const highest = Math.max(
        previous.maxDurableSeq,
        previous.maxReservedSeq,
        await highestStoredSeq(layout),
      );
      const journal = await RecoveryJournal.open(layout.recoveryJournal);
      const log = await RecordWriter.open(layout.currentLog, {
        syncMode: config.syncMode,
        syncMs: config.syncMs,
        logLevel: config.logLevel,
        blobDir: layout.blobsDir,
        blobThresholdBytes: config.blobThresholdBytes,
        maxMessageBytes: config.maxMessageBytes,
        logger,
        onFatal: (message) => {
          logger.error("record_writer_failed", { error: message });
          queueMicrotask(() => daemonRef?.fail(message));
        },
        faultTopic: config.debugFault?.thread === "writer" ? config.debugFault.topic : undefined,
      });
      const session = repair.lastRecord?.session ?? newSessionId(new Date());
      const daemon = new Daemon({
        config,
        logger,
        layout,
        lock,
        journal,
        log,
        session,
        seq: highest,
      });
      daemonRef = daemon;
      const allArchives = await listArchivedLogs(layout);
      const archives = allArchives.slice(-PUBLISHER_HISTORY_ARCHIVES);
      await daemon.#accounting.restore([...archives, layout.currentLog], {
        complete: archives.length === allArchives.length,
      });
      await daemon.#recordStartup(previous, repair);
      await daemon.#startServices();
      const holes = daemon.#accounting.refillRestoredHoles();
      if (holes > 0) logger.info("publisher_holes_refilling", { ranges: holes });
      return daemon;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Current counters and state. */
  status(): DaemonStatus {
    return {
      pid: Deno.pid,
      version: VERSION,
      started_at: this.#startedAt.toISOString(),
      data_dir: this.#layout.root,
      backend: this.#config.backend,
      session: this.#session,
      seq: this.#seq,
      durable_seq: this.#log.durableSeq,
      received: this.#received,
      excluded: this.#excluded,
      duplicates: this.#duplicates,
      publishers: this.#accounting.figures(),
      last_message_at: this.#lastMessageAtMs === null
        ? null
        : new Date(this.#lastMessageAtMs).toISOString(),
      broker_connected: this.#brokerConnected,
      broker_last_change_at: this.#brokerLastChangeAt?.toISOString() ?? null,
      log_path: this.#log.path,
      log_bytes: this.#log.sizeBytes,
      sync_mode: this.#config.syncMode,
      sync_ms: this.#config.syncMs,
      last_write_error: this.#log.lastError ?? null,
      index: this.#indexer
        ? {
          state: this.#indexer.state.state,
          last_seq: this.#indexer.state.lastSeq,
          lag: Math.max(0, this.#log.durableSeq - this.#indexer.state.lastSeq),
          detail: this.#indexer.state.detail,
        }
        : null,
      origin: this.#origin.current(),
      store: this.#shipper?.status(this.#log.durableSeq) ?? null,
    };
  }

  /** Why the daemon is stopping (a control `stop`, a signal, a failure), or undefined. */
  get stoppingReason(): string | undefined {
    return this.#stopping ? this.#stopReason : undefined;
  }

  /** Flushes and fsyncs what was received so far; resolves with the durable seq. */
  async flush(): Promise<number> {
    await this.#log.flush();
    return this.#log.durableSeq;
  }

  /** The log's fsyncs after `sinceSeq`: `[durable seq, wall-clock ms]`, oldest first. */
  durableTimes(sinceSeq: number): [number, number][] {
    return this.#log.durableAdvances(sinceSeq);
  }

  /**
   * Reserves `count` consecutive seqs for records another process writes (an import into
   * `archive/`). The reservation is journaled before it is answered, so a restart never hands
   * those seqs out again; this daemon's next records come after them.
   */
  async reserveSeqs(count: number, reason: string): Promise<{ first: number; last: number }> {
    while (this.#rotating) await this.#rotating;
    const first = this.#seq + 1;
    this.#seq += count;
    const last = this.#seq;
    await this.#journal.append({
      event: "seqs_reserved",
      at: new Date().toISOString(),
      pid: Deno.pid,
      session: this.#session,
      reserved_seq: last,
      first_seq: first,
      reason,
    });
    return { first, last };
  }

  /** Marks the messages a replayer is about to send, so they are recorded with `replay_of`. */
  async expectReplays(
    marks: readonly { readonly digest: string; readonly replay_of: number }[],
    ttlMs: number,
  ): Promise<void> {
    await this.#log.expectReplays(marks, ttlMs);
  }

  /** Asks the indexer to let go of the index (a `reindex` wants it); false without indexer. */
  releaseIndex(): boolean {
    if (!this.#indexer) return false;
    this.#indexer.release();
    return true;
  }

  /**
   * How the stop went, once the log is closed; undefined when the stop deadline passed first.
   * Call after {@link stop}.
   */
  stopOutcome(): Promise<StopReport | undefined> {
    return Promise.race([this.#stopReport, this.done.then(() => undefined)]);
  }

  /**
   * Ends the current session: writes `session_end`, archives the log to `archive/`, and starts
   * a new session in a fresh `current_session.jsonl`. Recording goes on; messages arriving
   * meanwhile wait in memory and land in the new session.
   */
  async newSession(reason: string): Promise<{ archived: string | undefined; session: string }> {
    return await this.#rotate(reason, { kind: "new" });
  }

  /**
   * Takes a checkpoint of the current session up to everything received so far. Recording goes
   * on meanwhile: the snapshot reads the fsynced log, only session rotation waits for it.
   */
  createCheckpoint(trigger: CheckpointTrigger, label: string | null): Promise<CheckpointManifest> {
    const run = async () => {
      while (this.#rotating) await this.#rotating;
      return await this.#snapshot(trigger, label);
    };
    const result = (this.#checkpointing ?? Promise.resolve()).then(run, run);
    this.#checkpointing = result.catch(() => undefined);
    return result;
  }

  /**
   * Restores a checkpoint as a new session: a `before-load` checkpoint of the current session
   * first, then the current session is archived and the checkpoint's messages become a new
   * session whose parent is the checkpoint. Recording goes on into it.
   */
  async loadCheckpoint(id: string): Promise<LoadOutcome> {
    const manifest = await checkpointToLoad(this.#checkpoints, id);
    return await loadAsNewSession(
      {
        hasSession: () => Promise.resolve(true),
        createCheckpoint: (trigger, label) => this.createCheckpoint(trigger, label),
        rotate: (reason, opening) => this.#rotate(reason, opening),
      },
      this.#checkpoints,
      manifest,
    );
  }

  async #snapshot(
    trigger: CheckpointTrigger,
    label: string | null,
    endOffset?: number,
  ): Promise<CheckpointManifest> {
    const manifest = await createCheckpoint(this.#sessionDeps, trigger, label, { endOffset });
    if (manifest.omitted?.length) {
      this.#logger.warn("checkpoint_incomplete", { id: manifest.id, omitted: manifest.omitted });
    }
    this.#checkpointPolicy.noteCheckpoint();
    this.#logger.info("checkpoint_created", {
      id: manifest.id,
      trigger,
      messages: manifest.message_count,
    });
    return manifest;
  }

  async #rotate(
    reason: string,
    opening: SessionOpening,
  ): Promise<{ archived: string | undefined; session: string }> {
    if (this.#stopping) throw new Error("Cannot start a new session: the daemon is stopping");
    while (this.#rotating) await this.#rotating;
    let rotation!: Rotation;
    this.#rotating = (async () => {
      await this.#checkpointing;
      rotation = await rotateSession(
        this.#sessionDeps,
        { session: this.#session, lastSeq: this.#seq },
        reason,
        opening,
      );
      this.#session = rotation.session!; // #seq followed each record appended
    })();
    try {
      await this.#rotating;
    } finally {
      this.#rotating = undefined;
      this.#rotations++;
    }
    const result = { archived: rotation.archived, session: this.#session };
    this.#logger.info("session_rotated", result);
    return result;
  }

  /**
   * Stops receiving, writes a `shutdown` record, flushes and fsyncs, journals the stop and
   * releases the lock. Safe to call more than once. Bounded: failed writes (a full disk) are
   * retried for at most {@link STOP_WRITE_DEADLINE_MS}, then what fits is written and the rest
   * counted; whatever hangs, {@link done} resolves within {@link STOP_DEADLINE_MS}. Resolves with
   * the exit code, as {@link done} does.
   */
  stop(reason: string): Promise<number> {
    if (!this.#stopping) {
      this.#stopReason = reason;
      const deadline = setTimeout(() => {
        this.#logger.error("stop_deadline_passed", { reason, deadline_ms: STOP_DEADLINE_MS });
        this.#resolveDone(ExitCode.daemonFailed);
      }, STOP_DEADLINE_MS);
      this.#stopping = this.#shutdown(reason).catch((error) => {
        this.#logger.error("stop_failed", { error });
        return ExitCode.daemonFailed;
      }).finally(() => clearTimeout(deadline));
      this.#stopping.then((code) => this.#resolveDone(code));
    }
    return this.done;
  }

  /**
   * Ends the daemon after a fatal error in one of its threads (writer, receive loop, an
   * unexpected rejection): records why, flushes what it can within the stop deadline, and
   * {@link done} resolves with {@link ExitCode.daemonFailed}, so that the process exits non-zero
   * and a supervisor restarts it.
   */
  fail(reason: string): Promise<number> {
    if (this.#failure === undefined) {
      this.#failure = reason;
      this.#logger.error("fatal", { reason, action: "stopping with a non-zero exit" });
    }
    return this.stop(`fatal: ${reason}`);
  }

  async #shutdown(reason: string): Promise<number> {
    this.#logger.info("stopping", { reason });
    const writeDeadline = Date.now() + STOP_WRITE_DEADLINE_MS;
    clearInterval(this.#heartbeat);
    clearInterval(this.#checkpointTimer);
    this.#subscriber?.close();
    this.#accounting.close();
    this.#resendLinks.retireAll();
    // Ends flushes stuck retrying on a full disk, so that nothing below waits for ever.
    this.#log.giveUpWritesAfter(STOP_WRITE_DEADLINE_MS);
    const indexerStopped = this.#indexer?.stop(INDEXER_STOP_TIMEOUT_MS);
    this.#origin.stop();
    const shipperStopped = this.#shipper?.stop(SHIPPER_STOP_TIMEOUT_MS);
    await settleBy(this.#receiving, writeDeadline);
    while (this.#rotating && await settleBy(this.#rotating, writeDeadline));
    await settleBy(this.#checkpointing, writeDeadline);
    if (!this.#log.failure) {
      this.#appendNow("shutdown", { reason, received: this.#received, excluded: this.#excluded });
    }
    const report = await this.#log.terminate();
    const unwritten = report.unwrittenMessages;
    if (unwritten > 0 || report.unwrittenRecords > 0) {
      this.#failure ??= `cannot write ${report.unwrittenRecords} records: ${
        this.#log.lastError ?? "unknown write error"
      }`;
      this.#logger.error("messages_not_written", {
        messages: unwritten,
        records: report.unwrittenRecords,
        received: this.#received,
        durable_seq: this.#log.durableSeq,
        error: this.#log.lastError ?? this.#failure,
      });
    }
    if (
      !this.#failure && reason.startsWith("signal") &&
      this.#checkpointPolicy.messagesSinceCheckpoint > 0
    ) {
      await this.#emergencyCheckpoint();
    }
    const exitCode = this.#failure === undefined ? ExitCode.ok : ExitCode.daemonFailed;
    this.#resolveStopReport({
      exit_code: exitCode,
      unwritten_messages: unwritten,
      failure: this.#failure ?? null,
    });
    await this.#journalStop({ reason, exitCode, unwritten });
    await indexerStopped;
    await shipperStopped;
    this.#checkpointCreator.close();
    await this.#control?.close();
    this.#lock.release();
    this.#logger.info("stopped", {
      durable_seq: this.#log.durableSeq,
      exit_code: exitCode,
      ...(this.#failure ? { failure: this.#failure, unwritten_messages: unwritten } : {}),
    });
    return exitCode;
  }

  /** Journals the stop; on a full disk or a deleted data dir that may fail, which is logged. */
  async #journalStop(
    { reason, exitCode, unwritten }: { reason: string; exitCode: number; unwritten: number },
  ): Promise<void> {
    try {
      await this.#journal.append({
        event: "stop",
        at: new Date().toISOString(),
        pid: Deno.pid,
        session: this.#session,
        durable_seq: this.#log.durableSeq,
        reason,
        exit_code: exitCode,
        ...(this.#failure ? { failure: this.#failure, unwritten_messages: unwritten } : {}),
      });
    } catch (error) {
      this.#logger.error("journal_write_failed", { event: "stop", error });
    } finally {
      this.#journal.close();
    }
  }

  async #emergencyCheckpoint(): Promise<void> {
    try {
      const size = (await Deno.stat(this.#layout.currentLog)).size;
      await this.#snapshot("emergency", null, size);
    } catch (error) {
      this.#logger.error("emergency_checkpoint_failed", { error });
    }
  }

  async #recordStartup(previous: PreviousRun, repair: TailRepair): Promise<void> {
    const now = new Date();
    if (!repair.lastRecord) {
      this.#sessionDeps.log.append(
        sessionStartRecord(this.#seq + 1, this.#session, "new data dir or empty log"),
      );
    }
    if (previous.unclean || repair.setAsideBytes > 0) {
      const lastAlive = latestTime(previous.last?.at, repair.lastRecord?.received_at);
      this.#appendNow("gap", {
        reason: !previous.unclean
          ? "torn log tail"
          : previous.last?.failure !== undefined
          ? `daemon stopped after a failure: ${previous.last.failure}`
          : "daemon stopped without a clean shutdown",
        from: lastAlive ?? null,
        to: now.toISOString(),
        last_durable_seq: previous.maxDurableSeq,
        previous_pid: previous.last?.pid ?? null,
        set_aside: repair.setAsideBytes > 0
          ? { path: repair.setAsidePath, bytes: repair.setAsideBytes, reason: repair.reason }
          : null,
      });
    }
    this.#appendNow("daemon_start", {
      pid: Deno.pid,
      version: VERSION,
      backend: this.#config.backend,
      topics: this.#config.topics,
      exclude: this.#config.exclude,
      sync_mode: this.#config.syncMode,
      sync_ms: this.#config.syncMs,
      previous_stop: previous.last === undefined ? "none" : previous.unclean ? "unclean" : "clean",
    });
    await this.#log.flush();
    if (repair.setAsideBytes > 0 || previous.unclean) {
      await this.#journal.append({
        event: "recovered",
        at: now.toISOString(),
        pid: Deno.pid,
        session: this.#session,
        durable_seq: this.#log.durableSeq,
        set_aside: repair.setAsidePath ?? null,
        set_aside_bytes: repair.setAsideBytes,
        reason: repair.reason ?? null,
      });
    }
    await this.#journal.append({
      event: "start",
      at: now.toISOString(),
      pid: Deno.pid,
      session: this.#session,
      durable_seq: this.#log.durableSeq,
    });
  }

  #runAutoCheckpoint(): void {
    if (this.#autoCheckpointRunning) return;
    this.#autoCheckpointRunning = true;
    this.#checkpointByPolicy().finally(() => this.#autoCheckpointRunning = false);
  }

  /** Automatic checkpoints: every N messages and/or after M minutes with new messages. */
  async #checkpointByPolicy(): Promise<void> {
    if (!this.#checkpointPolicy.isDue() || this.#stopping) return;
    try {
      await this.createCheckpoint("auto", null);
      const entries = await this.#checkpoints.list();
      const manifests = entries.flatMap((entry) => entry.ok ? [entry.manifest] : []);
      const doomed = this.#checkpointPolicy.prunable(manifests);
      if (doomed.length === 0) return;
      // prune() verifies each one first: a damaged checkpoint is kept as evidence.
      const pruned = await this.#checkpoints.prune(doomed.map((m) => m.id));
      for (const kept of pruned.keptDamaged) {
        this.#logger.warn("damaged_checkpoint_kept", { id: kept.id, problems: kept.problems });
      }
    } catch (error) {
      this.#logger.error("auto_checkpoint_failed", { error });
    }
  }

  async #startServices(): Promise<void> {
    this.#checkpointTimer = setInterval(
      () => this.#runAutoCheckpoint(),
      CHECKPOINT_POLICY_CHECK_MS,
    );
    this.#control = await ControlServer.start(
      this.#layout.controlSocket,
      controlHandler(this),
      this.#logger,
    );
    this.#heartbeat = setInterval(() => this.#writeHeartbeat(), this.#config.heartbeatMs);
    if (this.#config.indexing) {
      this.#indexer = IndexWorkerHandle.start({
        dataDir: this.#layout.root,
        logLevel: this.#config.logLevel,
        logger: this.#logger,
      });
    }
    if (this.#config.store !== "") {
      // Nothing is shipped before the origin is on disk (see keepOrigin).
      this.#origin.saved.then((origin) => {
        if (origin === null || this.#stopping) return;
        this.#shipper = ShipWorkerHandle.start({
          dataDir: this.#layout.root,
          url: this.#config.store,
          origin,
          logLevel: this.#config.logLevel,
          logger: this.#logger,
          durableSeq: () => this.#log.durableSeq,
        });
      }).catch((error) => this.#logger.error("shipper_not_started", { error }));
    }
    const { source, kind } = openSubscriber({
      endpoint: this.#config.backend,
      topics: this.#config.topics,
      onLinkEvent: (event) => this.#onLinkEvent(event),
    }, {
      onFallback: (reason) => this.#logger.warn("subscriber_fallback", { reason }),
    });
    this.#subscriber = source;
    this.#receiving = this.#receiveLoop(this.#subscriber).catch((error) => {
      this.#logger.error("receive_failed", { error });
      this.fail(`receive loop failed: ${(error as Error).message}`);
    });
    this.#logger.info("started", {
      pid: Deno.pid,
      data_dir: this.#layout.root,
      backend: this.#config.backend,
      session: this.#session,
      seq: this.#seq,
      receive_path: kind,
    });
  }

  async #receiveLoop(subscriber: MessageSource): Promise<void> {
    const always = this.#config.syncMode === "always";
    const faultTopic = this.#config.debugFault?.thread === "receive"
      ? new TextEncoder().encode(this.#config.debugFault.topic)
      : undefined;
    let lastYieldAt = performance.now();
    for await (const batch of subscriber.batches()) {
      if (performance.now() - lastYieldAt > YIELD_EVERY_MS) {
        // While ZeroMQ has messages queued, receiving never returns to the event loop; let
        // timers and the control socket run now and then (the log writer has its own thread).
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYieldAt = performance.now();
      }
      for (const frames of batch) {
        const receivedAtMs = Date.now();
        if (faultTopic && TOPIC_DECODER.decode(frames[0]) === this.#config.debugFault!.topic) {
          throw new Error("debug fault injected by SHEARWATER_DEBUG_FAULT (receive loop)");
        }
        // Accounted before the exclusion: a duplicate on an excluded topic counts as one.
        if (!this.#accounting.admit(frames, receivedAtMs)) {
          this.#duplicates++;
          continue;
        }
        if (this.#excludePatterns.length > 0 && this.#isExcluded(frames[0])) {
          this.#excluded++;
          continue;
        }
        if (this.#rotating) await this.#rotating;
        const seq = ++this.#seq;
        this.#log.appendMessage(frames, seq, this.#session, receivedAtMs);
        if (this.#checkpointPolicy.noteMessage() && !this.#autoCheckpointRunning) {
          this.#runAutoCheckpoint(); // not awaited: the checkpoint reads the log beside recording
        }
        this.#received++;
        this.#lastMessageAtMs = receivedAtMs;
        if (always || !this.#log.hasRoom) await this.#log.flush();
      }
    }
  }

  /** A resent message: appended in the order it came back, after any rotation in progress. */
  #queueRefilled(frames: Uint8Array[]): void {
    if (this.#stopping) return;
    if (this.#excludePatterns.length > 0 && this.#isExcluded(frames[0])) return;
    this.#refillQueue.push(frames);
    if (this.#drainingRefills) return;
    this.#drainingRefills = true;
    this.#drainRefills().finally(() => this.#drainingRefills = false);
  }

  async #drainRefills(): Promise<void> {
    while (this.#refillQueue.length > 0) {
      while (this.#rotating) await this.#rotating;
      if (this.#stopping) return;
      const frames = this.#refillQueue;
      this.#refillQueue = [];
      for (const message of frames) {
        const seq = ++this.#seq;
        this.#log.appendMessage(message, seq, this.#session, Date.now(), true);
        this.#received++;
      }
      if (!this.#log.hasRoom) await this.#log.flush();
    }
  }

  #writeGap(gap: PublisherGap): void {
    this.#logger.warn("publisher_gap", { ...gap });
    this.#appendWhenReady("publisher_gap", { ...gap }).catch((error) => {
      this.#logger.error("publisher_gap_not_written", { ...gap, error: (error as Error).message });
    });
  }

  #isExcluded(topicFrame: Uint8Array | undefined): boolean {
    const topic = topicFrame ? TOPIC_DECODER.decode(topicFrame) : "";
    return this.#excludePatterns.some((pattern) => pattern.test(topic));
  }

  #onLinkEvent(event: LinkEvent): void {
    this.#brokerConnected = event.type === "up";
    this.#brokerLastChangeAt = new Date();
    this.#logger.info(event.type === "up" ? "broker_up" : "broker_down", {
      address: event.address,
    });
    if (this.#stopping) return;
    this.#appendWhenReady(event.type === "up" ? "broker_up" : "broker_down", {
      address: event.address,
    });
  }

  async #appendWhenReady(type: RecordType, fields: EventFields): Promise<void> {
    while (this.#rotating) await this.#rotating;
    if (this.#stopping) return;
    this.#appendNow(type, fields);
  }

  #appendNow(type: RecordType, fields: EventFields): void {
    const seq = ++this.#seq;
    const body: RecordBody = {
      v: RECORD_FORMAT_VERSION,
      seq,
      type,
      session: this.#session,
      received_at: new Date().toISOString(),
      ...fields,
    };
    this.#log.appendLine(encodeRecordLine(body), seq);
  }

  /**
   * A data dir deleted or a log renamed under the daemon would leave it writing into files
   * nobody can see, while `status` says no daemon runs and a second one could start: compare
   * what the log and lock paths lead to with the files held open, and stop with a non-zero exit
   * when they differ (a supervisor then starts afresh on the paths as they are now).
   */
  async #checkFilesInPlace(): Promise<void> {
    if (this.#checkingFiles || this.#stopping || this.#rotating) return;
    this.#checkingFiles = true;
    try {
      const rotations = this.#rotations;
      const problem = await this.#filesOutOfPlace();
      if (problem && !this.#stopping && !this.#rotating && rotations === this.#rotations) {
        this.#logger.error("data_dir_changed", { problem, data_dir: this.#layout.root });
        this.fail(problem);
      }
    } finally {
      this.#checkingFiles = false;
    }
  }

  async #filesOutOfPlace(): Promise<string | undefined> {
    const held = [
      { path: this.#layout.currentLog, identity: this.#log.fileIdentity },
      { path: this.#layout.lockFile, identity: await this.#lock.identity() },
    ];
    for (const { path, identity } of held) {
      if (!identity) continue;
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        return `"${path}" was deleted or renamed under the running daemon`;
      }
      if (info.dev !== identity.dev || info.ino !== identity.ino) {
        return `"${path}" was replaced by another file under the running daemon`;
      }
    }
    return undefined;
  }

  #writeHeartbeat(): void {
    this.#checkFilesInPlace().catch((error) => {
      this.#logger.error("file_check_failed", { error });
    });
    this.#journal.append({
      event: "heartbeat",
      at: new Date().toISOString(),
      pid: Deno.pid,
      session: this.#session,
      durable_seq: this.#log.durableSeq,
      received: this.#received,
    }).catch((error) => this.#logger.error("heartbeat_failed", { error }));
  }
}

/**
 * Runs the daemon until SIGINT/SIGTERM, a control `stop` or a fatal error, then shuts down
 * within the stop deadline. Returns the process exit code: 0 after a clean stop,
 * {@link ExitCode.daemonFailed} after a fatal error (an unexpected rejection included) or
 * with received messages left unwritten.
 */
export async function runDaemon(config: Config, logger: Logger): Promise<number> {
  // Listen before starting: a signal during start-up stops the daemon once it has started,
  // instead of killing it half-way through recovery.
  let daemon: Daemon | undefined;
  let stopRequested: string | undefined;
  let fatal: string | undefined;
  // A start stuck (e.g. its first records waiting for room on a full disk) still ends on a
  // signal, within the same deadline as a stop.
  let giveUpStart!: (exitCode: number) => void;
  const startAbandoned = new Promise<number>((resolve) => giveUpStart = resolve);
  let startDeadline: ReturnType<typeof setTimeout> | undefined;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => {
      stopRequested ??= `signal ${signal}`;
      if (daemon) {
        daemon.stop(stopRequested);
      } else {
        startDeadline ??= setTimeout(() => {
          logger.error("stop_deadline_passed", { during: "start", deadline_ms: STOP_DEADLINE_MS });
          giveUpStart(ExitCode.daemonFailed);
        }, STOP_DEADLINE_MS);
      }
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  // Anything thrown and not caught is fatal: end with a non-zero exit, never live on unwritten.
  const onFatal = (kind: string, error: unknown) => {
    logger.error(kind, { error });
    fatal ??= `${kind}: ${(error as Error)?.message ?? String(error)}`;
    daemon?.fail(fatal);
  };
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    onFatal("unhandled_rejection", event.reason);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    onFatal("uncaught_error", event.error ?? event.message);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  try {
    const started = await Promise.race([Daemon.start(config, logger), startAbandoned]);
    clearTimeout(startDeadline);
    if (typeof started === "number") return started;
    daemon = started;
    if (fatal) daemon.fail(fatal);
    else if (stopRequested) daemon.stop(stopRequested);
    return await daemon.done;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  }
}

/** Waits for `promise` until `deadline` (epoch ms); true when it settled in time. */
async function settleBy(promise: Promise<unknown> | undefined, deadline: number): Promise<boolean> {
  if (!promise) return true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function latestTime(...times: (string | undefined)[]): string | undefined {
  const valid = times.filter((time): time is string =>
    time !== undefined && !isNaN(Date.parse(time))
  );
  return valid.sort((a, b) => Date.parse(a) - Date.parse(b)).at(-1);
}
