import type {
  Observation,
  PollerMessage,
  PollerRequest,
  PollerStopped,
} from "./_status_poller_worker.ts";

export type { Observation } from "./_status_poller_worker.ts";

/** How the daemon's status answers came: poll counts and round-trip times. */
export type PollingStats = Omit<PollerStopped, "type">;

/**
 * Polls a daemon's `status` from a worker thread and keeps every change it saw, so that the
 * time each `durable_seq` was first observed can be looked up afterwards.
 *
 * @example
 * ```ts
 * const poller = StatusPoller.start(layout.controlSocket, 1);
 * // ... publish ...
 * const stats = await poller.stop();
 * poller.firstAtMs("durableSeq", 42); // when seq 42 was first seen durable
 * ```
 */
export class StatusPoller {
  readonly #worker: Worker;
  readonly #observations: Observation[] = [];
  readonly #stopped: Promise<PollerStopped>;
  #stats: PollingStats | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#stopped = new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<PollerMessage>) => {
        if (event.data.type === "observation") this.#observations.push(event.data);
        else resolve(event.data);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`Cannot poll the daemon's status: ${event.message}`));
      };
    });
  }

  /**
   * Starts polling `socketPath`, sleeping `intervalMs` between answers; with `indexPath`, each
   * poll also reads the highest seq in that index.db.
   */
  static start(
    socketPath: string,
    intervalMs: number,
    options: { indexPath?: string } = {},
  ): StatusPoller {
    const url = new URL("./_status_poller_worker.ts", import.meta.url);
    const poller = new StatusPoller(new Worker(url.href, { type: "module" }));
    const request: PollerRequest = {
      type: "start",
      socketPath,
      intervalMs,
      indexPath: options.indexPath,
    };
    poller.#worker.postMessage(request);
    return poller;
  }

  /** The most recent change observed. */
  get latest(): Observation | undefined {
    return this.#observations.at(-1);
  }

  /** Asks the worker to stop, waits for its last observations, and ends it. */
  async stop(): Promise<PollingStats> {
    const request: PollerRequest = { type: "stop" };
    this.#worker.postMessage(request);
    try {
      const { type: _type, ...stats } = await this.#stopped;
      this.#stats = stats;
      return stats;
    } finally {
      this.#worker.terminate();
    }
  }

  /** Poll counts and round-trip time, once {@link stop} returned. */
  get stats(): PollingStats | undefined {
    return this.#stats;
  }

  /** Ends the worker at once (cleanup after an error). */
  terminate(): void {
    this.#worker.terminate();
  }

  /** Every change observed, oldest first. */
  get observations(): readonly Observation[] {
    return this.#observations;
  }

  /**
   * Wall-clock ms at which `field` (`durableSeq`: the daemon's durable_seq; `indexedSeq`: its
   * index.last_seq; `searchableSeq`: the highest seq a reader of index.db sees, with
   * `indexPath`) was first observed at or above `seq`; undefined if never. A binary search:
   * each of these counters only grows from one observation to the next.
   */
  firstAtMs(field: "durableSeq" | "indexedSeq" | "searchableSeq", seq: number): number | undefined {
    const observations = this.#observations;
    let low = 0;
    let high = observations.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (observations[middle]![field] >= seq) high = middle;
      else low = middle + 1;
    }
    return observations[low]?.atMs;
  }
}
