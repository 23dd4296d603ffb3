/**
 * The search-index benchmark: a generated month of agent chat (N messages over several
 * sessions) rebuilt with `reindex`'s code path, compared with a plain FTS5 insert in the same
 * run; index size against log size; search latency in process and as whole `search` commands;
 * and how far the daemon's indexer trails a paced live stream.
 *
 * @module
 */
import { indexPath } from "../src/indexer/open_index.ts";
import { refreshIndex } from "../src/indexer/refresh.ts";
import { silentLogger } from "../src/logger.ts";
import { dataDirLayout } from "../src/store/data_dir.ts";
import { SqliteIndex } from "../src/store/sqlite_index.ts";
import { CleanupStack } from "./_async.ts";
import type { TargetCheck } from "./_format.ts";
import { checkIndexTargets } from "./_index_report.ts";
import { jsonCount, timeCommands } from "./_command_timing.ts";
import { mulberry32 } from "../tests/prng.ts";
import { MessageCorpus } from "./_corpus.ts";
import { type FtsBaseline, measureFtsBaseline } from "./_fts_baseline.ts";
import { type IndexLagResult, runIndexLagScenario } from "./_index_lag_scenario.ts";
import { type GeneratedLogs, generateLogs } from "./_log_generator.ts";
import { type BenchContext, type BenchContextOptions, createBenchContext } from "./_scenario.ts";
import {
  buildFilterQueries,
  buildTextQueries,
  type FilterQuery,
  type QueryTiming,
  type TextQuery,
  type TextQueryTiming,
  timeFilterQueries,
  timeTextQueries,
} from "./_search_timing.ts";
import { fileSize } from "../src/store/file_info.ts";

/**
 * Options for {@link runIndexBench}; {@link defaultIndexBenchOptions} fills in the sizes. The
 * stream's status polls pause 5 ms by default.
 */
export interface IndexBenchOptions extends Omit<BenchContextOptions, "ratePerSecond"> {
  /** Messages in the generated logs. */
  readonly messages: number;
  /** Full-text queries and filtered searches timed in process (each). */
  readonly queries: number;
  /** Runs of each whole command (`--version`, text search, filtered search). */
  readonly commandRuns: number;
  /** Live stream for the indexing-lag scenario: rate and length. */
  readonly streamRatePerSecond: number;
  readonly streamSeconds: number;
  /** A second, slow stream: how soon a trickle of messages becomes searchable. */
  readonly slowStreamRatePerSecond?: number;
  readonly slowStreamSeconds?: number;
  /** Sessions the logs are split into (all but the last archived); default 5. */
  readonly sessions?: number;
  /** Days the logs' `received_at` spans; default 30. */
  readonly spanDays?: number;
  /** Seed of the generated text and queries; default 42. */
  readonly seed?: number;
}

/** How the index was rebuilt and how big it is. */
export type ReindexResult = Awaited<ReturnType<typeof rebuild>>;
/** Wall time of whole `shearwater-persist` runs, each a fresh `deno run` process. */
export type CommandTiming = Awaited<ReturnType<typeof timeSearchCommands>>;

/** Everything one run measured. */
export interface IndexBenchResult {
  readonly seed: number;
  readonly logs: Omit<GeneratedLogs, "phrases"> & { readonly messagesPerSecond: number };
  readonly reindex: ReindexResult;
  readonly baseline: FtsBaseline;
  /** Reindex msgs/s over baseline rows/s. */
  readonly reindexToBaseline: number;
  readonly search: {
    readonly text: TextQueryTiming;
    readonly filtered: QueryTiming;
    /** A few of the full-text queries, to show what was asked. */
    readonly examples: readonly string[];
  };
  readonly commands: CommandTiming;
  readonly stream: StreamResult;
  readonly slowStream: StreamResult;
  readonly targets: readonly TargetCheck[];
}

/** How the daemon's indexer trailed one paced stream. */
export type StreamResult = IndexLagResult & {
  readonly ratePerSecond: number;
  readonly seconds: number;
};

const DAY_MS = 86_400_000;

/**
 * The default sizes: 1,000,000 messages, 200 queries, 20 command runs, a 10 s stream at
 * 20,000 msg/s and a 5 s one at 1,000 msg/s; `quick` uses 50,000 messages, 10 command runs
 * and 3 s streams.
 *
 * @example
 * ```ts
 * const result = await runIndexBench(defaultIndexBenchOptions(true));
 * ```
 */
