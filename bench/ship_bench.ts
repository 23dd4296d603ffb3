/**
 * The ship bench: how fast the daemon's shipper moves durable records into PostgreSQL, against
 * the recording rate measured in the same run. Three parts on one throwaway cluster (initdb as
 * the `postgres` user, tests/pgstore/_pg_cluster.ts): a flat-out burst (recording rate vs
 * shipping rate, end to end), a paced stream at an agent-bus rate (the lag it keeps), and an
 * outage (kill -9 of the server, a burst recorded meanwhile, restart: time to reconnect and the
 * catch-up rate).
 *
 * @module
 */
import * as zmq from "zeromq";
import { startBroker } from "../src/broker.ts";
import { sendControlRequest } from "../src/control/client.ts";
import type { DaemonStatus } from "../src/control/protocol.ts";
import { DaemonNotRunningError } from "../src/errors.ts";
import { pgAvailable, pgSkipReason, startPgCluster } from "../tests/pgstore/_pg_cluster.ts";
import { CleanupStack, sleep, waitUntil } from "./_async.ts";
import { BenchChild, denoRunArgs, freePorts, MAIN_SCRIPT } from "./_child_process.ts";
import { count, fixed } from "./_format.ts";

/** Options of {@link runShipBench}. */
export interface ShipBenchOptions {
  readonly quick: boolean;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

/** Figures of the ship bench. */
export interface ShipBenchResult {
  /** Why it did not run (no PostgreSQL here), else undefined. */
  readonly skipped?: string;
  readonly burst?: {
    readonly messages: number;
    readonly recordSeconds: number;
    readonly recordRate: number;
    readonly shipSeconds: number;
    readonly shipRate: number;
    /** shipRate / recordRate: 1 means shipping kept up with recording. */
    readonly ratio: number;
  };
  readonly paced?: {
    readonly ratePerSecond: number;
    readonly seconds: number;
    readonly maxLagRecords: number;
    readonly maxLagSeconds: number;
    /** From the last message durable to all of it shipped. */
    readonly tailMs: number;
  };
  readonly outage?: {
    readonly messages: number;
    readonly recordRate: number;
    /** From the server's restart to the first record shipped (reconnect back-off included). */
    readonly reconnectSeconds: number;
    readonly catchUpSeconds: number;
    readonly catchUpRate: number;
    /** catchUpRate / the burst's recordRate. */
    readonly ratio: number;
  };
}

const POLL_MS = 5;
const TIMEOUT_MS = 300_000;

/** Runs the ship bench (skips with a reason when the PostgreSQL server binaries are missing). */
export async function runShipBench(options: ShipBenchOptions): Promise<ShipBenchResult> {
  if (!pgAvailable) return { skipped: pgSkipReason };
  const sizes = options.quick
    ? { burst: 10_000, paceRate: 500, paceSeconds: 3, outage: 10_000 }
    : { burst: 50_000, paceRate: 1000, paceSeconds: 10, outage: 50_000 };
  const cleanup = new CleanupStack();
  try {
    const tempDir = await Deno.makeTempDir({ prefix: "shearwater-ship-bench-" });
    cleanup.defer("remove the temp dir", () => Deno.remove(tempDir, { recursive: true }));
    options.progress("ship: starting a throwaway PostgreSQL cluster");
    const cluster = await startPgCluster();
    cleanup.defer("stop the cluster", () => cluster.stop());
    const [front, back] = freePorts(2);
    const endpoints = { frontend: `tcp://127.0.0.1:${front}`, backend: `tcp://127.0.0.1:${back}` };
    const broker = await startBroker(endpoints);
    cleanup.defer("stop the broker", () => broker.stop());
    const dataDir = `${tempDir}/data`;
    const daemon = BenchChild.spawn(
      "ship-daemon",
      denoRunArgs(MAIN_SCRIPT, [
        "daemon",
        "--data-dir",
        dataDir,
        "--backend",
        endpoints.backend,
        "--store",
        cluster.url, // trust authentication: no password to keep out of the arguments
      ]),
      `${tempDir}/ship-daemon`,
    );
    cleanup.defer("stop the daemon", () => daemon.kill());
    const status = () => readStatus(daemon, `${dataDir}/control.sock`);
    await waitUntil("start the daemon", async () => (await status()) !== undefined, {
      timeoutMs: 30_000,
      intervalMs: 50,
      signal: options.signal,
    });
    const publisher = new zmq.Publisher({ sendHighWaterMark: 1_000_000, linger: 0 });
    cleanup.defer("close the publisher", () => publisher.close());
    publisher.connect(endpoints.frontend);
    await waitUntil("warm the link up", async () => {
      await publisher.send(["bench.warmup", "ping"]);
      return ((await status())?.received ?? 0) > 0;
    }, { timeoutMs: 30_000, intervalMs: 100, signal: options.signal });
    await sleep(300, options.signal);
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) await publisher.send(agentMessage(sent++));
    };
    const shipped = async (target: number) => {
      const s = await status();
      return s !== undefined && s.durable_seq >= target && (s.store?.shipped_seq ?? 0) >= target;
    };
    const burst = await measureBurst(options, { send, status, messages: sizes.burst });
    const paced = await measurePaced(options, {
      send,
      status,
      shipped,
      ratePerSecond: sizes.paceRate,
      seconds: sizes.paceSeconds,
    });
    options.progress("ship: outage (kill -9 of the server), then catch-up");
    await cluster.kill9();
    const before = (await status())!;
    const outageStart = performance.now();
    await send(sizes.outage);
    await waitUntil("record the outage burst", async () => {
      const s = await status();
      return s !== undefined && s.received >= before.received + sizes.outage &&
        s.durable_seq >= s.seq;
    }, { timeoutMs: TIMEOUT_MS, intervalMs: POLL_MS, signal: options.signal });
    const outageRecordSeconds = (performance.now() - outageStart) / 1000;
    const target = (await status())!.durable_seq;
    const shippedBefore = (await status())!.store?.shipped_seq ?? 0;
    await cluster.restart();
    const restartedAt = performance.now();
    let firstMoveAt: number | undefined;
    await waitUntil("catch up after the outage", async () => {
      const s = await status();
      const now = performance.now();
      if (firstMoveAt === undefined && (s?.store?.shipped_seq ?? 0) > shippedBefore) {
        firstMoveAt = now;
      }
      return s !== undefined && (s.store?.shipped_seq ?? 0) >= target;
    }, { timeoutMs: TIMEOUT_MS, intervalMs: POLL_MS, signal: options.signal });
    const doneAt = performance.now();
    const moved = firstMoveAt ?? doneAt;
    const catchUpSeconds = Math.max((doneAt - moved) / 1000, 0.001);
    const catchUpRate = (target - shippedBefore) / catchUpSeconds;
    return {
      burst,
      paced,
      outage: {
        messages: sizes.outage,
        recordRate: sizes.outage / outageRecordSeconds,
        reconnectSeconds: (moved - restartedAt) / 1000,
        catchUpSeconds,
        catchUpRate,
        ratio: catchUpRate / burst.recordRate,
      },
    };
  } finally {
    await cleanup.run();
  }

  async function measureBurst(
    bench: ShipBenchOptions,
    parts: {
      send: (n: number) => Promise<void>;
      status: () => Promise<DaemonStatus | undefined>;
      messages: number;
    },
  ): Promise<NonNullable<ShipBenchResult["burst"]>> {
    bench.progress(`ship: burst of ${count(parts.messages)} messages, recorded and shipped`);
    const before = (await parts.status())!;
    const started = performance.now();
    await parts.send(parts.messages);
    let recordedAt: number | undefined;
    let target = Number.POSITIVE_INFINITY;
    await waitUntil("record and ship the burst", async () => {
      const s = await parts.status();
      if (s === undefined) return false;
      if (
        recordedAt === undefined && s.received >= before.received + parts.messages &&
        s.durable_seq >= s.seq
      ) {
        recordedAt = performance.now();
        target = s.durable_seq;
      }
      return recordedAt !== undefined && (s.store?.shipped_seq ?? 0) >= target;
    }, { timeoutMs: TIMEOUT_MS, intervalMs: POLL_MS, signal: bench.signal });
    const shippedAt = performance.now();
    const recordSeconds = (recordedAt! - started) / 1000;
    const shipSeconds = (shippedAt - started) / 1000;
    const recordRate = parts.messages / recordSeconds;
    const shipRate = parts.messages / shipSeconds;
    return {
      messages: parts.messages,
      recordSeconds,
      recordRate,
      shipSeconds,
      shipRate,
      ratio: shipRate / recordRate,
    };
  }

  async function measurePaced(
    bench: ShipBenchOptions,
    parts: {
      send: (n: number) => Promise<void>;
      status: () => Promise<DaemonStatus | undefined>;
      shipped: (target: number) => Promise<boolean>;
      ratePerSecond: number;
      seconds: number;
    },
  ): Promise<NonNullable<ShipBenchResult["paced"]>> {
    bench.progress(`ship: paced stream, ${parts.ratePerSecond} msg/s for ${parts.seconds} s`);
    let maxLagRecords = 0;
    let maxLagSeconds = 0;
    const tickMs = 50;
    const perTick = Math.max(1, Math.round(parts.ratePerSecond * tickMs / 1000));
    const started = performance.now();
    for (let tick = 0; (performance.now() - started) < parts.seconds * 1000; tick++) {
      await parts.send(perTick);
      const s = await parts.status();
      if (s?.store) {
        maxLagRecords = Math.max(maxLagRecords, s.store.lag_records);
        maxLagSeconds = Math.max(maxLagSeconds, s.store.lag_seconds);
      }
      const nextAt = started + (tick + 1) * tickMs;
      await sleep(Math.max(0, nextAt - performance.now()), bench.signal);
    }
    let target = 0;
    await waitUntil("make the paced stream durable", async () => {
      const s = await parts.status();
      if (s === undefined || s.durable_seq < s.seq) return false;
      target = s.durable_seq;
      return true;
    }, { timeoutMs: TIMEOUT_MS, intervalMs: POLL_MS, signal: bench.signal });
    const durableAt = performance.now();
    await waitUntil("ship the paced stream", () => parts.shipped(target), {
      timeoutMs: TIMEOUT_MS,
      intervalMs: POLL_MS,
      signal: bench.signal,
    });
    return {
      ratePerSecond: parts.ratePerSecond,
      seconds: parts.seconds,
      maxLagRecords,
      maxLagSeconds,
      tailMs: performance.now() - durableAt,
    };
  }
}

