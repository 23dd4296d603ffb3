import { BASELINE_ROWS_PER_TRANSACTION } from "./_fts_baseline.ts";
import { QUERY_KINDS, type QueryKind, type QueryTiming } from "./_search_timing.ts";
import type { SpreadSummary } from "./_stats.ts";
import type { IndexBenchResult } from "./index_bench.ts";

const KIND_LABELS: Record<QueryKind, string> = {
  common: "common word (rank 1-20)",
  medium: "medium word (rank 100-600)",
  rare: "rare word (last 40% of ranks)",
  and: "two medium words, AND",
  phrase: '"two-word phrase"',
};

/**
 * The human-readable report of the index benchmark: what was built, how fast, how big, how
 * fast searches answer, how far indexing trails recording, and the targets.
 *
 * @example
 * ```ts
 * console.log(formatIndexReport(await runIndexBench(defaultIndexBenchOptions(true))));
 * ```
 */
export function formatIndexReport(result: IndexBenchResult): string {
  return [
    ...buildLines(result),
    "",
    ...searchLines(result),
    "",
    ...commandLines(result),
    "",
    ...streamLines(result),
    "",
    "targets:",
    ...result.targets.map((t) =>
      `  ${t.pass ? "PASS" : "MISS"}  ${t.target.padEnd(44)} ${t.value}`
    ),
  ].join("\n");
}

function buildLines(result: IndexBenchResult): string[] {
  const { logs, reindex, baseline } = result;
  return [
    `index bench: ${count(logs.messages)} messages (seed ${result.seed}) in ${logs.files} log ` +
    `files over ${days(logs.lastReceivedMs - logs.firstReceivedMs)} days, ` +
    `${count(logs.records - logs.messages)} session events`,
    "",
    `logs        ${megabytes(logs.bytes)} written in ${logs.seconds.toFixed(1)} s ` +
    `(${count(logs.messagesPerSecond)} msgs/s, informational)`,
    `reindex     ${count(reindex.records)} records in ${reindex.seconds.toFixed(1)} s: ` +
    `${count(reindex.messagesPerSecond)} msgs/s (refreshIndex fresh, as "reindex" runs it)`,
    `baseline    ${count(baseline.rowsPerSecond)} rows/s: plain FTS5 insert of the same texts ` +
    `into a fresh`,
    `            node:sqlite DB, "${baseline.schema}",`,
    `            ${BASELINE_ROWS_PER_TRANSACTION} rows/transaction, WAL, synchronous=NORMAL ` +
    `(only the transactions timed)`,
    `            reindex / baseline = ${result.reindexToBaseline.toFixed(2)}`,
    `index size  index.db ${megabytes(reindex.indexBytes)} + wal/shm ` +
    `${megabytes(reindex.walBytes)} = ${reindex.sizeRatio.toFixed(2)} × log size`,
  ];
}

function searchLines(result: IndexBenchResult): string[] {
  const { text, filtered, examples } = result.search;
  const header = "search in process (top 20, newest first)";
  return [
    `${header.padEnd(40)} ${"queries".padStart(7)} ${"p50 ms".padStart(7)} ` +
    `${"p95 ms".padStart(7)} ${"max ms".padStart(7)} ${"hits".padStart(5)} ` +
    `${"empty".padStart(5)}`,
    queryRow("  full-text, all kinds", text),
    ...QUERY_KINDS.map((kind) => queryRow(`    ${KIND_LABELS[kind]}`, text.byKind[kind])),
    queryRow("  sender + 1-day window, no text", filtered),
    `  e.g. ${examples.join(" · ")}`,
    "  hits = mean results returned (at most 20)",
  ];
}

function queryRow(label: string, timing: QueryTiming): string {
  const latency = timing.latency;
  return `${label.padEnd(40)} ${String(latency?.count ?? 0).padStart(7)} ` +
    `${fixed(latency?.p50Ms, 2).padStart(7)} ${fixed(latency?.p95Ms, 2).padStart(7)} ` +
    `${fixed(latency?.maxMs, 2).padStart(7)} ${timing.meanHits.toFixed(1).padStart(5)} ` +
    `${String(timing.empty).padStart(5)}`;
}

