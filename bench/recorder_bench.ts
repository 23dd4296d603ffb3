/**
 * The recorder benchmark: the same bursts, through the bundled broker, to (a) a bare ZeroMQ
 * subscriber, (b) the daemon with group commit and (c) the daemon with `--sync always`; loss
 * and publish-to-durable latency checked message by message.
 *
 * @module
 */
import { CleanupStack } from "./_async.ts";
import { runDaemonScenario } from "./_daemon_scenario.ts";
import {
  type BenchContext,
  type BenchContextOptions,
  createBenchContext,
  type ScenarioResult,
} from "./_scenario.ts";
import { runSubscriberScenario } from "./_subscriber_scenario.ts";
import {
  type LatencyCase,
  type LatencyResult,
  measureFsync,
  runLatencyScenario,
} from "./_latency_scenario.ts";
import type { Spread } from "./_stats.ts";
import type { TargetCheck } from "./_format.ts";
import { checkTargets, compareToBaseline, type Comparison } from "./_report.ts";

export type { ScenarioKind, ScenarioResult } from "./_scenario.ts";
export type { Comparison } from "./_report.ts";
export type { LatencyCase, LatencyResult } from "./_latency_scenario.ts";

/** One payload size and the burst lengths used with it. */
export interface RecorderBenchCase {
  readonly payloadBytes: number;
  /** Messages for (a) and (b). */
  readonly messages: number;
  /** Messages for (c), which fsyncs every one and is much slower. */
  readonly alwaysMessages: number;
}

/** Options for {@link runRecorderBench}: the cases, and how to publish and poll. */
export interface RecorderBenchOptions extends BenchContextOptions {
  readonly cases: readonly RecorderBenchCase[];
  /** Steady-rate runs for per-message publish → durable latency; default none. */
  readonly latencyCases?: readonly LatencyCase[];
}

/** The steady-rate runs and their baseline: the disk's own append + fdatasync. */
export interface LatencyBench {
  readonly runs: readonly LatencyResult[];
  /** Append of a payload-sized line + fdatasync, timed one by one (the floor), per size. */
  readonly fsync: readonly { readonly payloadBytes: number; readonly spread: Spread }[];
}

/** Everything one run measured. */
export interface RecorderBenchResult {
  readonly scenarios: readonly ScenarioResult[];
  readonly comparisons: readonly Comparison[];
  readonly targets: readonly TargetCheck[];
  readonly latency: LatencyBench;
  readonly pollIntervalMs: number;
  readonly ratePerSecond: number | undefined;
}

/**
 * The default cases: 200 B and 4 KB payloads; `quick` uses short bursts that finish in seconds.
 *
 * @example
 * ```ts
 * defaultRecorderCases(false)[0]; // { payloadBytes: 200, messages: 100000, alwaysMessages: 5000 }
 * ```
 */
export function defaultRecorderCases(quick: boolean): RecorderBenchCase[] {
  return quick
    ? [
      { payloadBytes: 200, messages: 5_000, alwaysMessages: 1_000 },
      { payloadBytes: 4096, messages: 2_000, alwaysMessages: 1_000 },
    ]
    : [
      { payloadBytes: 200, messages: 100_000, alwaysMessages: 5_000 },
      { payloadBytes: 4096, messages: 20_000, alwaysMessages: 5_000 },
    ];
}

/**
 * The steady-rate latency runs: 1,000 and 5,000 msgs/s at 200 B and 4 KB, five seconds each
 * (`quick`: one second).
 *
 * @example
 * ```ts
 * defaultLatencyCases(false)[0]; // { ratePerSecond: 1000, payloadBytes: 200, messages: 5000 }
 * ```
 */
export function defaultLatencyCases(quick: boolean): LatencyCase[] {
  const seconds = quick ? 1 : 5;
  return [1000, 5000].flatMap((ratePerSecond) =>
    [200, 4096].map((payloadBytes) => ({
      ratePerSecond,
      payloadBytes,
      messages: ratePerSecond * seconds,
    }))
  );
}

/**
 * Starts the broker in-process on free ports, runs scenarios (a), (b) and (c) for each case,
 * and returns the figures with the b/a ratios and target checks. Every child process and temp
 * folder it made is gone when it returns or throws.
 *
 * @example
 * ```ts
 * const result = await runRecorderBench({ cases: defaultRecorderCases(true) });
 * console.log(result.targets.every((target) => target.pass));
 * ```
 */
export async function runRecorderBench(
  options: RecorderBenchOptions,
): Promise<RecorderBenchResult> {
  const cleanup = new CleanupStack();
  try {
    const context = await createBenchContext(options, cleanup);
    const scenarios: ScenarioResult[] = [];
    for (const benchCase of options.cases) {
      scenarios.push(...await runCase(context, benchCase));
    }
    const latency = await runLatencyCases(context, options.latencyCases ?? []);
    const comparisons = compareToBaseline(scenarios);
    return {
      scenarios,
      comparisons,
      targets: checkTargets(scenarios, comparisons, latency.runs),
      latency,
      pollIntervalMs: context.pollIntervalMs,
      ratePerSecond: context.ratePerSecond,
    };
  } finally {
    await cleanup.run();
  }
}

async function runCase(context: BenchContext, benchCase: RecorderBenchCase) {
  const { payloadBytes, messages, alwaysMessages } = benchCase;
  context.progress(`a bare subscriber, ${messages} × ${payloadBytes} B…`);
  const a = await runSubscriberScenario(context, { messages, payloadBytes });
  context.progress(`b daemon group commit, ${messages} × ${payloadBytes} B…`);
  const b = await runDaemonScenario(context, { messages, payloadBytes, syncMode: "interval" });
  context.progress(`c daemon --sync always, ${alwaysMessages} × ${payloadBytes} B…`);
  const c = await runDaemonScenario(context, {
    messages: alwaysMessages,
    payloadBytes,
    syncMode: "always",
  });
  return [a, b, c];
}

async function runLatencyCases(
  context: BenchContext,
  cases: readonly LatencyCase[],
): Promise<LatencyBench> {
  const sizes = [...new Set(cases.map((latencyCase) => latencyCase.payloadBytes))];
  const fsync = [];
  for (const payloadBytes of sizes) {
    context.progress(`baseline: append + fdatasync of ${payloadBytes} B, one by one…`);
    fsync.push({ payloadBytes, spread: await measureFsync(context.tempDir, payloadBytes) });
  }
  const runs: LatencyResult[] = [];
  for (const latencyCase of cases) {
    const { ratePerSecond, payloadBytes, messages } = latencyCase;
    context.progress(`publish → durable at ${ratePerSecond}/s, ${messages} × ${payloadBytes} B…`);
    runs.push(await runLatencyScenario(context, latencyCase));
  }
  return { runs, fsync };
}
