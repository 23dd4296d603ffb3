import type { ScenarioKind, ScenarioResult } from "./_scenario.ts";

/** Daemon (b) against the bare subscriber (a) at one payload size. */
export interface Comparison {
  readonly payloadBytes: number;
  /** b/a of end-to-end msgs/s (publish start to last durable vs last received). */
  readonly endToEndRatio: number | undefined;
  /** b/a of receive-window msgs/s (first to last receive). */
  readonly receiveRatio: number | undefined;
}

/** A goal printed with the figures; a miss is reported, not thrown. */
export interface TargetCheck {
  readonly target: string;
  readonly value: string;
  readonly pass: boolean;
}

/** The b/a ratio threshold at 200 B payloads. */
export const MIN_RATIO_AT_200_B = 0.9;
/** The p99 publish-to-durable threshold for the group-commit daemon. */
export const MAX_P99_MS = 25;

/** b/a ratios for each payload size that has both scenarios. */
export function compareToBaseline(scenarios: readonly ScenarioResult[]): Comparison[] {
  const sizes = [...new Set(scenarios.map((scenario) => scenario.payloadBytes))];
  return sizes.flatMap((payloadBytes) => {
    const a = find(scenarios, "subscriber", payloadBytes);
    const b = find(scenarios, "daemon-interval", payloadBytes);
    if (!a || !b) return [];
    return [{
      payloadBytes,
      endToEndRatio: ratio(b.endToEndRate, a.endToEndRate),
      receiveRatio: ratio(b.receiveRate, a.receiveRate),
    }];
  });
}

/** Checks the project's targets: b/a ≥ 0.9 at 200 B, zero loss, (b) p99 ≤ 25 ms. */
export function checkTargets(
  scenarios: readonly ScenarioResult[],
  comparisons: readonly Comparison[],
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const at200 = comparisons.find((comparison) => comparison.payloadBytes === 200);
  if (at200) {
    const value = at200.endToEndRatio;
    checks.push({
      target: `b/a end-to-end msgs/s ≥ ${MIN_RATIO_AT_200_B} at 200 B`,
      value: value === undefined ? "n/a" : value.toFixed(2),
      pass: value !== undefined && value >= MIN_RATIO_AT_200_B,
    });
  }
  const lost = scenarios.reduce((sum, s) => sum + s.lost + (s.duplicates ?? 0), 0);
  checks.push({
    target: "zero loss or duplicates, every run",
    value: String(lost),
    pass: lost === 0,
  });
  for (const scenario of scenarios.filter((s) => s.kind === "daemon-interval")) {
    const p99 = scenario.latency?.p99Ms;
    checks.push({
      target: `b p99 publish→durable ≤ ${MAX_P99_MS} ms at ${formatBytes(scenario.payloadBytes)}`,
      value: p99 === undefined ? "n/a" : `${p99.toFixed(1)} ms`,
      pass: p99 !== undefined && p99 <= MAX_P99_MS,
    });
  }
  return checks;
}

/** `200 B`, `4 KB`. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} B`;
}

function find(scenarios: readonly ScenarioResult[], kind: ScenarioKind, payloadBytes: number) {
  return scenarios.find((s) => s.kind === kind && s.payloadBytes === payloadBytes);
}

function ratio(numerator: number | undefined, denominator: number | undefined) {
  return numerator === undefined || !denominator ? undefined : numerator / denominator;
}
