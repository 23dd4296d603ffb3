import type * as zmq from "zeromq";
import { sleep } from "./_async.ts";
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

/** What every scenario shares: the broker, the publisher, where to put files. */
export interface BenchContext {
  /** Scratch folder of this run, removed at the end. */
  readonly tempDir: string;
  /** Broker backend (XPUB) endpoint the receivers connect to. */
  readonly backend: string;
  readonly publisher: zmq.Publisher;
  readonly pollIntervalMs: number;
  /** Publish rate limit in messages per second; undefined publishes as fast as ZeroMQ takes. */
  readonly ratePerSecond: number | undefined;
  /** When set, daemon children write V8 CPU profiles under it. */
  readonly profileDir: string | undefined;
  readonly signal: AbortSignal | undefined;
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
}

/** Start and end (wall-clock ms) of a timed burst. */
export interface Burst {
  readonly startMs: number;
  readonly endMs: number;
}

const WARMUP_INTERVAL_MS = 50;
const WARMUP_TIMEOUT_MS = 20_000;

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
  const deadline = performance.now() + WARMUP_TIMEOUT_MS;
  while (!(await isConnected())) {
    if (performance.now() > deadline) {
      throw new Error(`Cannot warm up: no warm-up message arrived in ${WARMUP_TIMEOUT_MS} ms`);
    }
    await context.publisher.send([WARMUP_TOPIC, "warm-up"]);
    await sleep(WARMUP_INTERVAL_MS, context.signal);
  }
}
