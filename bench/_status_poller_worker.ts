/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * Worker polling the daemon's `status` in a tight loop. It runs in its own thread so that the
 * publisher's burst in the main thread cannot delay the observations.
 *
 * Protocol: receives {@link PollerRequest}s; posts an {@link Observation} whenever `seq`,
 * `durable_seq`, `received`, `index.last_seq` or (with `indexPath`) the highest seq readable
 * in index.db changed, and {@link PollerStopped} after a `stop`. index.db is read every 2 ms on
 * a loop of its own, so a slow status answer does not delay when a row is seen searchable.
 *
 * @module
 */
import { sendControlRequest } from "../src/control/client.ts";
import { PersistError } from "../src/errors.ts";
import { SqliteIndex } from "../src/store/sqlite_index.ts";
import { sleep } from "./_async.ts";
import { wallClockMs } from "./_payload.ts";

/** Messages the main thread sends. */
export type PollerRequest =
  | {
    readonly type: "start";
    readonly socketPath: string;
    readonly intervalMs: number;
    /** When set, each poll also reads the highest seq in this index.db, read-only. */
    readonly indexPath?: string;
  }
  | { readonly type: "stop" };

/** One status answer, stamped with the wall-clock time it arrived. */
export interface Observation {
  readonly type: "observation";
  readonly atMs: number;
  readonly seq: number;
  readonly durableSeq: number;
  readonly received: number;
  /** The daemon's `index.last_seq` (0 without an indexer). */
  readonly indexedSeq: number;
  /** Highest seq a reader of index.db sees; 0 when not polled or not readable yet. */
  readonly searchableSeq: number;
}

/** Posted once polling ended. */
export interface PollerStopped {
  readonly type: "stopped";
  /** Status requests answered or failed. */
  readonly polls: number;
  readonly failures: number;
  /** Request-to-answer time; a long one means the daemon's event loop was busy. */
  readonly meanRoundTripMs: number;
  readonly maxRoundTripMs: number;
}

/** Everything the worker posts. */
export type PollerMessage = Observation | PollerStopped;

let stopRequested = false;
/** How often index.db is read for the highest searchable seq (its own loop, see `poll`). */
const READER_INTERVAL_MS = 2;

self.onmessage = (event: MessageEvent<PollerRequest>) => {
  const request = event.data;
  if (request.type === "stop") {
    stopRequested = true;
    return;
  }
  poll(request).then((stopped) => self.postMessage(stopped));
};

async function poll(
  request: Extract<PollerRequest, { type: "start" }>,
): Promise<PollerStopped> {
  const { socketPath, intervalMs } = request;
  const reader = request.indexPath === undefined ? undefined : new IndexReader(request.indexPath);
  let polls = 0;
  let failures = 0;
  let totalRoundTripMs = 0;
  let maxRoundTripMs = 0;
  let last: Observation | undefined;
  const post = (observation: Observation) => {
    if (changed(last, observation)) {
      self.postMessage(observation);
      last = observation;
    }
  };
  // The index is read on its own loop: a status answer can take seconds while the daemon's
  // event loop is busy in a burst, and the time a row becomes searchable must not wait for it.
  const reading = reader === undefined ? Promise.resolve() : (async () => {
    while (!stopRequested) {
      const searchableSeq = reader.lastSeq();
      if (last !== undefined && searchableSeq !== last.searchableSeq) {
        post({ ...last, atMs: wallClockMs(), searchableSeq });
      }
      await sleep(READER_INTERVAL_MS);
    }
  })();
  while (!stopRequested) {
    const sentAt = performance.now();
    const observation = await observe(socketPath);
    const roundTripMs = performance.now() - sentAt;
    polls++;
    totalRoundTripMs += roundTripMs;
    maxRoundTripMs = Math.max(maxRoundTripMs, roundTripMs);
    if (!observation) failures++;
    if (observation) post({ ...observation, searchableSeq: last?.searchableSeq ?? 0 });
    await sleep(intervalMs);
  }
  await reading;
  reader?.close();
  const meanRoundTripMs = totalRoundTripMs / (polls || 1);
  return { type: "stopped", polls, failures, meanRoundTripMs, maxRoundTripMs };
}

async function observe(socketPath: string): Promise<Observation | undefined> {
  try {
    const answer = await sendControlRequest(socketPath, { cmd: "status" }, { timeoutMs: 30_000 });
    const atMs = wallClockMs();
    if (!answer.ok) return undefined;
    const status = answer.status as {
      seq: number;
      durable_seq: number;
      received: number;
      index?: { last_seq?: number } | null;
    };
    return {
      type: "observation",
      atMs,
      seq: status.seq,
      durableSeq: status.durable_seq,
      received: status.received,
      indexedSeq: status.index?.last_seq ?? 0,
      searchableSeq: 0,
    };
  } catch (error) {
    // A daemon briefly unreachable is a failed poll, counted; the main thread notices a dead
    // daemon by its exit.
    if (error instanceof PersistError || error instanceof Deno.errors.ConnectionReset) {
      return undefined;
    }
    throw error;
  }
}

function changed(last: Observation | undefined, next: Observation): boolean {
  return last === undefined || last.seq !== next.seq || last.durableSeq !== next.durableSeq ||
    last.received !== next.received || last.indexedSeq !== next.indexedSeq ||
    last.searchableSeq !== next.searchableSeq;
}

/** Reads the highest indexed seq straight from index.db, as a search would see it. */
class IndexReader {
  readonly #path: string;
  #index: SqliteIndex | undefined;
  #lastSeq = 0;

  constructor(path: string) {
    this.#path = path;
  }

  /** The highest seq in the index; the last value seen while the index cannot be read. */
  lastSeq(): number {
    try {
      this.#index ??= SqliteIndex.open(this.#path, { readOnly: true });
      this.#lastSeq = Math.max(this.#lastSeq, this.#index.lastSeq());
    } catch (error) {
      // Not created yet, or locked for a moment: keep the last value and reopen next time.
      if (!(error instanceof PersistError) && !isSqliteError(error)) throw error;
      this.close();
    }
    return this.#lastSeq;
  }

  close(): void {
    this.#index?.close();
    this.#index = undefined;
  }
}

function isSqliteError(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "ERR_SQLITE_ERROR";
}
