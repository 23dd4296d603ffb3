import { describeErrorChain, ExitCode, operatingError, PersistError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { brokerCommand } from "./broker_command.ts";
import type { Command } from "./command.ts";
import { daemonCommand } from "./daemon_command.ts";
import { newSessionCommand } from "./new_session_command.ts";
import { OutputClosedError, printError, printLine } from "./output.ts";
import { statusCommand } from "./status_command.ts";
import { stopCommand } from "./stop_command.ts";
import { upCommand } from "./up_command.ts";
import { searchCommand } from "./search_command.ts";
import { recentCommand } from "./recent_command.ts";
import { showCommand } from "./show_command.ts";
import { sessionsCommand } from "./sessions_command.ts";
import { statsCommand } from "./stats_command.ts";
import { reindexCommand } from "./reindex_command.ts";
import { checkpointCommand } from "./checkpoint_command.ts";
import { diagCommand } from "./diag_command.ts";
import { menuCommand } from "./menu_command.ts";
import { launchCommand } from "./launch_command.ts";
import { hookCommand } from "./hook_command.ts";

/** Umask of every shearwater-persist process: no access for group and others. */
const PRIVATE_UMASK = 0o077;

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  brokerCommand,
  daemonCommand,
  statusCommand,
  stopCommand,
  newSessionCommand,
  searchCommand,
  recentCommand,
  showCommand,
  sessionsCommand,
  statsCommand,
  reindexCommand,
  checkpointCommand,
  diagCommand,
  menuCommand,
  launchCommand,
  hookCommand,
];

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
  try {
    return await command.run(rest);
  } catch (error) {
    return reportError(error, command.name);
  }
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