/** An agent chat message of about 300 bytes. */
function agentMessage(i: number): string[] {
  const words = ["deploy", "build", "retry", "agent", "tool", "src/main.ts", "error", "review"];
  const content = Array.from({ length: 30 }, (_, k) => words[(i + k * 3) % words.length]).join(" ");
  return ["agent.claude", JSON.stringify({ from: "claude", to: "all", type: "chat", content, i })];
}

async function readStatus(
  child: BenchChild,
  socketPath: string,
): Promise<DaemonStatus | undefined> {
  if (child.exitStatus) throw await child.exitedError("talk to the daemon");
  try {
    const answer = await sendControlRequest(socketPath, { cmd: "status" });
    if (!answer.ok) throw new Error(`Cannot read the daemon's status: ${answer.error}`);
    return answer.status;
  } catch (error) {
    if (error instanceof DaemonNotRunningError) return undefined;
    throw error;
  }
}

/** The report: shipping rate against recording rate, the lag kept, the catch-up. */
export function formatShipReport(result: ShipBenchResult): string {
  if (result.skipped) return `Ship bench skipped: ${result.skipped}`;
  const b = result.burst!;
  const p = result.paced!;
  const o = result.outage!;
  return [
    "Shipping to PostgreSQL (daemon --store, one throwaway local cluster, same run)",
    `  burst of ${count(b.messages)} messages (~300 B payload)   recorded ${
      count(Math.round(b.recordRate))
    }/s ` +
    `(${fixed(b.recordSeconds, 2)} s), shipped ${count(Math.round(b.shipRate))}/s end to end ` +
    `(${fixed(b.shipSeconds, 2)} s): ratio ${fixed(b.ratio, 2)}`,
    `  paced ${count(p.ratePerSecond)} msg/s for ${p.seconds} s   max lag ${
      count(p.maxLagRecords)
    } ` +
    `records / ${fixed(p.maxLagSeconds, 1)} s, all shipped ${
      fixed(p.tailMs, 0)
    } ms after the last ` +
    "was durable",
    `  outage (kill -9 of the server)   ${count(o.messages)} recorded meanwhile at ` +
    `${count(Math.round(o.recordRate))}/s; after the restart: reconnected in ` +
    `${fixed(o.reconnectSeconds, 1)} s, caught up at ${count(Math.round(o.catchUpRate))}/s ` +
    `(${fixed(o.catchUpSeconds, 2)} s): ${fixed(o.ratio, 2)} x the recording rate`,
  ].join("\n");
}
