/**
 * The shared-store search benchmark: a generated month of agent chat (1,000,000 messages by
 * default) indexed by SQLite (reindex) and shipped to a throwaway PostgreSQL server with the
 * shipper's own code (`LogShipper`, as `ship` does), then the same full-text and filtered
 * queries timed on both, in process: p50/p95 on PostgreSQL against SQLite in the same run, and
 * the rows/s into PostgreSQL against the SQLite reindex rate.
 *
 * @module
 */
import { indexPath } from "../src/indexer/open_index.ts";
import { refreshIndex } from "../src/indexer/refresh.ts";
import { silentLogger } from "../src/logger.ts";
import { openStore, type PgStore } from "../src/pgstore/connection.ts";
import { PgHistoryReader } from "../src/pgstore/history.ts";
import { LogShipper } from "../src/pgstore/log_shipper.ts";
import { migrate, monthOf } from "../src/pgstore/migrations.ts";
import { dataDirLayout } from "../src/store/data_dir.ts";
import { SqliteIndex } from "../src/store/sqlite_index.ts";
import { mulberry32 } from "../tests/prng.ts";
import { pgAvailable, pgSkipReason, startPgCluster } from "../tests/pgstore/_pg_cluster.ts";
import { CleanupStack } from "./_async.ts";
import { MessageCorpus } from "./_corpus.ts";
import { generateLogs } from "./_log_generator.ts";
import {
  buildFilterQueries,
  buildTextQueries,
  type QueryTiming,
  type TextQueryTiming,
  timeFilterQueries,
  timeTextQueries,
} from "./_search_timing.ts";