function commandLines(result: IndexBenchResult): string[] {
  const c = result.commands;
  const row = (label: string, summary: SpreadSummary | undefined, hits?: number) =>
    `${label.padEnd(44)} ${fixed(summary?.p50Ms, 0).padStart(7)} ` +
    `${fixed(summary?.p95Ms, 0).padStart(7)} ${fixed(summary?.maxMs, 0).padStart(7)}` +
    (hits === undefined ? "" : ` ${hits.toFixed(1).padStart(5)}`);
  const extra = c.textSearch && c.version ? c.textSearch.p50Ms - c.version.p50Ms : undefined;
  return [
    `${`whole commands, wall time of ${c.runs} runs each`.padEnd(44)} ${"p50 ms".padStart(7)} ` +
    `${"p95 ms".padStart(7)} ${"max ms".padStart(7)} ${"hits".padStart(5)}`,
    row("  main.ts --version (startup baseline)", c.version),
    row("  search QUERY --json", c.textSearch, c.textMeanHits),
    row("  search --sender --since --until --json", c.filteredSearch, c.filteredMeanHits),
    `  search p50 − startup p50 = ${fixed(extra, 0)} ms (index lock, catch-up check, query, ` +
    "reading 20 log lines)",
  ];
}

function streamLines(result: IndexBenchResult): string[] {
  const s = result.stream;
  const row = (label: string, summary: SpreadSummary | undefined) =>
    `  ${label.padEnd(38)} ${seconds(summary?.p50Ms)} ${seconds(summary?.p95Ms)} ` +
    `${seconds(summary?.maxMs)}`;
  const polling = s.polling;
  return [
    `daemon indexing while recording: ${count(s.published)} chat messages at ` +
    `${count(s.ratePerSecond)} msg/s for ${s.seconds} s (published at ` +
    `${count(s.publishRate)}/s)`,
    `  recorded ${count(s.recorded)}, lost ${s.lost}, duplicates ${s.duplicates}; ` +
    `recorded at ${count(s.receiveRate)} msgs/s (received_at)`,
    `  indexed end-to-end ${count(s.indexRate)} msgs/s (publish start → last one in ` +
    "status.index.last_seq);",
    `  indexer wrote ${count(s.searchableRate)} rows/s to index.db (first → last streamed ` +
    "message visible to a reader)",
    `  index.last_seq took ${s.indexUpdates} distinct values during the stream; largest ` +
    `backlog ${count(s.maxLagRecords)} records (durable_seq − index.last_seq)`,
    `  ${"per message".padEnd(38)} ${"p50 s".padStart(7)} ${"p95 s".padStart(7)} ` +
    `${"max s".padStart(7)}`,
    row("durable → indexed (status)", s.durableToIndexed),
    row("durable → searchable (index.db reader)", s.durableToSearchable),
    row("publish → durable", s.publishToDurable),
    row("publish → indexed (status)", s.publishToIndexed),
    s.notIndexed ? `  ${s.notIndexed} messages were never seen indexed` : "",
    polling
      ? `  status polls: ${polling.polls} answers, round trip mean ` +
        `${polling.meanRoundTripMs.toFixed(1)} ms, max ${polling.maxRoundTripMs.toFixed(1)} ms` +
        (polling.failures ? `, ${polling.failures} failed` : "")
      : "",
    s.cleanStop ? "" : "  note: the daemon did not stop cleanly or left torn lines",
  ].filter((line) => line !== "");
}

function count(value: number | undefined): string {
  return value === undefined ? "-" : Math.round(value).toLocaleString("en-US");
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? "-" : value.toFixed(digits);
}

function seconds(ms: number | undefined): string {
  return (ms === undefined ? "-" : (ms / 1000).toFixed(3)).padStart(7);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function days(ms: number): string {
  return (ms / 86_400_000).toFixed(0);
}
