/**
 * The launcher: watches the bus for agents, starts the recorder daemon in the background when
 * the first one arrives, supervises it while agents are connected, and when the last one has
 * left (after a grace period) saves a `session-end` checkpoint and stops the daemon gracefully.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { sendControlRequest } from "./control/client.ts";
import { stopDaemon, waitForDaemon } from "./daemon_process.ts";
import { DaemonNotRunningError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { type DataDirLayout, dataDirLayout, ensureDataDir } from "./store/data_dir.ts";
import { isLockHeld } from "./store/data_dir_lock.ts";
import { type AgentEvent, AgentWatcher } from "./transport/agent_watcher.ts";

/** Options for {@link Launcher}. */
export interface LauncherOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Starts a detached daemon process; returns its PID. */
  readonly spawnDaemon: (layout: DataDirLayout) => number;
  /** Wait after the last agent leaves before ending the session. */
  readonly graceMs: number;
  /** Subscription topics that are not agents (exact match); default: `""` (subscribe-all). */
  readonly ignoreTopics?: readonly string[];
  /** Called once when the first agent arrives and the daemon runs (e.g. to show the menu). */
  readonly onFirstAgent?: () => void;
  /** Called for progress lines meant for the person watching. */
  readonly say?: (line: string) => void;
  /** Called after a session has ended (checkpoint saved, daemon stopped). */
  readonly onSessionEnded?: () => void;
}

const SUPERVISE_EVERY_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const STOP_WAIT_MS = 10_000;

/**
 * One launcher per data dir and bus.
 *
 * @example
 * ```ts
 * const launcher = new Launcher({ config, logger, spawnDaemon, graceMs: 5000 });
 * await launcher.run(); // until stop()
 * ```
 */
export class Launcher {
  readonly #options: LauncherOptions;
  readonly #layout: DataDirLayout;
  readonly #topics = new Set<string>();
  readonly #presence = new Set<string>();
  readonly #ignore: Set<string>;
  #watcher: AgentWatcher | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #superviseTimer: ReturnType<typeof setInterval> | undefined;
  #sessionActive = false;
  #restarts = 0;
  #nextRestartAt = 0;
  #busy: Promise<void> = Promise.resolve();
  #stopped!: () => void;
  readonly #done = new Promise<void>((resolve) => this.#stopped = resolve);
  #greeted = false;

  constructor(options: LauncherOptions) {
    this.#options = options;
    this.#layout = dataDirLayout(options.config.dataDir);
    this.#ignore = new Set(options.ignoreTopics ?? [""]);
  }

  /** Agents currently seen (topics and presence names). */
  get agents(): string[] {
    return [...this.#topics].map((topic) => `topic:${topic}`).concat(
      [...this.#presence].map((name) => `agent:${name}`),
    );
  }

  /** Watches until {@link stop}. */
  async run(): Promise<void> {
    await ensureDataDir(this.#layout.root);
    this.#watcher = new AgentWatcher({
      frontend: this.#options.config.frontend,
      backend: this.#options.config.backend,
      onEvent: (event) => this.#onEvent(event),
    });
    this.#superviseTimer = setInterval(
      () => this.#serialize(() => this.#supervise()),
      SUPERVISE_EVERY_MS,
    );
    await this.#done;
  }

  /** Stops watching; an active session is ended as if the last agent had left. */
  async stop(): Promise<void> {
    clearInterval(this.#superviseTimer);
    clearTimeout(this.#graceTimer);
    this.#watcher?.close();
    if (this.#sessionActive) await this.#serialize(() => this.#endSession("launcher stopped"));
    await this.#busy;
    this.#stopped();
  }

  #onEvent(event: AgentEvent): void {
    const before = this.#topics.size + this.#presence.size;
    if (event.type === "subscribed" && !this.#ignore.has(event.topic)) {
      this.#topics.add(event.topic);
    }
    if (event.type === "unsubscribed") this.#topics.delete(event.topic);
    if (event.type === "hello") this.#presence.add(event.agent);
    if (event.type === "bye") this.#presence.delete(event.agent);
    const after = this.#topics.size + this.#presence.size;
    this.#options.logger.info("agent_event", { ...event, agents: after });
    if (after > 0 && before === 0) {
      clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      this.#options.say?.(`Agent detected (${this.agents.join(", ")})`);
      this.#serialize(() => this.#startSession());
    } else if (after === 0 && before > 0) {
      this.#options.say?.(`Last agent left; ending the session in ${this.#options.graceMs} ms`);
      this.#graceTimer = setTimeout(() => {
        this.#graceTimer = undefined;
        this.#serialize(() => this.#endSession("last agent left"));
      }, this.#options.graceMs);
    }
  }

  /** Runs launcher steps one at a time, in order. */
  #serialize(step: () => Promise<void>): Promise<void> {
    this.#busy = this.#busy.then(step).catch((error) => {
      this.#options.logger.error("launcher_step_failed", { error });
    });
    return this.#busy;
  }

  async #startSession(): Promise<void> {
    if (this.#topics.size + this.#presence.size === 0) return;
    this.#sessionActive = true;
    this.#restarts = 0;
    await this.#ensureDaemon("agent connected");
    if (!this.#greeted) {
      this.#greeted = true;
      this.#options.onFirstAgent?.();
    }
  }

  async #supervise(): Promise<void> {
    if (!this.#sessionActive || Date.now() < this.#nextRestartAt) return;
    if (await isLockHeld(this.#layout.lockFile)) return;
    this.#restarts++;
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.#restarts - 1));
    this.#nextRestartAt = Date.now() + backoff;
    this.#options.logger.warn("daemon_died", {
      restarts: this.#restarts,
      next_backoff_ms: backoff,
    });
    this.#options.say?.(`Daemon not running: restarting it (restart ${this.#restarts})`);
    await this.#ensureDaemon("supervisor restart");
  }

  async #ensureDaemon(reason: string): Promise<void> {
    if (await isLockHeld(this.#layout.lockFile)) return;
    const pid = this.#options.spawnDaemon(this.#layout);
    this.#options.logger.info("daemon_started", { pid, reason });
    this.#options.say?.(
      `Daemon started in the background, PID ${pid} (log: ${this.#layout.root}/daemon.log)`,
    );
    try {
      await waitForDaemon(this.#layout, { timeoutMs: STOP_WAIT_MS });
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError)) throw error;
      this.#options.logger.error("daemon_start_timeout", { pid });
    }
  }

  async #endSession(reason: string): Promise<void> {
    if (!this.#sessionActive || this.#topics.size + this.#presence.size > 0) return;
    this.#sessionActive = false;
    let released: boolean;
    try {
      const answer = await sendControlRequest(
        this.#layout.controlSocket,
        { cmd: "checkpoint", trigger: "session-end", label: reason },
        { timeoutMs: 60_000 },
      );
      const id = answer.ok ? answer.checkpoint.id : `failed: ${answer.error}`;
      this.#options.say?.(`Session saved: checkpoint ${id}`);
      released = (await stopDaemon(this.#layout, { wait: false, timeoutMs: STOP_WAIT_MS }))
        .released;
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError)) throw error;
      this.#options.say?.("No daemon was running at session end");
      return;
    }
    if (!released) {
      this.#options.logger.error("daemon_stop_timeout", {});
      return;
    }
    this.#options.say?.("Daemon stopped gracefully");
    this.#options.onSessionEnded?.();
  }
}