export function defaultIndexBenchOptions(quick: boolean): IndexBenchOptions {
  return {
    messages: quick ? 50_000 : 1_000_000,
    queries: 200,
    commandRuns: quick ? 10 : 20,
    streamRatePerSecond: 20_000,
    streamSeconds: quick ? 3 : 10,
    slowStreamRatePerSecond: 1000,
    slowStreamSeconds: quick ? 3 : 5,
  };
}

/**
 * Runs the index benchmark and returns the figures with target checks. Every child process and
 * temp folder it made is gone when it returns or throws.
 *
 * @example
 * ```ts
 * const result = await runIndexBench({ ...defaultIndexBenchOptions(true), progress: console.error });
 * console.log(result.reindex.messagesPerSecond);
 * ```
 */
export async function runIndexBench(options: IndexBenchOptions): Promise<IndexBenchResult> {
  const cleanup = new CleanupStack();
  try {
    const context = await createBenchContext({
      pollIntervalMs: options.pollIntervalMs ?? 5,
      ratePerSecond: options.streamRatePerSecond,
      profileDir: options.profileDir,
      signal: options.signal,
      progress: options.progress,
    }, cleanup);
    const seed = options.seed ?? 42;
    const dataDir = `${context.tempDir}/logs`;
    const { phrases, ...logs } = await generate(context, dataDir, options, seed);
    const reindex = await rebuild(context, dataDir, logs);
    const baseline = await baselineInsert(context, options.messages, seed);
    const search = await timeSearches(context, dataDir, { ...logs, phrases }, options, seed);
    context.progress(`whole commands, ${options.commandRuns} runs of each…`);
    const commands = await timeSearchCommands(context, dataDir, {
      ...search,
      runs: options.commandRuns,
    });
    await Deno.remove(dataDir, { recursive: true });
    const stream = await streamWhileRecording(context, {
      name: "daemon-index",
      rate: options.streamRatePerSecond,
      seconds: options.streamSeconds,
      seed: seed + 1,
    });
    const slowStream = await streamWhileRecording(context, {
      name: "daemon-index-slow",
      rate: options.slowStreamRatePerSecond ?? 1000,
      seconds: options.slowStreamSeconds ?? 5,
      seed: seed + 3,
    });
    const result = {
      seed,
      logs,
      reindex,
      baseline,
      reindexToBaseline: reindex.messagesPerSecond / baseline.rowsPerSecond,
      search: search.timing,
      commands,
      stream,
      slowStream,
    };
    return { ...result, targets: checkIndexTargets(result) };
  } finally {
    await cleanup.run();
  }
}

async function generate(
  context: BenchContext,
  dataDir: string,
  options: IndexBenchOptions,
  seed: number,
): Promise<GeneratedLogs & { readonly messagesPerSecond: number }> {
  context.progress(`generating ${options.messages} messages (seed ${seed})…`);
  const logs = await generateLogs(dataDir, {
    messages: options.messages,
    sessions: options.sessions ?? 5,
    spanMs: (options.spanDays ?? 30) * DAY_MS,
    endMs: Date.now(),
    corpus: new MessageCorpus({ seed }),
    signal: context.signal,
    progress: context.progress,
  });
  return { ...logs, messagesPerSecond: logs.messages / logs.seconds };
}

