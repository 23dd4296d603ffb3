/**
 * Benchmarks of shearwater-persist. Run with `deno task bench [-- options]`; `--help` lists them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatCheckpointReport } from "./_checkpoint_report.ts";
import { formatIndexReport } from "./_index_report.ts";
import { formatRecorderReport } from "./_report.ts";
import { runCheckpointBench } from "./checkpoint_bench.ts";
import { defaultIndexBenchOptions, type IndexBenchOptions, runIndexBench } from "./index_bench.ts";
import {
  defaultLatencyCases,
  defaultRecorderCases,
  type RecorderBenchCase,
  runRecorderBench,
} from "./recorder_bench.ts";
import { formatPublisherReport, runPublisherBench } from "./publisher_bench.ts";
import { formatReplayReport, runReplayBench } from "./replay_bench.ts";
import { formatStartupReport, runStartupBench } from "./startup_bench.ts";
import { formatShipReport, runShipBench } from "./ship_bench.ts";
import {
  defaultPgSearchBenchOptions,
  formatPgSearchReport,
  runPgSearchBench,
} from "./pgsearch_bench.ts";

const HELP = `Usage: deno task bench [-- options]

Runs eight benchmarks, one after the other:

recorder    N messages of 200 B and 4 KB through the bundled broker to (a) a bare ZeroMQ
            subscriber, (b) the daemon (group commit), (c) the daemon with --sync always;
            then publish → durable per message at 1,000 and 5,000 msgs/s (5 s each)
            against one append + fdatasync.
index       a generated month of agent chat (1,000,000 messages of about 300 B): reindex
            rate against a plain FTS5 insert, index size, search latency in process and as
            whole commands, and how far the daemon's indexer trails a 20,000 msg/s and a
            1,000 msg/s stream (durable → searchable p50/p99/max).
checkpoint  a checkpoint of 1k / 10k / 100k-message sessions against a durable copy of the
            log, 100 checkpoints of a growing session, checkpoint list of 1,000 checkpoints.
startup     whole commands (--version, status without a daemon, search, recent, checkpoint
            list, hook claude session-start) against an empty deno run program.
replay      replay --burst of N messages against a bare ZeroMQ publisher sending the same
            frames (ratio at a subscriber), and the timing error of replay --speed 1 and
            --speed 4 over a recorded 5-second session (p50/p99/max deviation).
publisher   the real TypeScript client (src/client/) as publisher: the recorder's rate
            with the envelope and accounting against without (same run, 4 × 50,000 flat
            out), and the refill after a 10-second outage (kill -9) at 1,000 msg/s.
pgsearch    the index bench's month of chat (1,000,000 messages) shipped into a throwaway
            PostgreSQL (LogShipper, as "ship" does; needs Debian's postgresql) against the
            SQLite reindex rate; then the same 200 full-text and 200 filtered queries on
            both, top 20 in process: p50/p95 and the PostgreSQL/SQLite ratio.
ship        the daemon with --store on a throwaway PostgreSQL cluster: shipping rate against
            the recording rate of the same burst (50,000 messages), the lag at 1,000 msg/s
            for 10 s, and the catch-up after kill -9 of the server (50,000 recorded meanwhile).
            Skipped with a reason when the PostgreSQL server binaries are missing.

Options:
  --only NAME          run only one benchmark: recorder, index, checkpoint, startup, replay,
                       publisher, ship or pgsearch
  --quick              small sizes, each done in about a minute (recorder: 5000 / 2000 / 1000
                       messages; index: 50000 messages, 10 command runs, 3 s streams;
                       checkpoint: 1k / 5k / 10k, 20 growing, 200 listed; startup: 10 runs;
                       replay: 20000 burst messages instead of 100000; publisher: 10000
                       per burst, a 3-second outage)
  --json               print machine-readable results on stdout instead of the report: one
                       object per benchmark ({"bench": "recorder" | "index" | ..., ...}), an
                       array of them when several run
  --profile DIR        write V8 CPU profiles of each daemon child under DIR (the reindex runs
                       in the bench process: profile it with "deno run --cpu-prof bench/main.ts")

Recorder options:
  --small N            messages for (a) and (b) at 200 B (default 100000)
  --large N            messages for (a) and (b) at 4 KB (default 20000)
  --always N           messages for (c) at each size (default 5000)
  --rate N             publish at most N messages/s (default: as fast as ZeroMQ takes them)
  --poll-ms MS         pause between status polls of the daemon (default 1; index: 5)

Index options:
  --index-messages N   messages in the generated logs (default 1000000; pgsearch too)
  --stream-rate N      messages/s of the live stream (default 20000)
  --stream-seconds S   length of the live stream (default 10)

Startup options:
  --startup-runs N     timed runs of each command (default 20)

  -h, --help           show this help

Progress goes to stderr. The machine is usually shared: compare ratios within a run rather than
absolute figures across runs. Exit codes: 0 done (targets may still MISS), 1 failure, 2 bad
arguments.
`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  only: { type: "string" },
  quick: { type: "boolean" },
  json: { type: "boolean" },
  small: { type: "string" },
  large: { type: "string" },
  always: { type: "string" },
  rate: { type: "string" },
  "poll-ms": { type: "string" },
  profile: { type: "string" },
  "index-messages": { type: "string" },
  "stream-rate": { type: "string" },
  "stream-seconds": { type: "string" },
  "startup-runs": { type: "string" },
} as const;

const BENCHES = [
  "recorder",
  "index",
  "checkpoint",
  "startup",
  "replay",
  "publisher",
  "ship",
  "pgsearch",
] as const;
type BenchName = typeof BENCHES[number];

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  let values: Values;
  try {
    values = parseArgs({ args, options: OPTIONS, strict: true }).values;
  } catch (error) {
    return usageFailure((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let settings: Settings;
  try {
    settings = {
      benches: selectedBenches(values.only),
      cases: benchCases(values),
      pollIntervalMs: wholeNumber("poll-ms", values["poll-ms"]),
      ratePerSecond: wholeNumber("rate", values.rate),
      index: indexOptions(values),
      startupRuns: wholeNumber("startup-runs", values["startup-runs"]) ?? (values.quick ? 10 : 20),
    };
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error.message);
    throw error;
  }
  return await run(values, settings);
}

interface Settings {
  readonly benches: readonly BenchName[];
  readonly cases: RecorderBenchCase[];
  readonly pollIntervalMs: number | undefined;
  readonly ratePerSecond: number | undefined;
  readonly index: IndexBenchOptions;
  readonly startupRuns: number;
}

async function run(values: Values, settings: Settings): Promise<number> {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort(new Error("Cannot finish the bench: interrupted"));
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, onInterrupt);
  const common = {
    profileDir: values.profile,
    signal: abort.signal,
    progress: (line: string) => console.error(line),
  };
  const results: Record<string, unknown>[] = [];
  let failed = false;
  try {
    for (const bench of settings.benches) {
      if (abort.signal.aborted) break;
      try {
        const { result, report } = await runBench(bench, values.quick ?? false, settings, common);
        if (values.json) results.push({ bench, quick: values.quick ?? false, ...result });
        else console.log(report + "\n");
      } catch (error) {
        failed = true;
        // An interruption is expected: its message is enough. Anything else shows its stack.
        if (abort.signal.aborted) console.error(`error: ${(error as Error).message}`);
        else console.error(`error: the ${bench} bench failed:`, error);
      }
    }
    if (values.json && results.length > 0) {
      console.log(JSON.stringify(
        results.length === 1 ? results[0] : results,
        (_key, value) => value ?? null, // keep absent figures visible as null
        2,
      ));
    }
    return failed ? 1 : 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onInterrupt);
  }
}

type Common = {
  profileDir: string | undefined;
  signal: AbortSignal;
  progress: (line: string) => void;
};

async function runBench(bench: BenchName, quick: boolean, settings: Settings, common: Common) {
  switch (bench) {
    case "recorder": {
      const result = await runRecorderBench({
        cases: settings.cases,
        latencyCases: defaultLatencyCases(quick),
        pollIntervalMs: settings.pollIntervalMs,
        ratePerSecond: settings.ratePerSecond,
        ...common,
      });
      return { result, report: formatRecorderReport(result) };
    }
    case "index": {
      const result = await runIndexBench({
        ...settings.index,
        pollIntervalMs: settings.pollIntervalMs,
        ...common,
      });
      return { result, report: formatIndexReport(result) };
    }
    case "checkpoint": {
      const result = await runCheckpointBench({ quick, ...common });
      return { result, report: formatCheckpointReport(result) };
    }
    case "startup": {
      const result = await runStartupBench({ runs: settings.startupRuns, ...common });
      return { result, report: formatStartupReport(result) };
    }
    case "replay": {
      const result = await runReplayBench({ quick, ...common });
      return { result, report: formatReplayReport(result) };
    }
    case "publisher": {
      const result = await runPublisherBench({ quick, ...common });
      return { result, report: formatPublisherReport(result) };
    }
    case "ship": {
      const result = await runShipBench({ quick, ...common });
      return { result, report: formatShipReport(result) };
    }
    case "pgsearch": {
      const result = await runPgSearchBench({
        ...defaultPgSearchBenchOptions(quick),
        messages: settings.index.messages, // --index-messages, same defaults as index
        signal: common.signal,
        progress: common.progress,
      });
      return { result, report: formatPgSearchReport(result) };
    }
  }
}

function selectedBenches(only: string | undefined): readonly BenchName[] {
  if (only === undefined) return BENCHES;
  const bench = BENCHES.find((name) => name === only);
  if (!bench) {
    throw new UsageError(`Invalid --only "${only}": expected ${BENCHES.join(" or ")}`);
  }
  return [bench];
}

function indexOptions(values: Values): IndexBenchOptions {
  const defaults = defaultIndexBenchOptions(values.quick ?? false);
  return {
    ...defaults,
    messages: wholeNumber("index-messages", values["index-messages"]) ?? defaults.messages,
    streamRatePerSecond: wholeNumber("stream-rate", values["stream-rate"]) ??
      defaults.streamRatePerSecond,
    streamSeconds: wholeNumber("stream-seconds", values["stream-seconds"]) ??
      defaults.streamSeconds,
  };
}

function benchCases(values: Values): RecorderBenchCase[] {
  const [small, large] = defaultRecorderCases(values.quick ?? false);
  const always = wholeNumber("always", values.always);
  const adjust = (base: RecorderBenchCase, flag: "small" | "large") => ({
    ...base,
    messages: wholeNumber(flag, values[flag]) ?? base.messages,
    alwaysMessages: always ?? base.alwaysMessages,
  });
  return [adjust(small!, "small"), adjust(large!, "large")];
}

function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new UsageError(`Invalid --${name} "${value}": expected a whole number above 0`);
  }
  return parsed;
}

function usageFailure(message: string): number {
  console.error(`error: ${message} (see "deno task bench -- --help")`);
  return 2;
}

if (import.meta.main) {
  // `deno task bench -- --quick` passes the "--" through.
  const args = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
  Deno.exit(await main(args));
}
