/** One subcommand of the CLI: its help text and its action. */
export interface Command {
  /** The word typed after `shearwater-persist`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Runs the command with the arguments after its name; returns the exit code. */
  run(args: readonly string[]): Promise<number>;
}

/** Help lines shared by commands that take the common flags. */
export const COMMON_HELP = `  --data-dir DIR     data directory (env SHEARWATER_DATA_DIR,
                     default conversation_logs)
  --config FILE      JSON config file (env SHEARWATER_CONFIG)
  --json             machine-readable output
  -h, --help         show this help`;
