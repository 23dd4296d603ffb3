/**
 * The bench's child processes: long-lived ones ({@link BenchChild}), one-shot timed runs
 * ({@link runTimed}), the `deno run` command line they share, and free ports.
 *
 * @module
 */
import { RUN_PERMISSIONS } from "../src/self_command.ts";
import { sleep } from "./_async.ts";

/** The repository root: children run from here so deno.json and node_modules are found. */
export const REPO_ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname)
  .replace(/\/$/, "");
/** The program's entry point. */
export const MAIN_SCRIPT = `${REPO_ROOT}/main.ts`;

/**
 * Arguments of the real deno binary for `deno run <permissions> [flags] SCRIPT ARGS`, with the
 * permissions of deno.json's `cli` task.
 */
export function denoRunArgs(
  script: string,
  args: readonly string[],
  flags: readonly string[] = [],
): string[] {
  return ["run", ...RUN_PERMISSIONS, ...flags, script, ...args];
}

/**
 * Picks `count` distinct free TCP ports on 127.0.0.1 by binding port 0 and closing again. Another
 * process could take one before it is used; on a bench machine that is rare enough.
 */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

/** What {@link runTimed} returns. */
export interface TimedRun {
  /** Wall time from spawn to exit, output read. */
  readonly ms: number;
  readonly stdout: string;
}

/** Options for {@link runTimed}. */
export interface TimedRunOptions {
  /** The script `deno run` starts; default main.ts. */
  readonly script?: string;
  /** Written to the child's stdin, then closed; default: no stdin. */
  readonly stdin?: string;
  /** Exit codes that count as success; default 0 only. */
  readonly okCodes?: readonly number[];
  readonly signal?: AbortSignal;
}

const decoder = new TextDecoder();

/**
 * Runs `deno run <permissions> SCRIPT ARGS` from the repository with `NO_COLOR`, and times it
 * whole; an exit code outside `okCodes` throws with the child's stderr.
 *
 * @example
 * ```ts
 * const { ms } = await runTimed(["--version"]);
 * ```
 */
export async function runTimed(
  args: readonly string[],
  options: TimedRunOptions = {},
): Promise<TimedRun> {
  const script = options.script ?? MAIN_SCRIPT;
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs(script, args),
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const ms = performance.now() - started;
  if (options.signal?.aborted) throw options.signal.reason;
  if (!(options.okCodes ?? [0]).includes(output.code)) {
    const name = script.slice(script.lastIndexOf("/") + 1);
    throw new Error(
      `Cannot time "${name} ${args.join(" ")}": it exited with code ${output.code}; stderr:\n` +
        decoder.decode(output.stderr).trimEnd(),
    );
  }
  return { ms, stdout: decoder.decode(output.stdout) };
}

/**
 * A long-lived child process of the bench: the real deno binary run from the repository, its
 * output pumped to files, killed by the PID it was spawned with.
 */
export class BenchChild {
  readonly name: string;
  readonly pid: number;
  readonly stderrPath: string;
  readonly #process: Deno.ChildProcess;
  readonly #pumps: Promise<void>[];
  readonly #status: Promise<Deno.CommandStatus>;
  #exitStatus: Deno.CommandStatus | undefined;

  private constructor(name: string, process: Deno.ChildProcess, outputPrefix: string) {
    this.name = name;
    this.pid = process.pid;
    this.stderrPath = `${outputPrefix}.stderr`;
    this.#process = process;
    this.#pumps = [
      pumpToFile(process.stdout, `${outputPrefix}.stdout`),
      pumpToFile(process.stderr, this.stderrPath),
    ];
    this.#status = process.status.then((status) => this.#exitStatus = status);
  }

  /**
   * Starts the deno binary with `args` (see {@link denoRunArgs}); its stdout and stderr go to
   * `<outputPrefix>.stdout` and `<outputPrefix>.stderr`.
   *
   * @example
   * ```ts
   * const child = BenchChild.spawn("daemon", denoRunArgs(MAIN_SCRIPT, ["daemon"]), outputPrefix);
   * await child.kill();
   * ```
   */
  static spawn(name: string, args: readonly string[], outputPrefix: string): BenchChild {
    const process = new Deno.Command(Deno.execPath(), {
      args: [...args],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new BenchChild(name, process, outputPrefix);
  }

  /** The exit status, once the child has exited. */
  get exitStatus(): Deno.CommandStatus | undefined {
    return this.#exitStatus;
  }

  /** Waits up to `timeoutMs` for the child to exit by itself; true if it did. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    const timeout = sleep(timeoutMs).then(() => false);
    const exited = await Promise.race([this.#status.then(() => true), timeout]);
    if (exited) await Promise.all(this.#pumps);
    return exited;
  }

  /** Sends SIGTERM, asking the child to finish; a no-op once it has exited. */
  terminate(): void {
    this.#send("SIGTERM");
  }

  /** SIGKILLs the child unless it has exited, then waits for it and its output files. */
  async kill(): Promise<void> {
    this.#send("SIGKILL");
    await this.#status;
    await Promise.all(this.#pumps);
  }

  #send(signal: Deno.Signal): void {
    if (this.#exitStatus !== undefined) return;
    try {
      this.#process.kill(signal);
    } catch (error) {
      // It exited between the check and the kill.
      if (!(error instanceof TypeError)) throw error;
    }
  }

  /** An error saying the child exited early, with its exit code and last 15 lines of stderr. */
  async exitedError(during: string): Promise<Error> {
    const code = this.#exitStatus?.code ?? "unknown";
    const stderr = await Deno.readTextFile(this.stderrPath).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return "(no stderr file)";
      throw error;
    });
    return new Error(
      `Cannot ${during}: ${this.name} (pid ${this.pid}) exited with code ${code}; stderr:\n` +
        stderr.trimEnd().split("\n").slice(-15).join("\n"),
    );
  }
}

async function pumpToFile(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
  try {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    await stream.pipeTo(file.writable);
  } catch (error) {
    // Losing a child's output must not end the bench; say so and drain the pipe elsewhere.
    console.error(`Cannot save child output to "${path}": ${(error as Error).message}`);
    await stream.cancel().catch(() => undefined);
  }
}

/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) a process has used so far, ms (Linux /proc). */
export async function processCpuMs(pid: number): Promise<number> {
  // Through `cat`: Deno lets only --allow-all read /proc directly; the task has --allow-run.
  const output = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`] }).output();
  if (!output.success) throw new Error(`Cannot read the CPU time of process ${pid}`);
  const stat = new TextDecoder().decode(output.stdout);
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}
