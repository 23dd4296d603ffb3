/**
 * The daemon's side of the ship worker: starts it, tells it how far the log is durable, keeps
 * its last reported state for `status`, restarts it after a crash, stops it without waiting
 * long. The recording thread only posts small messages; it never waits for the store.
 *
 * @module
 */
import { type ForwardedLogEntry, type Logger, type LogLevel, writeForwarded } from "../logger.ts";
import { redactSecrets, redactStoreUrl } from "./store_url.ts";
import { stopWorkerWithin } from "../worker_stop.ts";

/** What the worker reports of itself. */
export interface ShipWorkerState {
  /** `connecting`, `shipping`, `unreachable` (retrying with back-off), `failed` (refused), `stopped`. */
  readonly state: "connecting" | "shipping" | "unreachable" | "failed" | "stopped";
  readonly reachable: boolean;
  /** The last problem, redacted; null once shipping works again. */
  readonly lastError: string | null;
  /** Highest seq of this origin in the store, as far as the worker knows. */
  readonly shippedSeq: number;
  readonly lastShippedAt: string | null;
}

/** The shipper as `status` and `diag` show it (`store` in the daemon's status). */
export interface StoreStatus {
  /** The store URL with its password replaced by `***`. */
  readonly url: string;
  readonly state: ShipWorkerState["state"];
  readonly reachable: boolean;
  readonly last_error: string | null;
  readonly shipped_seq: number;
  /** Durable records not shipped yet (durable seq − shipped seq). */
  readonly lag_records: number;
  /** How long the oldest durable record not shipped yet has been durable, in seconds. */
  readonly lag_seconds: number;
  readonly last_shipped_at: string | null;
}

/** Options of {@link ShipWorkerHandle.start}. */
export interface ShipWorkerOptions {
  readonly dataDir: string;
  readonly url: string;
  readonly origin: string;
  readonly logLevel: LogLevel;
  readonly logger: Logger;
  /** The log's durable seq now (read every {@link DURABLE_POLL_MS}). */
  readonly durableSeq: () => number;
}

const RESTART_DELAY_MS = 1000;
const DURABLE_POLL_MS = 100;
/** Most (seq, time) samples kept to measure lag in seconds; beyond it the oldest ones count. */
const MAX_LAG_SAMPLES = 10_000;

/**
 * Runs the shipper in a Web Worker next to the daemon.
 *
 * @example
 * ```ts
 * const shipper = ShipWorkerHandle.start({ dataDir, url, origin, logLevel, logger, durableSeq });
 * shipper.status(log.durableSeq);
 * await shipper.stop(1000);
 * ```
 */
export class ShipWorkerHandle {
  readonly #options: ShipWorkerOptions;
  #worker: Worker | undefined;
  #state: ShipWorkerState = {
    state: "connecting",
    reachable: false,
    lastError: null,
    shippedSeq: 0,
    lastShippedAt: null,
  };
  #stopping = false;
  #stopped: (() => void) | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #postedDurable = -1;
  /** When each durable advance was seen: [seq, ms], oldest first. */
  #samples: [number, number][] = [];

  private constructor(options: ShipWorkerOptions) {
    this.#options = options;
  }

  /** Starts the worker; it connects, catches up with the logs, then follows the durable seq. */
  static start(options: ShipWorkerOptions): ShipWorkerHandle {
    const handle = new ShipWorkerHandle(options);
    handle.#spawn();
    handle.#poll = setInterval(() => handle.#postDurable(), DURABLE_POLL_MS);
    return handle;
  }

  /** The worker's last reported state. */
  get state(): ShipWorkerState {
    return this.#state;
  }

  /** The shipper for `status`, with lag against the log's `durableSeq`. */
  status(durableSeq: number, nowMs = Date.now()): StoreStatus {
    const shipped = this.#state.shippedSeq;
    this.#dropShippedSamples();
    const oldest = this.#samples[0];
    const behind = durableSeq > shipped;
    return {
      url: redactStoreUrl(this.#options.url),
      state: this.#state.state,
      reachable: this.#state.reachable,
      last_error: this.#state.lastError,
      shipped_seq: shipped,
      lag_records: Math.max(0, durableSeq - shipped),
      lag_seconds: behind && oldest ? Math.max(0, Math.round((nowMs - oldest[1]) / 100) / 10) : 0,
      last_shipped_at: this.#state.lastShippedAt,
    };
  }

  /** Asks the worker to finish its batch and close; terminates it after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#poll);
    const worker = this.#worker;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => this.#stopped = resolve);
    const late = await stopWorkerWithin(worker, stopped, timeoutMs);
    if (late) this.#options.logger.info("shipper_stop_timeout", { timeout_ms: timeoutMs });
    this.#worker = undefined;
    this.#state = { ...this.#state, state: "stopped" };
  }

  #postDurable(): void {
    const seq = this.#options.durableSeq();
    if (seq === this.#postedDurable) return;
    this.#postedDurable = seq;
    if (this.#samples.length < MAX_LAG_SAMPLES) this.#samples.push([seq, Date.now()]);
    this.#worker?.postMessage({ type: "durable", seq });
  }

  #dropShippedSamples(): void {
    const shipped = this.#state.shippedSeq;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop]![0] <= shipped) drop++;
    if (drop > 0) this.#samples = this.#samples.slice(drop);
  }

  #spawn(): void {
    const worker = new Worker(new URL("./ship_worker.ts", import.meta.url).href, {
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
      url: this.#options.url,
      origin: this.#options.origin,
      logLevel: this.#options.logLevel,
    });
    this.#postedDurable = -1;
    this.#worker = worker;
    this.#postDurable();
  }

  #onMessage(
    message: { type: string; state?: ShipWorkerState; message?: string; entry?: ForwardedLogEntry },
  ): void {
    switch (message.type) {
      case "log":
        if (message.entry) writeForwarded(this.#options.logger, message.entry);
        break;
      case "state":
        if (message.state) this.#state = message.state;
        this.#dropShippedSamples();
        break;
      case "stopped":
        this.#stopped?.();
        break;
      case "error":
        this.#fail(message.message ?? "unknown error");
        break;
    }
  }

  #fail(bugDetail: string): void {
    const detail = redactSecrets(bugDetail, this.#options.url);
    this.#options.logger.error("shipper_failed", { error: detail });
    this.#state = { ...this.#state, state: "failed", lastError: detail };
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
