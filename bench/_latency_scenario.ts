/**
 * Publish → durable latency of the group-commit daemon at a steady rate, per message: each
 * message's publish time is in its payload, its record seq in the log, and the time that seq
 * became durable comes from the daemon's own fsync times (`durable-times`, taken on its writer
 * thread). The baseline is the disk itself: one small append + fdatasync, timed in this process.
 *
 * @module
 */
import { recordBurst } from "./_daemon_scenario.ts";
import { analyseDaemonLog } from "./_log_analysis.ts";
import type { BenchContext } from "./_scenario.ts";
import { type Spread, spreadOf } from "./_stats.ts";

/** One steady-rate run. */
export interface LatencyCase {
  readonly ratePerSecond: number;
  readonly payloadBytes: number;
  readonly messages: number;
}

/** What one steady-rate run measured. */
export interface LatencyResult extends LatencyCase {
  readonly lost: number;
  readonly duplicates: number;
  /** Publish → durable of every recorded message. */
  readonly latency: Spread | undefined;
  /** Publish → the daemon's `received_at` (1 ms resolution): the broker and receiving part. */
  readonly received: Spread | undefined;
}

/** Status polls only tell when the run is over: slow ones keep the daemon's loop quiet. */
const POLL_INTERVAL_MS = 50;
const FSYNC_SAMPLES = 200;

/** Records `messages` payloads published at `ratePerSecond` and measures each one's latency. */
export function runLatencyScenario(
  context: BenchContext,
  latencyCase: LatencyCase,
): Promise<LatencyResult> {
  const name = `daemon-rate-${latencyCase.ratePerSecond}-${latencyCase.payloadBytes}`;
  return recordBurst(context, {
    name,
    syncMode: "interval",
    messages: latencyCase.messages,
    payloadBytes: latencyCase.payloadBytes,
    ratePerSecond: latencyCase.ratePerSecond,
    pollIntervalMs: POLL_INTERVAL_MS,
  }, async ({ logPath, durable }) => {
    const analysis = await analyseDaemonLog(logPath, {
      expected: latencyCase.messages,
      durableAtMs: (seq) => durable.firstAtMs(seq),
    });
    return {
      ...latencyCase,
      lost: analysis.lost,
      duplicates: analysis.duplicates,
      latency: spreadOf(analysis.latenciesMs),
      received: spreadOf(analysis.receiveLatenciesMs),
    };
  });
}

/**
 * The disk's floor for any durable acknowledgement: `FSYNC_SAMPLES` appends of `bytes` bytes,
 * each followed by `syncData()`, timed one by one in a scratch file under `dir`.
 */
export async function measureFsync(dir: string, bytes: number): Promise<Spread> {
  const path = `${dir}/fsync-baseline-${bytes}`;
  const file = await Deno.open(path, { create: true, append: true, mode: 0o600 });
  const line = new Uint8Array(bytes).fill(0x78);
  const samples: number[] = [];
  try {
    for (let i = 0; i < FSYNC_SAMPLES; i++) {
      const started = performance.now();
      let written = 0;
      while (written < line.length) written += await file.write(line.subarray(written));
      await file.syncData();
      samples.push(performance.now() - started);
    }
  } finally {
    file.close();
    await Deno.remove(path);
  }
  return spreadOf(samples)!;
}
