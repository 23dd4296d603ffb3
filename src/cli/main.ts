import { describeErrorChain, ExitCode, operatingError, PersistError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { COMMANDS } from "./commands.ts";
import { OutputClosedError, printError, printLine } from "./output.ts";

export { COMMANDS };

/** Umask of every shearwater-persist process: no access for group and others. */
const PRIVATE_UMASK = 0o077;

/** The top-level `--help` text. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`);
  return `shearwater-persist ${VERSION} — independent persistence for ZeroMQ agent buses

Usage: shearwater-persist <command> [options]

Commands:
${lines.join("\n")}

Run "shearwater-persist <command> --help" for a command's options.
Every command takes --data-dir (env SHEARWATER_DATA_DIR,
default conversation_logs).
`;
}

/**
 * Sets the process umask to 0o077, so every file this process creates (SQLite's `-wal` and
 * `-shm` files included, which are opened by SQLite and not by us) is 0600 and every folder 0700
 * from birth. Called once at process start, before any command runs.
 *
 * @example
 * ```ts
 * restrictUmask();
 * Deno.exit(await main(Deno.args));
 * ```
 */
export function restrictUmask(): void {
  Deno.umask(PRIVATE_UMASK);
}

/**
 * Runs the CLI with `args` and returns the exit code. The one place that catches errors:
 * a {@link PersistError} prints its message and cause chain; anything else is a bug and prints
 * its stack.
 */
export async function main(args: readonly string[]): Promise<number> {
  const [name, ...afterName] = args;
  // `deno task start -- --demo` passes the separator through: accept it.
  const rest = afterName[0] === "--" ? afterName.slice(1) : afterName;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printLine(mainHelp());
    return name === undefined ? ExitCode.usage : 0;
  }
  if (name === "--version" || name === "-V") {
    printLine(VERSION);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    printError(`error: Unknown command "${name}": run "shearwater-persist --help" for the list`);
    return ExitCode.usage;
  }
  if (wantsHelp(rest)) {
    printLine(command.help);
    return 0;
  }
  try {
    const action = await command.load();
    return await action.run(rest);
  } catch (error) {
    return reportError(error, command.name);
  }
}

/**
 * True when the arguments ask for the command's help: `-h` or `--help` anywhere before a `--`
 * (after it, every word is a positional argument).
 */
function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/**
 * Prints an error that ended command `name` and returns the exit code: a {@link PersistError}
 * or an operating-system error (file system, permissions, disk) as a clear message with its own
 * exit code, a closed stdout quietly, anything else as a bug with its stack (exit 70).
 */
function reportError(error: unknown, name: string): number {
  if (error instanceof OutputClosedError) return error.exitCode;
  const described = error instanceof PersistError
    ? error
    : operatingError(error, `Cannot run "${name}"`);
  if (described) {
    const [first, ...causes] = describeErrorChain(described);
    printError(`error: ${first}`);
    for (const cause of causes) printError(`  ${cause}`);
    return described.exitCode;
  }
  printError(`internal error (please report): ${(error as Error)?.stack ?? String(error)}`);
  return ExitCode.internal;
}
