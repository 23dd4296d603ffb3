import { type ForwardedLogEntry, type Logger, type LogLevel, writeForwarded } from "../logger.ts";
import { stopWorkerWithin } from "../worker_stop.ts";

/** What the daemon knows of its indexer. */
export interface IndexerState {
  /** `starting`, `indexing`, `waiting` (another process holds the index lock), `failed`. */
  readonly state: "starting" | "indexing" | "waiting" | "failed" | "stopped";
  /** Highest seq in the index, as last reported. */
  readonly lastSeq: number;
  readonly detail: string | null;
}

const RESTART_DELAY_MS = 1000;

/**
 * Runs the indexer in a Web Worker next to the daemon and restarts it if it fails. The
 * recording thread only exchanges small messages with it.
 *
 * @example
 * ```ts
 * const indexer = IndexWorkerHandle.start({ dataDir, logLevel: "info", logger });
 * await indexer.stop(1000);
 * ```
 */
export class IndexWorkerHandle {
  readonly #options: { dataDir: string; logLevel: LogLevel; logger: Logger };
  #worker: Worker | undefined;
  #state: IndexerState = { state: "starting", lastSeq: 0, detail: null };
  #stopping = false;
  #stopped: (() => void) | undefined;

  private constructor(options: { dataDir: string; logLevel: LogLevel; logger: Logger }) {
    this.#options = options;
  }

  /** Starts the worker; it catches up with the logs, then follows them. */
  static start(options: { dataDir: string; logLevel: LogLevel; logger: Logger }) {
    const handle = new IndexWorkerHandle(options);
    handle.#spawn();
    return handle;
  }

  /** The indexer's last reported state. */
  get state(): IndexerState {
    return this.#state;
  }

  /** Asks the worker to close the index and let another process (reindex) take the lock. */
  release(): void {
    this.#worker?.postMessage({ type: "release" });
  }

  /** Asks the worker to finish its batch and close the index; terminates it after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    const worker = this.#worker;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => this.#stopped = resolve);
    const late = await stopWorkerWithin(worker, stopped, timeoutMs);
    if (late) this.#options.logger.warn("indexer_stop_timeout", { timeout_ms: timeoutMs });
    this.#worker = undefined;
    this.#state = { ...this.#state, state: "stopped" };
  }

  #spawn(): void {
    const worker = new Worker(new URL("./index_worker.ts", import.meta.url).href, {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent) => this.#onMessage(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(event.message);
    };
    worker.postMessage({
      type: "start",
      dataDir: this.#options.dataDir,
      logLevel: this.#options.logLevel,
    });
    this.#worker = worker;
  }

  #onMessage(
    message: {
      type: string;
      lastSeq?: number;
      reason?: string;
      message?: string;
      entry?: ForwardedLogEntry;
    },
  ) {
    switch (message.type) {
      case "log":
        if (message.entry) writeForwarded(this.#options.logger, message.entry);
        break;
      case "progress":
        this.#state = {
          state: "indexing",
          lastSeq: Math.max(this.#state.lastSeq, message.lastSeq ?? 0),
          detail: null,
        };
        break;
      case "waiting":
        this.#state = { ...this.#state, state: "waiting", detail: message.reason ?? null };
        break;
      case "stopped":
        this.#stopped?.();
        break;
      case "error":
        this.#fail(message.message ?? "unknown error");
        break;
    }
  }

  #fail(detail: string): void {
    this.#options.logger.error("indexer_failed", { error: detail });
    this.#state = { ...this.#state, state: "failed", detail };
    this.#worker?.terminate();
    this.#worker = undefined;
    if (this.#stopping) {
      this.#stopped?.();
      return;
    }
    setTimeout(() => {
      if (!this.#stopping) this.#spawn();
    }, RESTART_DELAY_MS);
  }
}
