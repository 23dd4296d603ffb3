import * as zmq from "zeromq";
import { startBroker } from "../src/broker.ts";
import { type CleanupStack, sleep, waitUntil } from "./_async.ts";
import { freePorts } from "./_child_process.ts";
import {
  DATA_TOPIC,
  makePayload,
  type PayloadStamp,
  wallClockMs,
  WARMUP_TOPIC,
} from "./_payload.ts";
import type { Spread } from "./_stats.ts";
import type { PollingStats } from "./_status_poller.ts";

export type { PollingStats } from "./_status_poller.ts";

/** The receivers compared: (a) baseline, (b) the daemon's design, (c) the naive design. */
export type ScenarioKind = "subscriber" | "daemon-interval" | "daemon-always";

/** Short labels used in tables. */
export const SCENARIO_LABELS: Record<ScenarioKind, string> = {
  "subscriber": "a bare subscriber",
  "daemon-interval": "b daemon group commit",
  "daemon-always": "c daemon --sync always",
};

/** What every scenario shares: the broker, the publisher, where to put files; the options. */
export interface BenchContext
  extends Pick<BenchContextOptions, "ratePerSecond" | "profileDir" | "signal"> {
  /** Scratch folder of this run, removed at the end. */
  readonly tempDir: string;
  /** Broker backend (XPUB) endpoint the receivers connect to. */
  readonly backend: string;
  readonly publisher: zmq.Publisher;
  readonly pollIntervalMs: number;
  readonly progress: (line: string) => void;
}

/** One receiver, one payload size: how fast, how complete, how late. */
export interface ScenarioResult {
  readonly kind: ScenarioKind;
  readonly payloadBytes: number;
  /** Timed messages published. */
  readonly published: number;
  /** Published / publish duration. */
  readonly publishRate: number | undefined;
  /** Distinct timed messages received (a) or recorded in the log (b, c). */
  readonly received: number;
  readonly lost: number;
  /** Messages recorded twice; undefined for (a), which only counts. */
  readonly duplicates: number | undefined;
  /** Received / (last receive - first receive). */
  readonly receiveRate: number | undefined;
  /** Received / (end - publish start), end named by {@link endToEndUntil}. */
  readonly endToEndRate: number | undefined;
  readonly endToEndUntil: "last received" | "last durable";
  /** Publish-to-durable latency (b, c). */
  readonly latency: Spread | undefined;
  /** Status polling done during the burst (b, c). */
  readonly polling: PollingStats | undefined;
  /** Whether the receiver stopped by itself (false: it had to be killed or timed out). */
  readonly cleanStop: boolean;
  /** The receiver's CPU time (all threads) per timed message over the burst, µs (a, b). */
  readonly cpuUsPerMessage?: number;
}

/** Start and end (wall-clock ms) of a timed burst. */
export interface Burst {
  readonly startMs: number;
  readonly endMs: number;
}

const WARMUP_INTERVAL_MS = 50;
const WARMUP_TIMEOUT_MS = 20_000;

/** Publisher (and broker) high-water mark: nothing is dropped before the receivers. */
const PUBLISHER_HWM = 1_000_000;

/** What {@link createBenchContext} needs besides the cleanup stack. */
export interface BenchContextOptions {
  /** Pause between the end of one status answer and the next request; default 1. */
  readonly pollIntervalMs?: number;
  /** Publish at most this many messages per second; default: as fast as ZeroMQ takes them. */
  readonly ratePerSecond?: number;
  /** When set, each daemon child writes a V8 CPU profile into a folder under it. */
  readonly profileDir?: string;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

/**
 * Makes a scratch folder, starts the broker in-process on free ports and connects a publisher
 * to it. Each of these is undone by `cleanup`, which the caller runs at the end.
 *
 * @example
 * ```ts
 * const cleanup = new CleanupStack();
 * try { const context = await createBenchContext({}, cleanup); } finally { await cleanup.run(); }
 * ```
 */
export async function createBenchContext(
  options: BenchContextOptions,
  cleanup: CleanupStack,
): Promise<BenchContext> {
  const tempDir = await Deno.makeTempDir({ prefix: "shearwater-bench-" });
  cleanup.defer(`remove "${tempDir}"`, () => Deno.remove(tempDir, { recursive: true }));
  const [frontendPort, backendPort] = freePorts(2);
  const frontend = `tcp://127.0.0.1:${frontendPort}`;
  const backend = `tcp://127.0.0.1:${backendPort}`;
  const broker = await startBroker({ frontend, backend });
  cleanup.defer("stop the broker", () => broker.stop());
  const publisher = new zmq.Publisher({ sendHighWaterMark: PUBLISHER_HWM, linger: 0 });
  cleanup.defer("close the publisher", () => publisher.close());
  publisher.connect(frontend);
  return {
    tempDir,
    backend,
    publisher,
    pollIntervalMs: options.pollIntervalMs ?? 1,
    ratePerSecond: options.ratePerSecond,
    profileDir: options.profileDir,
    signal: options.signal,
    progress: options.progress ?? (() => {}),
  };
}

/**
 * Publishes `messages` stamped payloads of `payloadBytes` on {@link DATA_TOPIC}, as fast as
 * ZeroMQ takes them or paced at the context's rate. `payload`, when given, makes each payload
 * instead (it must carry the stamp, as {@link makePayload} does).
 */
export async function publishBurst(
  context: BenchContext,
  options: {
    messages: number;
    payloadBytes: number;
    payload?: (stamp: PayloadStamp) => string;
  },
): Promise<Burst> {
  const payloadOf = options.payload ??
    ((stamp: PayloadStamp) => makePayload(stamp, options.payloadBytes));
  const startMs = wallClockMs();
  const gapMs = context.ratePerSecond ? 1000 / context.ratePerSecond : 0;
  for (let seq = 0; seq < options.messages; seq++) {
    const aheadMs = startMs + seq * gapMs - wallClockMs();
    // Timers are only good to about 1 ms: at high rates messages leave in small clumps.
    if (aheadMs >= 1) await sleep(aheadMs, context.signal);
    await context.publisher.send([DATA_TOPIC, payloadOf({ seq, sentAtMs: wallClockMs() })]);
    if (context.signal?.aborted) throw context.signal.reason;
  }
  return { startMs, endMs: wallClockMs() };
}

/**
 * Publishes warm-up messages until `isConnected` says the receiver got one: subscribers miss
 * what is published in about the first second after connecting (slow joiner).
 */
export async function warmUp(
  context: BenchContext,
  isConnected: () => Promise<boolean>,
): Promise<void> {
  await waitUntil("warm up the receiver", async () => {
    if (await isConnected()) return true;
    await context.publisher.send([WARMUP_TOPIC, "warm-up"]);
    return false;
  }, { timeoutMs: WARMUP_TIMEOUT_MS, intervalMs: WARMUP_INTERVAL_MS, signal: context.signal });
}
