import type { SpreadSummary } from "./_stats.ts";
import type { TargetCheck } from "./_targets.ts";
import type { IndexBenchResult } from "./index_bench.ts";

/** The index's goals; a miss is reported, not thrown. */
export const INDEX_TARGETS = {
  /** (index.db + wal) / log bytes. */
  maxSizeRatio: 1,
  /** Full rebuild, message records per second. */
  minReindexRate: 60_000,
  /** In-process search, p95. */
  maxQueryP95Ms: 5,
  /** Whole `search` command, p95 wall time. */
  maxCommandP95Ms: 300,
  /** Durable → indexed, every message, while recording the stream. */
  maxIndexLagMs: 1000,
} as const;

/** Checks the figures of one run against {@link INDEX_TARGETS}. */
export function checkIndexTargets(result: Omit<IndexBenchResult, "targets">): TargetCheck[] {
  const t = INDEX_TARGETS;
  const { stream } = result;
  const lagMax = stream.durableToIndexed?.maxMs;
  return [
    {
      target: `index size / log size ≤ ${t.maxSizeRatio}`,
      value: result.reindex.sizeRatio.toFixed(2),
      pass: result.reindex.sizeRatio <= t.maxSizeRatio,
    },
    {
      target: `reindex ≥ ${t.minReindexRate} msgs/s`,
      value: `${Math.round(result.reindex.messagesPerSecond)} msgs/s`,
      pass: result.reindex.messagesPerSecond >= t.minReindexRate,
    },
    p95Check(`FTS top-20 p95 ≤ ${t.maxQueryP95Ms} ms (in process)`, result.search.text.latency, {
      limitMs: t.maxQueryP95Ms,
      digits: 2,
    }),
    p95Check(
      `filtered search p95 ≤ ${t.maxQueryP95Ms} ms (in process)`,
      result.search.filtered.latency,
      { limitMs: t.maxQueryP95Ms, digits: 2 },
    ),
    p95Check(`search command p95 ≤ ${t.maxCommandP95Ms} ms`, result.commands.textSearch, {
      limitMs: t.maxCommandP95Ms,
      digits: 0,
    }),
    p95Check(
      `filtered search command p95 ≤ ${t.maxCommandP95Ms} ms`,
      result.commands.filteredSearch,
      { limitMs: t.maxCommandP95Ms, digits: 0 },
    ),
    {
      target: `indexed ≤ ${t.maxIndexLagMs / 1000} s after durable at ${stream.ratePerSecond}/s`,
      value: lagMax === undefined ? "n/a" : `max ${(lagMax / 1000).toFixed(2)} s` +
        (stream.notIndexed ? `, ${stream.notIndexed} never` : ""),
      pass: lagMax !== undefined && lagMax <= t.maxIndexLagMs && stream.notIndexed === 0,
    },
    {
      target: `zero loss at ${stream.ratePerSecond} msg/s`,
      value: `${stream.lost} lost, ${stream.duplicates} dup`,
      pass: stream.lost === 0 && stream.duplicates === 0,
    },
  ];
}

function p95Check(
  target: string,
  summary: SpreadSummary | undefined,
  limit: { limitMs: number; digits: number },
): TargetCheck {
  const p95 = summary?.p95Ms;
  return {
    target,
    value: p95 === undefined ? "n/a" : `${p95.toFixed(limit.digits)} ms`,
    pass: p95 !== undefined && p95 <= limit.limitMs,
  };
}
