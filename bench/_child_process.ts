import { sleep } from "./_async.ts";

/** Options for {@link BenchChild.spawn}. */
export interface BenchChildOptions {
  /** Working directory of the child. */
  readonly cwd: string;
  /** The child's stdout and stderr go to `<outputPrefix>.stdout` and `<outputPrefix>.stderr`. */
  readonly outputPrefix: string;
}

/**
 * A child process of the bench: the real executable, its output pumped to files, killed by the
 * PID it was spawned with.
 */
export class BenchChild {
  readonly name: string;
  readonly pid: number;
  readonly stderrPath: string;
  readonly #process: Deno.ChildProcess;
  readonly #pumps: Promise<void>[];
  readonly #status: Promise<Deno.CommandStatus>;
  #exitStatus: Deno.CommandStatus | undefined;

  private constructor(name: string, process: Deno.ChildProcess, options: BenchChildOptions) {
    this.name = name;
    this.pid = process.pid;
    this.stderrPath = `${options.outputPrefix}.stderr`;
    this.#process = process;
    this.#pumps = [
      pumpToFile(process.stdout, `${options.outputPrefix}.stdout`),
      pumpToFile(process.stderr, this.stderrPath),
    ];
    this.#status = process.status.then((status) => this.#exitStatus = status);
  }

  /**
   * Starts `command` with `args`.
   *
   * @example
   * ```ts
   * const child = BenchChild.spawn("sub", Deno.execPath(), ["run", "x.ts"], { cwd, outputPrefix });
   * await child.kill();
   * ```
   */
  static spawn(
    name: string,
    command: string,
    options: BenchChildOptions & { readonly args: readonly string[] },
  ): BenchChild {
    const process = new Deno.Command(command, {
      args: [...options.args],
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new BenchChild(name, process, options);
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

  /** The last lines the child wrote to stderr, for error messages. */
  async stderrTail(lineCount = 15): Promise<string> {
    try {
      const text = await Deno.readTextFile(this.stderrPath);
      return text.trimEnd().split("\n").slice(-lineCount).join("\n");
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "(no stderr file)";
      throw error;
    }
  }

  /** An error saying the child exited early, with its exit code and stderr tail. */
  async exitedError(during: string): Promise<Error> {
    const code = this.#exitStatus?.code ?? "unknown";
    return new Error(
      `Cannot ${during}: ${this.name} (pid ${this.pid}) exited with code ${code}; stderr:\n` +
        (await this.stderrTail()),
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
