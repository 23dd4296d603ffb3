import {
  fixed,
  formatBytes,
  limitCheck,
  pollingSummary,
  row,
  type TargetCheck,
  targetLines,
} from "./_format.ts";
import { SCENARIO_LABELS, type ScenarioKind, type ScenarioResult } from "./_scenario.ts";
import type { LatencyBench, LatencyResult, RecorderBenchResult } from "./recorder_bench.ts";

/** Daemon (b) against the bare subscriber (a) at one payload size. */
export interface Comparison {
  readonly payloadBytes: number;
  /** b/a of end-to-end msgs/s (publish start to last durable vs last received). */
  readonly endToEndRatio: number | undefined;
  /** b/a of receive-window msgs/s (first to last receive). */
  readonly receiveRatio: number | undefined;
  /** b/a of CPU time per message (all threads of each process). */
  readonly cpuRatio: number | undefined;
}

/** The b/a ratio threshold at 200 B payloads. */
export const MIN_RATIO_AT_200_B = 0.9;
/** The p99 publish-to-durable threshold for the group-commit daemon at a steady rate. */
export const MAX_P99_MS = 15;

/** b/a ratios for each payload size that has both scenarios. */
export function compareToBaseline(scenarios: readonly ScenarioResult[]): Comparison[] {
  const find = (kind: ScenarioKind, payloadBytes: number) =>
    scenarios.find((s) => s.kind === kind && s.payloadBytes === payloadBytes);
  const ratio = (numerator: number | undefined, denominator: number | undefined) =>
    numerator === undefined || !denominator ? undefined : numerator / denominator;
  const sizes = [...new Set(scenarios.map((scenario) => scenario.payloadBytes))];
  return sizes.flatMap((payloadBytes) => {
    const a = find("subscriber", payloadBytes);
    const b = find("daemon-interval", payloadBytes);
    if (!a || !b) return [];
    return [{
      payloadBytes,
      endToEndRatio: ratio(b.endToEndRate, a.endToEndRate),
      receiveRatio: ratio(b.receiveRate, a.receiveRate),
      cpuRatio: ratio(b.cpuUsPerMessage, a.cpuUsPerMessage),
    }];
  });
}

/** Checks the project's targets: b/a ≥ 0.9 at 200 B, zero loss, (b) p99 ≤ 25 ms. */
export function checkTargets(
  scenarios: readonly ScenarioResult[],
  comparisons: readonly Comparison[],
  latencyRuns: readonly LatencyResult[] = [],
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const comparison of comparisons) {
    checks.push(
      limitCheck(
        `b/a end-to-end msgs/s ≥ ${MIN_RATIO_AT_200_B} at ${formatBytes(comparison.payloadBytes)}`,
        comparison.endToEndRatio,
        { limit: MIN_RATIO_AT_200_B, show: (ratio) => ratio.toFixed(2), atLeast: true },
      ),
    );
  }
  const lost = scenarios.reduce((sum, s) => sum + s.lost + (s.duplicates ?? 0), 0) +
    latencyRuns.reduce((sum, run) => sum + run.lost + run.duplicates, 0);
  checks.push({ target: "zero loss or duplicates, every run", value: String(lost), pass: !lost });
  for (const run of latencyRuns) {
    checks.push(limitCheck(
      `p99 publish→durable ≤ ${MAX_P99_MS} ms at ${run.ratePerSecond}/s ` +
        formatBytes(run.payloadBytes),
      run.latency?.p99Ms,
      { limit: MAX_P99_MS, show: (ms) => `${ms.toFixed(1)} ms` },
    ));
  }
  return checks;
}

const COLUMNS = [
  ["payload", 7],
  ["N", 7],
  ["publish/s", 10],
  ["recv/s", 10],
  ["e2e/s", 10],
  ["lost", 5],
  ["dup", 4],
  ["p50 ms", 7],
  ["p99 ms", 7],
  ["max ms", 7],
  ["CPU µs/msg", 10],
] as const;

/**
 * The human-readable report: the table, what each column means, the b/a ratios and the targets.
 *
 * @example
 * ```ts
 * console.log(formatRecorderReport(await runRecorderBench({ cases: defaultRecorderCases(true) })));
 * ```
 */
