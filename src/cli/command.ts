/** What a command module exports: the action that runs the command. */
export interface CommandAction {
  /**
   * Runs the command with the arguments after its name; returns the exit code. `--help` never
   * reaches it: the dispatcher prints the help text.
   */
  run(args: readonly string[]): Promise<number>;
}

/**
 * One subcommand of the CLI as the dispatcher knows it: its help text, and a loader for its
 * module, called only when the command runs (so `--version` or `status` load no ZeroMQ, SQLite
 * or prompt library).
 */
export interface CommandEntry {
  /** The word typed after `shearwater-persist`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Loads the command's module and returns its action. */
  load(): Promise<CommandAction>;
}

/** Help lines shared by commands that take the common flags. */
export const COMMON_HELP = `  --data-dir DIR     data directory (env SHEARWATER_DATA_DIR,
                     default conversation_logs)
  --config FILE      JSON config file (env SHEARWATER_CONFIG)
  --json             machine-readable output
  -h, --help         show this help`;
