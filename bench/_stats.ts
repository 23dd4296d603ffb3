/** Summary of a latency sample, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Nearest-rank p50, p99 and max of `samplesMs`; undefined for an empty sample.
 *
 * @example
 * ```ts
 * summarizeLatency(Float64Array.of(1, 2, 3)); // { count: 3, p50Ms: 2, p99Ms: 3, maxMs: 3 }
 * ```
 */
export function summarizeLatency(samplesMs: Float64Array): LatencySummary | undefined {
  if (samplesMs.length === 0) return undefined;
  const sorted = samplesMs.slice().sort();
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1]!,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}

/** Messages per second over a window; undefined when the window is empty or unknown. */
export function ratePerSecond(
  messages: number,
  fromMs: number | undefined,
  toMs: number | undefined,
): number | undefined {
  if (fromMs === undefined || toMs === undefined || toMs <= fromMs) return undefined;
  return messages / ((toMs - fromMs) / 1000);
}

/** Summary of a sample with p95 instead of p99, for small samples (a few hundred queries). */
export interface SpreadSummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/**
 * Nearest-rank p50, p95 and max of `samplesMs`; undefined for an empty sample.
 *
 * @example
 * ```ts
 * summarizeSpread([1, 2, 3]); // { count: 3, p50Ms: 2, p95Ms: 3, maxMs: 3 }
 * ```
 */
export function summarizeSpread(samplesMs: ArrayLike<number>): SpreadSummary | undefined {
  if (samplesMs.length === 0) return undefined;
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted[sorted.length - 1]!,
  };
}
