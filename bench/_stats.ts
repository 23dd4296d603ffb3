/** Nearest-rank summary of a sample of timings, in milliseconds. */
export interface Spread {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Nearest-rank p50, p95, p99 and max of `samplesMs`; undefined for an empty sample.
 *
 * @example
 * ```ts
 * spreadOf([1, 2, 3]); // { count: 3, p50Ms: 2, p95Ms: 3, p99Ms: 3, maxMs: 3 }
 * ```
 */
export function spreadOf(samplesMs: ArrayLike<number>): Spread | undefined {
  if (samplesMs.length === 0) return undefined;
  const sorted = Float64Array.from(samplesMs).sort();
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    count: sorted.length,
    p50Ms: at(50),
    p95Ms: at(95),
    p99Ms: at(99),
    maxMs: sorted[sorted.length - 1]!,
  };
}

/** The nearest-rank median of `samplesMs`; NaN for an empty sample. */
export function median(samplesMs: ArrayLike<number>): number {
  return spreadOf(samplesMs)?.p50Ms ?? Number.NaN;
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

/** What `work` returned, and the milliseconds it took (wall time). */
export async function timed<T>(work: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}
