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
import type { TargetCheck } from "./_format.ts";
import { checkTargets, compareToBaseline, type Comparison } from "./_report.ts";

export type { ScenarioKind, ScenarioResult } from "./_scenario.ts";
export type { Comparison } from "./_report.ts";

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
}

/** Everything one run measured. */
export interface RecorderBenchResult {
  readonly scenarios: readonly ScenarioResult[];
  readonly comparisons: readonly Comparison[];
  readonly targets: readonly TargetCheck[];
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
    const comparisons = compareToBaseline(scenarios);
    return {
      scenarios,
      comparisons,
      targets: checkTargets(scenarios, comparisons),
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
