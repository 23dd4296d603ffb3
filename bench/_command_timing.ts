import { runTimed, type TimedRunOptions } from "./_child_process.ts";
import { type Spread, spreadOf } from "./_stats.ts";

/** One whole command to time: a fresh `deno run` process per run. */
export interface TimedCommand extends Omit<TimedRunOptions, "signal"> {
  /** Key of its spread in the result. */
  readonly name: string;
  /** Its arguments on run `run` (0, 1, …; -1 for the untimed warm-up run). */
  readonly args: (run: number) => readonly string[];
  /** Receives the stdout of each timed run. */
  readonly onOutput?: (stdout: string) => void;
}

/**
 * Times `runs` of each command, interleaved (first, second, …, first, second, …) so that noise
 * from other work on the machine spreads evenly; one untimed run of each first fills the caches
 * (module graph, page cache).
 *
 * @example
 * ```ts
 * const spreads = await timeCommands([{ name: "version", args: () => ["--version"] }], { runs: 5 });
 * ```
 */
export async function timeCommands(
  commands: readonly TimedCommand[],
  options: { runs: number; signal?: AbortSignal },
): Promise<Record<string, Spread | undefined>> {
  const samples = commands.map(() => [] as number[]);
  for (let run = -1; run < options.runs; run++) {
    for (const [i, command] of commands.entries()) {
      const timed = await runTimed(command.args(run), { ...command, signal: options.signal });
      if (run < 0) continue;
      samples[i]!.push(timed.ms);
      command.onOutput?.(timed.stdout);
    }
  }
  return Object.fromEntries(commands.map((command, i) => [command.name, spreadOf(samples[i]!)]));
}

/** The `count` field of a command's `--json` output; `what` names the command in errors. */
export function jsonCount(stdout: string, what: string): number {
  try {
    const parsed = JSON.parse(stdout) as { count?: unknown };
    return typeof parsed.count === "number" ? parsed.count : 0;
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new Error(`Cannot read the output of "${what}": ${stdout.slice(0, 200)}`);
    }
    throw error;
  }
}
