import { RUN_PERMISSIONS } from "../src/cli/self_command.ts";
import type { FilterQuery, TextQuery } from "./_search_timing.ts";
import { type SpreadSummary, summarizeSpread } from "./_stats.ts";

/** Wall time of whole `shearwater-persist` runs, each a fresh `deno run` process. */
export interface CommandTiming {
  /** Runs of each kind. */
  readonly runs: number;
  /** `main.ts --version`: the startup cost every command pays. */
  readonly version: SpreadSummary | undefined;
  /** `search QUERY --json`. */
  readonly textSearch: SpreadSummary | undefined;
  /** `search --sender X --since … --until … --json`. */
  readonly filteredSearch: SpreadSummary | undefined;
  /** Mean results printed by the text and the filtered searches. */
  readonly textMeanHits: number;
  readonly filteredMeanHits: number;
}

/** Options for {@link timeCommands}. */
export interface CommandTimingOptions {
  readonly repoRoot: string;
  readonly dataDir: string;
  readonly textQueries: readonly TextQuery[];
  readonly filterQueries: readonly FilterQuery[];
  readonly runs: number;
  readonly signal?: AbortSignal;
}

/**
 * Times `runs` of each command, interleaved (version, text search, filtered search, …) so that
 * noise from other work on the machine spreads evenly. One untimed `--version` run first makes
 * sure the module graph is cached. Without a daemon each search first takes the index lock and
 * checks the logs for anything new, as it would for a user.
 *
 * @example
 * ```ts
 * const timing = await timeCommands({ repoRoot, dataDir, textQueries, filterQueries, runs: 20 });
 * ```
 */
export async function timeCommands(options: CommandTimingOptions): Promise<CommandTiming> {
  const run = (args: string[]) => runCommand(options, args);
  await run(["--version"]);
  const version: number[] = [];
  const text: number[] = [];
  const filtered: number[] = [];
  let textHits = 0;
  let filteredHits = 0;
  const common = ["--data-dir", options.dataDir, "--json"];
  for (let i = 0; i < options.runs; i++) {
    version.push((await run(["--version"])).ms);
    const query = options.textQueries[i % options.textQueries.length]!;
    const textRun = await run(["search", query.text, ...common]);
    text.push(textRun.ms);
    textHits += hitCount(textRun.stdout);
    const filter = options.filterQueries[i % options.filterQueries.length]!;
    const filterRun = await run([
      "search",
      "--sender",
      filter.sender,
      "--since",
      new Date(filter.sinceMs).toISOString(),
      "--until",
      new Date(filter.untilMs).toISOString(),
      ...common,
    ]);
    filtered.push(filterRun.ms);
    filteredHits += hitCount(filterRun.stdout);
  }
  return {
    runs: options.runs,
    version: summarizeSpread(version),
    textSearch: summarizeSpread(text),
    filteredSearch: summarizeSpread(filtered),
    textMeanHits: options.runs ? textHits / options.runs : 0,
    filteredMeanHits: options.runs ? filteredHits / options.runs : 0,
  };
}

const decoder = new TextDecoder();

/** Runs `deno run <permissions> main.ts ARGS`; exit 0, or 1 (no results), is a success. */
async function runCommand(
  options: CommandTimingOptions,
  args: string[],
): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, `${options.repoRoot}/main.ts`, ...args],
    cwd: options.repoRoot,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).output();
  const ms = performance.now() - started;
  if (options.signal?.aborted) throw options.signal.reason;
  if (output.code !== 0 && output.code !== 1) {
    throw new Error(
      `Cannot time "main.ts ${args.join(" ")}": it exited with code ${output.code}; stderr:\n` +
        decoder.decode(output.stderr).trimEnd(),
    );
  }
  return { ms, stdout: decoder.decode(output.stdout) };
}

function hitCount(stdout: string): number {
  try {
    const parsed = JSON.parse(stdout) as { count?: unknown };
    return typeof parsed.count === "number" ? parsed.count : 0;
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new Error(`Cannot read the output of "search --json": ${stdout.slice(0, 200)}`);
    }
    throw error;
  }
}