async function rebuild(
  context: BenchContext,
  dataDir: string,
  logs: { readonly messages: number; readonly bytes: number },
) {
  context.progress("reindex (refreshIndex, fresh: true)…");
  const layout = dataDirLayout(dataDir);
  let reportedTenths = 0;
  const started = performance.now();
  const result = await refreshIndex(layout, {
    logger: silentLogger,
    fresh: true,
    onProgress: (update) => {
      // Called between committed batches: the index stays consistent if this throws.
      if (context.signal?.aborted) throw context.signal.reason;
      const tenths = Math.floor(10 * update.bytesDone / Math.max(1, update.bytesTotal));
      if (tenths <= reportedTenths) return;
      reportedTenths = tenths;
      const seconds = (performance.now() - started) / 1000;
      context.progress(
        `  reindexed ${tenths * 10}%, ${Math.round(update.records / seconds)} records/s`,
      );
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const path = indexPath(layout);
  const indexBytes = await sizeOf(path);
  const walBytes = (await sizeOf(`${path}-wal`)) + (await sizeOf(`${path}-shm`));
  return {
    records: result.records,
    seconds,
    /** Message records per second (session events not counted). */
    messagesPerSecond: logs.messages / seconds,
    indexBytes,
    /** index.db-wal (and -shm) left after the build; usually 0 (checkpointed on close). */
    walBytes,
    /** (index + wal) / log bytes. */
    sizeRatio: (indexBytes + walBytes) / logs.bytes,
  };
}

async function baselineInsert(
  context: BenchContext,
  messages: number,
  seed: number,
): Promise<FtsBaseline> {
  context.progress("baseline: plain FTS5 insert of the same contents…");
  const path = `${context.tempDir}/baseline.db`;
  try {
    return await measureFtsBaseline(path, new MessageCorpus({ seed }), messages, {
      signal: context.signal,
    });
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(path + suffix).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }
}

async function timeSearches(
  context: BenchContext,
  dataDir: string,
  logs: GeneratedLogs,
  options: IndexBenchOptions,
  seed: number,
) {
  context.progress(`in-process searches, ${options.queries} full-text and filtered…`);
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
  const index = SqliteIndex.open(indexPath(dataDirLayout(dataDir)), { readOnly: true });
  try {
    const text = await timeTextQueries(index, textQueries, context.signal);
    const filtered = await timeFilterQueries(index, filterQueries, context.signal);
    const examples = textQueries.slice(0, 5).map((query) => query.text);
    return { textQueries, filterQueries, timing: { text, filtered, examples } };
  } finally {
    index.close();
  }
}

/**
 * `--version` and both searches as whole commands. Without a daemon each search first takes the
 * index lock and checks the logs for anything new, as it would for a user.
 */
async function timeSearchCommands(
  context: BenchContext,
  dataDir: string,
  options: { textQueries: TextQuery[]; filterQueries: FilterQuery[]; runs: number },
) {
  const { textQueries, filterQueries, runs } = options;
  const common = ["--data-dir", dataDir, "--json"];
  const at = <T>(items: readonly T[], run: number) => items[Math.max(0, run) % items.length]!;
  const hits = { text: 0, filtered: 0 };
  const spreads = await timeCommands([
    { name: "version", args: () => ["--version"] },
    {
      name: "text",
      args: (run) => ["search", at(textQueries, run).text, ...common],
      okCodes: [0, 1], // 1: no results
      onOutput: (stdout) => hits.text += jsonCount(stdout, "search --json"),
    },
    {
      name: "filtered",
      args: (run) => {
        const filter = at(filterQueries, run);
        const since = new Date(filter.sinceMs).toISOString();
        const until = new Date(filter.untilMs).toISOString();
        return ["search", "--sender", filter.sender, "--since", since, "--until", until, ...common];
      },
      okCodes: [0, 1],
      onOutput: (stdout) => hits.filtered += jsonCount(stdout, "search --json"),
    },
  ], { runs, signal: context.signal });
  return {
    /** Runs of each kind. */
    runs,
    /** `main.ts --version`: the startup cost every command pays. */
    version: spreads.version,
    /** `search QUERY --json`, and `search --sender X --since … --until … --json`. */
    textSearch: spreads.text,
    filteredSearch: spreads.filtered,
    /** Mean results printed by the text and the filtered searches. */
    textMeanHits: runs ? hits.text / runs : 0,
    filteredMeanHits: runs ? hits.filtered / runs : 0,
  };
}

async function streamWhileRecording(
  context: BenchContext,
  options: { name: string; rate: number; seconds: number; seed: number },
): Promise<StreamResult> {
  const messages = Math.round(options.rate * options.seconds);
  context.progress(
    `daemon indexing while recording, ${messages} messages at ${options.rate} msg/s…`,
  );
  const result = await runIndexLagScenario({ ...context, ratePerSecond: options.rate }, {
    messages,
    corpus: new MessageCorpus({ seed: options.seed }),
    name: options.name,
  });
  return { ...result, ratePerSecond: options.rate, seconds: options.seconds };
}

async function sizeOf(path: string): Promise<number> {
  return (await fileSize(path)) ?? 0;
}