/** Options of {@link runPgSearchBench}. */
export interface PgSearchBenchOptions {
  /** Messages in the generated logs (default 1,000,000; quick 50,000). */
  readonly messages: number;
  /** Full-text queries and filtered searches (each; default 200). */
  readonly queries: number;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

/** One engine's timings of the query mix. */
export interface EngineTiming {
  readonly text: TextQueryTiming;
  readonly filtered: QueryTiming;
}

/** Everything one run measured. */
export interface PgSearchBenchResult {
  readonly messages: number;
  readonly records: number;
  readonly logBytes: number;
  /** SQLite reindex of the logs: records/s (the local baseline of ingest). */
  readonly sqliteRecordsPerSecond: number;
  /** Shipping the logs into PostgreSQL with the shipper's code: records/s. */
  readonly pgRecordsPerSecond: number;
  readonly pgTableBytes: number;
  readonly sqliteIndexBytes: number;
  readonly sqlite: EngineTiming;
  readonly postgres: EngineTiming;
  /** A few of the queries, to show what was asked. */
  readonly examples: readonly string[];
  readonly serverVersion: string;
}

const DAY_MS = 86_400_000;

/** Default sizes: 1,000,000 messages and 200 queries of each kind (quick: 50,000). */
export function defaultPgSearchBenchOptions(quick: boolean): PgSearchBenchOptions {
  return { messages: quick ? 50_000 : 1_000_000, queries: 200 };
}

/**
 * Runs the benchmark on a throwaway cluster (Debian's `postgresql` server binaries, as the
 * tests use); everything it started or wrote is gone when it returns or throws.
 */
export async function runPgSearchBench(
  options: PgSearchBenchOptions,
): Promise<PgSearchBenchResult> {
  if (!pgAvailable) throw new Error(`Cannot run the pgsearch bench: ${pgSkipReason}`);
  const progress = options.progress ?? (() => {});
  const seed = options.seed ?? 42;
  const cleanup = new CleanupStack();
  try {
    const root = await Deno.makeTempDir({ prefix: "shearwater_pgsearch_" });
    cleanup.defer("remove the temp dir", () => Deno.remove(root, { recursive: true }));
    const dataDir = `${root}/logs`;
    progress(`pgsearch: generating ${options.messages} messages (seed ${seed})…`);
    const endMs = Date.now();
    const logs = await generateLogs(dataDir, {
      messages: options.messages,
      sessions: 5,
      spanMs: 30 * DAY_MS,
      endMs,
      corpus: new MessageCorpus({ seed }),
      signal: options.signal,
      progress,
    });
    const layout = dataDirLayout(dataDir);
    progress("pgsearch: SQLite reindex…");
    let started = performance.now();
    const reindexed = await refreshIndex(layout, { logger: silentLogger, fresh: true });
    const sqliteSeconds = (performance.now() - started) / 1000;

    progress("pgsearch: starting a throwaway PostgreSQL server…");
    const cluster = await startPgCluster();
    cleanup.defer("stop the PostgreSQL server", () => cluster.stop());
    const store = await openStore(cluster.url, { maxConnections: 1 });
    cleanup.defer("close the store", () => store.close());
    const months = [];
    for (let ms = endMs - 31 * DAY_MS; ms <= endMs; ms += DAY_MS) {
      months.push(monthOf(new Date(ms)));
    }
    await migrate(store, { extraMonths: [...new Set(months)] });
    progress("pgsearch: shipping the logs into PostgreSQL (LogShipper, as `ship` does)…");
    started = performance.now();
    let reported = 0;
    const shipper = new LogShipper(layout, "bench-origin", {
      onProgress: (update) => {
        const tenths = Math.floor(10 * update.bytesDone / Math.max(1, update.bytesTotal));
        if (tenths <= reported) return;
        reported = tenths;
        const seconds = (performance.now() - started) / 1000;
        progress(`  shipped ${tenths * 10}%, ${Math.round(update.records / seconds)} records/s`);
      },
      shouldStop: () => options.signal?.aborted ?? false,
    });
    const shipped = await shipper.pass(store);
    const pgSeconds = (performance.now() - started) / 1000;
    options.signal?.throwIfAborted();
    // What autovacuum would have done by the time anyone searches a month of history.
    await store.sql`VACUUM ANALYZE shearwater.records`;

    const random = mulberry32(seed + 2).next;
    const textQueries = buildTextQueries({
      vocabulary: new MessageCorpus({ seed }).vocabulary,
      phrases: logs.phrases,
      count: options.queries,
      random,
    });
    const filterQueries = buildFilterQueries({
      firstMs: logs.firstReceivedMs,
      lastMs: logs.lastReceivedMs,
      count: options.queries,
      random,
    });
    progress(`pgsearch: ${options.queries} full-text and filtered queries on each engine…`);
    const index = SqliteIndex.open(indexPath(layout), { readOnly: true });
    let sqlite: EngineTiming;
    try {
      await timeTextQueries(index, textQueries.slice(0, 20), options.signal); // warm-up
      sqlite = {
        text: await timeTextQueries(index, textQueries, options.signal),
        filtered: await timeFilterQueries(index, filterQueries, options.signal),
      };
    } finally {
      index.close();
    }
    const reader = readerOf(store);
    await timeTextQueries(reader, textQueries.slice(0, 20), options.signal); // warm-up
    const postgres = {
      text: await timeTextQueries(reader, textQueries, options.signal),
      filtered: await timeFilterQueries(reader, filterQueries, options.signal),
    };
    const [size] = await store.sql<{ bytes: string; version: string }[]>`
      SELECT sum(pg_total_relation_size(c.oid))::text AS bytes, version() AS version
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'shearwater.records'::regclass`;
    return {
      messages: logs.messages,
      records: shipped.sent,
      logBytes: logs.bytes,
      sqliteRecordsPerSecond: reindexed.records / sqliteSeconds,
      pgRecordsPerSecond: shipped.sent / pgSeconds,
      pgTableBytes: Number(size?.bytes ?? 0),
      sqliteIndexBytes: (await Deno.stat(indexPath(layout))).size,
      sqlite,
      postgres,
      examples: textQueries.slice(0, 5).map((query) => query.text),
      serverVersion: (size?.version ?? "").split(" ").slice(0, 2).join(" "),
    };
  } finally {
    await cleanup.run();
  }
}

/** The reading commands' own PostgreSQL reader (query translation, line decoding included). */
function readerOf(store: PgStore): PgHistoryReader {
  return new PgHistoryReader(
    async (text, params = []) =>
      await store.sql.unsafe(text, params as never[]) as unknown as Record<string, unknown>[],
    () => Promise.resolve(),
  );
}

/** The report: rows/s in, then p50/p95 of each query kind on both engines with the ratio. */
export function formatPgSearchReport(result: PgSearchBenchResult): string {
  const ms = (value: number | undefined) => value === undefined ? "-" : value.toFixed(2);
  const ratio = (pg: number | undefined, sqlite: number | undefined) =>
    pg === undefined || sqlite === undefined || sqlite === 0 ? "-" : `${(pg / sqlite).toFixed(1)}x`;
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
  const lines = [
    `pgsearch — ${result.messages.toLocaleString("en-US")} messages (${
      mib(result.logBytes)
    } of logs), ${result.serverVersion}, same queries on both engines, in process`,
    "",
    `ingest      SQLite reindex ${Math.round(result.sqliteRecordsPerSecond)} records/s; ` +
    `PostgreSQL (LogShipper, 1000-row INSERT … ON CONFLICT) ${
      Math.round(result.pgRecordsPerSecond)
    } records/s (${ratio(result.pgRecordsPerSecond, result.sqliteRecordsPerSecond)} of SQLite)`,
    `size        SQLite index ${mib(result.sqliteIndexBytes)}; PostgreSQL records (line, ` +
    `tsvector, indexes) ${mib(result.pgTableBytes)}`,
    "",
    "query (top 20)        SQLite p50   p95   PostgreSQL p50     p95   p95 ratio  mean hits",
  ];
  const add = (label: string, sqlite: QueryTiming, pg: QueryTiming) => {
    lines.push(
      `${label.padEnd(22)}${ms(sqlite.latency?.p50Ms).padStart(10)}${
        ms(sqlite.latency?.p95Ms).padStart(6)
      }${ms(pg.latency?.p50Ms).padStart(17)}${ms(pg.latency?.p95Ms).padStart(8)}${
        ratio(pg.latency?.p95Ms, sqlite.latency?.p95Ms).padStart(12)
      }${pg.meanHits.toFixed(1).padStart(11)}`,
    );
  };
  add("full-text, all", result.sqlite.text, result.postgres.text);
  for (
    const kind of Object.keys(result.sqlite.text.byKind) as (keyof TextQueryTiming["byKind"])[]
  ) {
    add(`  ${kind}`, result.sqlite.text.byKind[kind], result.postgres.text.byKind[kind]);
  }
  add("sender + one day", result.sqlite.filtered, result.postgres.filtered);
  lines.push("", `examples: ${result.examples.join("  ")}`);
  return lines.join("\n");
}
