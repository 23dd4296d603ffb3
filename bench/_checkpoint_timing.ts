import { RUN_PERMISSIONS } from "../src/cli/self_command.ts";
import { syncDirectory } from "../src/store/data_dir.ts";

/** Nearest-rank spread of a small sample of timings, in milliseconds. */
export interface TimingSpread {
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
 * spreadOf([1, 2, 3]); // { count: 3, p50Ms: 2, p95Ms: 3, maxMs: 3 }
 * ```
 */
export function spreadOf(samplesMs: readonly number[]): TimingSpread | undefined {
  if (samplesMs.length === 0) return undefined;
  const sorted = Float64Array.from(samplesMs).sort();
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, p50Ms: at(50), p95Ms: at(95), maxMs: sorted[sorted.length - 1]! };
}

/** Milliseconds `work` took, wall time. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * The naive checkpoint: copies the whole log to `destination`, fsyncs the copy and its folder.
 * `Deno.copyFile` lets the kernel copy (copy_file_range), the fastest way a plain copy can go.
 *
 * @example
 * ```ts
 * const ms = await timeMs(() => copyLogDurably("current_session.jsonl", "copies/1.jsonl"));
 * ```
 */
export async function copyLogDurably(source: string, destination: string): Promise<void> {
  await Deno.copyFile(source, destination);
  const file = await Deno.open(destination, { read: true, write: true });
  try {
    await file.syncData();
  } finally {
    file.close();
  }
  await syncDirectory(destination.slice(0, destination.lastIndexOf("/")));
}

/** Wall time of whole `checkpoint list` commands against `main.ts --version`. */
export interface ListCommandTiming {
  readonly runs: number;
  /** `main.ts --version`: the startup cost every command pays. */
  readonly version: TimingSpread | undefined;
  /** `main.ts checkpoint list --data-dir DIR --json`. */
  readonly list: TimingSpread | undefined;
  /** Checkpoints the last list printed (its `count`). */
  readonly listed: number;
  /** Bytes the last list printed on stdout. */
  readonly outputBytes: number;
}

/** Options for {@link timeListCommand}. */
export interface ListCommandOptions {
  readonly repoRoot: string;
  readonly dataDir: string;
  readonly runs: number;
  readonly signal?: AbortSignal;
}

/**
 * Times `runs` of `checkpoint list --json` and of `--version`, interleaved so that noise from
 * other work on the machine spreads evenly; one untimed run of each first fills the caches.
 *
 * @example
 * ```ts
 * const timing = await timeListCommand({ repoRoot, dataDir, runs: 5 });
 * ```
 */
export async function timeListCommand(options: ListCommandOptions): Promise<ListCommandTiming> {
  const listArgs = ["checkpoint", "list", "--data-dir", options.dataDir, "--json"];
  await runMain(options, ["--version"]);
  await runMain(options, listArgs);
  const version: number[] = [];
  const list: number[] = [];
  let last = "";
  for (let i = 0; i < options.runs; i++) {
    version.push((await runMain(options, ["--version"])).ms);
    const run = await runMain(options, listArgs);
    list.push(run.ms);
    last = run.stdout;
  }
  return {
    runs: options.runs,
    version: spreadOf(version),
    list: spreadOf(list),
    listed: listedCount(last),
    outputBytes: new TextEncoder().encode(last).length,
  };
}

const decoder = new TextDecoder();

/** Runs `deno run <permissions> main.ts ARGS` from the repository; anything but exit 0 throws. */
async function runMain(
  options: ListCommandOptions,
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
  if (output.code !== 0) {
    throw new Error(
      `Cannot time "main.ts ${args.join(" ")}": it exited with code ${output.code}; stderr:\n` +
        decoder.decode(output.stderr).trimEnd(),
    );
  }
  return { ms, stdout: decoder.decode(output.stdout) };
}

function listedCount(stdout: string): number {
  let parsed: { count?: unknown };
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new Error(
        `Cannot read the output of "checkpoint list --json": ${stdout.slice(0, 200)}`,
      );
    }
    throw error;
  }
  return typeof parsed.count === "number" ? parsed.count : -1;
}
