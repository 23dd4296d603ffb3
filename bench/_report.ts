import { SCENARIO_LABELS, type ScenarioResult } from "./_scenario.ts";
import { formatBytes } from "./_targets.ts";
import type { RecorderBenchResult } from "./recorder_bench.ts";

const COLUMNS = [
  { title: "scenario", width: 24, left: true },
  { title: "payload", width: 7 },
  { title: "N", width: 7 },
  { title: "publish/s", width: 10 },
  { title: "recv/s", width: 10 },
  { title: "e2e/s", width: 10 },
  { title: "lost", width: 5 },
  { title: "dup", width: 4 },
  { title: "p50 ms", width: 7 },
  { title: "p99 ms", width: 7 },
  { title: "max ms", width: 7 },
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
  const lines = [
    `publisher: ${pace}; one broker, one publisher, receivers in child processes`,
    "",
    row(COLUMNS.map((column) => column.title)),
    row(COLUMNS.map((column) => "-".repeat(column.width))),
    ...result.scenarios.map((scenario) => row(scenarioCells(scenario))),
    "",
    "recv/s  = messages received / (last receive − first receive); for b and c the receive",
    "          times are the log's received_at (1 ms resolution).",
    "e2e/s   = messages received / (last event − publish start), last event = last message",
    "          received (a) or last message first observed durable via status polling (b, c).",
    "p50/p99 = publish → first observed durable_seq ≥ the message's seq (status polled",
    `          ${result.pollIntervalMs} ms after each answer; an upper bound, see round trips).`,
    "",
    "status polls during the burst (a long round trip = the daemon's event loop was busy):",
    ...result.scenarios.flatMap(pollingLine),
    "",
    ...result.comparisons.map((c) =>
      `b/a at ${formatBytes(c.payloadBytes)}: e2e ${fixed(c.endToEndRatio, 2)}, ` +
      `recv ${fixed(c.receiveRatio, 2)}`
    ),
    "",
    "targets:",
    ...result.targets.map((t) =>
      `  ${t.pass ? "PASS" : "MISS"}  ${t.target.padEnd(44)} ${t.value}`
    ),
  ];
  const unclean = result.scenarios.filter((scenario) => !scenario.cleanStop);
  for (const scenario of unclean) {
    lines.push(`note: ${SCENARIO_LABELS[scenario.kind]} did not stop cleanly or left torn lines`);
  }
  return lines.join("\n");
}

function scenarioCells(scenario: ScenarioResult): string[] {
  return [
    SCENARIO_LABELS[scenario.kind],
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
  ];
}

function row(cells: string[]): string {
  return COLUMNS.map((column, index) => {
    const cell = cells[index] ?? "";
    return "left" in column ? cell.padEnd(column.width) : cell.padStart(column.width);
  }).join(" ").trimEnd();
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? "-" : value.toFixed(digits);
}

function pollingLine(scenario: ScenarioResult): string[] {
  const polling = scenario.polling;
  if (!polling) return [];
  const name = `${SCENARIO_LABELS[scenario.kind]} ${formatBytes(scenario.payloadBytes)}`;
  return [
    `  ${name.padEnd(31)} ${String(polling.polls).padStart(6)} answers, round trip mean ` +
    `${polling.meanRoundTripMs.toFixed(1)} ms, max ${polling.maxRoundTripMs.toFixed(1)} ms` +
    (polling.failures ? `, ${polling.failures} failed` : ""),
  ];
}
