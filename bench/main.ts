/**
 * Benchmarks of shearwater-persist. Run with `deno task bench [-- options]`; `--help` lists them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatRecorderReport } from "./_report.ts";
import {
  defaultRecorderCases,
  type RecorderBenchCase,
  runRecorderBench,
} from "./recorder_bench.ts";

const HELP = `Usage: deno task bench [-- options]

Runs the recorder benchmark: N messages of 200 B and 4 KB through the bundled broker to
(a) a bare ZeroMQ subscriber, (b) the daemon (group commit), (c) the daemon with --sync always.

Options:
  --quick          short bursts (5000 / 2000 / 1000 messages), done in seconds
  --json           print a machine-readable summary on stdout instead of the table
  --small N        messages for (a) and (b) at 200 B (default 100000)
  --large N        messages for (a) and (b) at 4 KB (default 20000)
  --always N       messages for (c) at each size (default 5000)
  --rate N         publish at most N messages/s (default: as fast as ZeroMQ takes them)
  --poll-ms MS     pause between status polls of the daemon (default 1)
  --profile DIR    write V8 CPU profiles of each daemon child under DIR
  -h, --help       show this help

Progress goes to stderr. Exit codes: 0 done (targets may still MISS), 1 failure, 2 bad arguments.
`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  quick: { type: "boolean" },
  json: { type: "boolean" },
  small: { type: "string" },
  large: { type: "string" },
  always: { type: "string" },
  rate: { type: "string" },
  "poll-ms": { type: "string" },
  profile: { type: "string" },
} as const;

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
  let cases: RecorderBenchCase[];
  let pollIntervalMs: number | undefined;
  let ratePerSecond: number | undefined;
  try {
    cases = benchCases(values);
    pollIntervalMs = wholeNumber("poll-ms", values["poll-ms"]);
    ratePerSecond = wholeNumber("rate", values.rate);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(error.message);
    throw error;
  }
  return await run(values, { cases, pollIntervalMs, ratePerSecond });
}

interface Settings {
  readonly cases: RecorderBenchCase[];
  readonly pollIntervalMs: number | undefined;
  readonly ratePerSecond: number | undefined;
}

async function run(values: Values, settings: Settings): Promise<number> {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort(new Error("Cannot finish the bench: interrupted"));
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, onInterrupt);
  try {
    const result = await runRecorderBench({
      ...settings,
      profileDir: values.profile,
      signal: abort.signal,
      progress: (line) => console.error(line),
    });
    console.log(
      values.json
        ? JSON.stringify(
          { bench: "recorder", quick: values.quick ?? false, ...result },
          (_key, value) => value ?? null, // keep absent figures visible as null
          2,
        )
        : formatRecorderReport(result),
    );
    return 0;
  } catch (error) {
    // An interruption is expected: its message is enough. Anything else shows its stack.
    console.error(abort.signal.aborted ? `error: ${(error as Error).message}` : error);
    return 1;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onInterrupt);
  }
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