export function formatRecorderReport(result: RecorderBenchResult): string {
  const pace = result.ratePerSecond ? `${result.ratePerSecond} msgs/s` : "as fast as ZeroMQ takes";
  const line = (label: string, cells: readonly string[]) =>
    `${label.padEnd(24)} ${cells.map((cell, i) => cell.padStart(COLUMNS[i]![1])).join(" ")}`;
  const lines = [
    `publisher: ${pace}; one broker, one publisher, receivers in child processes`,
    "",
    line("scenario", COLUMNS.map(([title]) => title)),
    line("-".repeat(24), COLUMNS.map(([, width]) => "-".repeat(width))),
    ...result.scenarios.map((s) => line(SCENARIO_LABELS[s.kind], scenarioCells(s))),
    "",
    "recv/s  = messages received / (last receive − first receive); for b and c the receive",
    "          times are the log's received_at (1 ms resolution).",
    "e2e/s   = messages received / (last event − publish start), last event = last message",
    "          received (a) or the fsync that made the last message durable (b, c).",
    "p50/p99 = publish → the fsync that made the message durable, per message: fsync times",
    "          from the daemon's writer thread (control command durable-times, sub-ms).",
    "CPU     = the receiver's CPU time (user + system, all threads: for b and c the indexer",
    "          and checkpoints too) over the burst, per message.",
    "",
    "status polls during the burst (they only tell when it is over; a long round trip = the",
    "daemon's event loop was busy):",
    ...result.scenarios.flatMap((s) =>
      s.polling
        ? [row(`  ${SCENARIO_LABELS[s.kind]} ${formatBytes(s.payloadBytes)}`, 33, [
          pollingSummary(s.polling),
        ], 0)]
        : []
    ),
    "",
    ...result.comparisons.map((c) =>
      `b/a at ${formatBytes(c.payloadBytes)}: e2e ${fixed(c.endToEndRatio, 2)}, ` +
      `recv ${fixed(c.receiveRatio, 2)}, CPU per message ${fixed(c.cpuRatio, 2)}`
    ),
    "",
    ...latencyLines(result.latency),
    ...targetLines(result.targets, 44),
  ];
  for (const scenario of result.scenarios.filter((s) => !s.cleanStop)) {
    lines.push(`note: ${SCENARIO_LABELS[scenario.kind]} did not stop cleanly or left torn lines`);
  }
  return lines.join("\n");
}

function scenarioCells(scenario: ScenarioResult): string[] {
  return [
    formatBytes(scenario.payloadBytes),
    String(scenario.published),
    fixed(scenario.publishRate, 0),
    fixed(scenario.receiveRate, 0),
    fixed(scenario.endToEndRate, 0),
    String(scenario.lost),
    scenario.duplicates === undefined ? "-" : String(scenario.duplicates),
    fixed(scenario.latency?.p50Ms, 1),
    fixed(scenario.latency?.p99Ms, 1),
    fixed(scenario.latency?.maxMs, 1),
    fixed(scenario.cpuUsPerMessage, 1),
  ];
}

/** The steady-rate rows: per-message publish → durable against one append + fdatasync. */
function latencyLines(latency: LatencyBench): string[] {
  if (latency.runs.length === 0) return [];
  const header = [
    "N",
    "lost",
    "p50 ms",
    "p99 ms",
    "max ms",
    "fsync p99",
    "p99/fsync",
    "recv p50",
    "recv p99",
  ];
  return [
    "publish → durable at a steady rate, per message (b: group commit); baseline = one",
    "append of a payload-sized line + fdatasync in the bench process, same run:",
    "",
    row("rate, payload", 20, header, 9),
    ...latency.runs.map((run) => {
      const fsync = latency.fsync.find((f) => f.payloadBytes === run.payloadBytes)?.spread;
      return row(`${run.ratePerSecond}/s ${formatBytes(run.payloadBytes)}`, 20, [
        String(run.messages),
        String(run.lost + run.duplicates),
        fixed(run.latency?.p50Ms, 1),
        fixed(run.latency?.p99Ms, 1),
        fixed(run.latency?.maxMs, 1),
        fixed(fsync?.p99Ms, 1),
        fixed(run.latency && fsync ? run.latency.p99Ms / fsync.p99Ms : undefined, 1),
        fixed(run.received?.p50Ms, 0),
        fixed(run.received?.p99Ms, 0),
      ], 9);
    }),
    "recv = publish → the daemon's received_at (1 ms resolution): broker and receiving thread;",
    "the rest of p50/p99 is the hand-off to the writer thread, encoding, group commit and fsync.",
    "",
  ];
}
