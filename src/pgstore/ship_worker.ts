/**
 * Web Worker entry that ships the daemon's durable records to the shared store, so no driver
 * work, network wait or outage ever touches the recording thread. Messages in: `{ type:
 * "start", dataDir, url, origin, logLevel }`, `{ type: "durable", seq }` (ship up to there),
 * `{ type: "stop" }`. Messages out: `log`, `state` (connection state, shipped seq, last error),
 * `stopped`, `error` (a bug).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { hostname } from "node:os";
import { createForwardingLogger, type Logger, type LogLevel } from "../logger.ts";
import { dataDirLayout } from "../store/data_dir.ts";
import {
  isUnreachableError,
  openStore,
  type PgStore,
  redactStoreUrl,
  storeError,
} from "./connection.ts";
import { LogShipper } from "./log_shipper.ts";
import { ensureSchema } from "./migrations.ts";
import { registerOrigin } from "./records.ts";
import type { ShipWorkerState } from "./ship_worker_handle.ts";

/** Wait between passes when nothing new became durable. */
const IDLE_POLL_MS = 250;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

let stopping = false;
let durableSeq = 0;
/** Ends the current wait early; `durable` messages only end an idle wait, not a back-off. */
let wake: ((reason: "durable" | "stop") => void) | undefined;

interface StartMessage {
  readonly type: "start";
  readonly dataDir: string;
  readonly url: string;
  readonly origin: string;
  readonly logLevel: LogLevel;
}

self.onmessage = (event: MessageEvent) => {
  const message = event.data as { type: string; seq?: number } | StartMessage;
  if (message.type === "start") {
    const start = message as StartMessage;
    run(start).catch((error) => {
      self.postMessage({ type: "error", message: (error as Error).message });
    });
  } else if (message.type === "durable") {
    durableSeq = Math.max(durableSeq, (message as { seq?: number }).seq ?? 0);
  } else if (message.type === "stop") {
    stopping = true;
  }
  wake?.(message.type === "stop" ? "stop" : "durable");
};

function report(state: ShipWorkerState): void {
  self.postMessage({ type: "state", state });
}

async function run(start: StartMessage): Promise<void> {
  const logger = createForwardingLogger(
    { component: "shipper", level: start.logLevel },
    (entry) => self.postMessage({ type: "log", entry }),
  );
  const layout = dataDirLayout(start.dataDir);
  let store: PgStore | undefined;
  let backoffMs = 0;
  let lastProblem: string | undefined;
  let state: ShipWorkerState = {
    state: "connecting",
    reachable: false,
    lastError: null,
    shippedSeq: 0,
    lastShippedAt: null,
  };
  const update = (change: Partial<ShipWorkerState>) => {
    state = { ...state, ...change };
    report(state);
  };
  update({});
  // Each committed batch is reported at once, so status shows progress within a long pass.
  const shipper = new LogShipper(layout, start.origin, {
    logger,
    shouldStop: () => stopping,
    onBatch: (shippedSeq) => update({ shippedSeq, lastShippedAt: new Date().toISOString() }),
  });
  while (!stopping) {
    try {
      if (store === undefined) {
        store = await connect(start, logger, lastProblem !== undefined);
        lastProblem = undefined;
        backoffMs = 0;
        update({ state: "shipping", reachable: true, lastError: null });
      }
      const limit = durableSeq;
      const result = await shipper.pass(store, limit);
      if (result.sent > 0 || result.shippedSeq !== state.shippedSeq) {
        update({
          shippedSeq: result.shippedSeq,
          lastShippedAt: result.sent > 0 ? new Date().toISOString() : state.lastShippedAt,
        });
      }
      if (durableSeq === limit) await sleep(IDLE_POLL_MS, true);
    } catch (error) {
      const problem = storeError(error, `Cannot ship to the store`, start.url);
      const unreachable = isUnreachableError(error);
      if (problem.message !== lastProblem) {
        // One log line per change of state, never one per retry.
        if (unreachable) {
          logger.warn("store_unreachable", {
            store: redactStoreUrl(start.url),
            error: problem.message,
          });
        } else {
          logger.error("store_failed", {
            store: redactStoreUrl(start.url),
            error: problem.message,
          });
        }
        lastProblem = problem.message;
      }
      update({
        state: unreachable ? "unreachable" : "failed",
        reachable: unreachable ? false : state.reachable,
        lastError: problem.message,
      });
      if (store !== undefined) {
        await closeQuietly(store, logger);
        store = undefined;
      }
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs === 0 ? FIRST_BACKOFF_MS : backoffMs * 2);
      await sleep(backoffMs, false);
    }
  }
  if (store !== undefined) await closeQuietly(store, logger);
  update({ state: "stopped" });
  self.postMessage({ type: "stopped" });
}

async function connect(start: StartMessage, logger: Logger, recovering: boolean): Promise<PgStore> {
  const store = await openStore(start.url, { maxConnections: 1 });
  try {
    await ensureSchema(store);
    await registerOrigin(store, start.origin, { hostname: hostname(), dataDir: start.dataDir });
  } catch (error) {
    await closeQuietly(store, logger);
    throw error;
  }
  logger.info(recovering ? "store_reachable_again" : "store_connected", {
    store: store.redactedUrl,
    origin: start.origin,
  });
  return store;
}

async function closeQuietly(store: PgStore, logger: Logger): Promise<void> {
  try {
    await store.close(1);
  } catch (error) {
    // Closing a pool whose server is gone can fail; the connections are dropped either way.
    logger.debug("store_close_failed", { error: (error as Error).message });
  }
}

function sleep(ms: number, wakeOnDurable: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      wake = undefined;
      resolve();
    }, ms);
    wake = (reason) => {
      if (reason === "durable" && !wakeOnDurable) return;
      clearTimeout(timer);
      wake = undefined;
      resolve();
    };
  });
}
