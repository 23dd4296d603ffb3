/**
 * What every bench report shares: the CLI's own number formatters, target checks and their
 * PASS/MISS lines, right-aligned columns.
 *
 * @module
 */
import { formatBytes, formatCount } from "../src/format.ts";
import type { Spread } from "./_stats.ts";

export { formatBytes };

/** A goal printed with the figures; a miss is reported, not thrown. */
export interface TargetCheck {
  readonly target: string;
  readonly value: string;
  readonly pass: boolean;
}

/** `value.toFixed(digits)`, or `-` when the figure is unknown. */
export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits);
}

/** A rounded count with thousands separators (`1,234`), or `-` when unknown. */
export function count(value: number | undefined): string {
  return value === undefined ? "-" : formatCount(Math.round(value));
}

/**
 * The check `value ≤ limit` (or `≥` with `atLeast`); an unknown value misses and shows `n/a`.
 *
 * @example
 * ```ts
 * limitCheck("p95 ≤ 5 ms", spread?.p95Ms, { limit: 5, show: (ms) => `${ms.toFixed(2)} ms` });
 * ```
 */
export function limitCheck(
  target: string,
  value: number | undefined,
  options: { limit: number; show: (value: number) => string; atLeast?: boolean },
): TargetCheck {
  const pass = value !== undefined &&
    (options.atLeast ? value >= options.limit : value <= options.limit);
  return { target, value: value === undefined ? "n/a" : options.show(value), pass };
}

/** `targets:` and one `PASS`/`MISS` line per check, the target padded to `width`. */
export function targetLines(targets: readonly TargetCheck[], width: number): string[] {
  return [
    "targets:",
    ...targets.map((t) => `  ${t.pass ? "PASS" : "MISS"}  ${t.target.padEnd(width)} ${t.value}`),
  ];
}

/** `label` padded to `labelWidth`, then each cell right-aligned to `cellWidth`. */
export function row(label: string, labelWidth: number, cells: readonly string[], cellWidth = 7) {
  return `${label.padEnd(labelWidth)} ${cells.map((cell) => cell.padStart(cellWidth)).join(" ")}`
    .trimEnd();
}

/** p50, p95 and max of a spread, each with `digits` decimals (`-` when unknown). */
export function spreadCells(spread: Spread | undefined, digits: number): string[] {
  return [spread?.p50Ms, spread?.p95Ms, spread?.maxMs].map((ms) => fixed(ms, digits));
}

/** How the daemon answered the status polls: `N answers, round trip mean X ms, max Y ms`. */
export function pollingSummary(polling: {
  readonly polls: number;
  readonly failures: number;
  readonly meanRoundTripMs: number;
  readonly maxRoundTripMs: number;
}): string {
  return `${polling.polls} answers, round trip mean ${polling.meanRoundTripMs.toFixed(1)} ms, ` +
    `max ${polling.maxRoundTripMs.toFixed(1)} ms` +
    (polling.failures ? `, ${polling.failures} failed` : "");
}
