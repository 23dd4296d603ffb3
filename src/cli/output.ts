import { colorEnabled } from "../config.ts";
import { ExitCode, PersistError } from "../errors.ts";

const encoder = new TextEncoder();

/**
 * Stdout was closed by its reader (`shearwater-persist recent 100 | head -1`). The top level
 * ends the command quietly with exit 0, as Unix tools do.
 */
export class OutputClosedError extends PersistError {
  constructor(options: { cause?: unknown } = {}) {
    super("Output closed by its reader", {
      code: "output_closed",
      exitCode: ExitCode.ok,
      cause: options.cause,
    });
    this.name = "OutputClosedError";
  }
}

/** Writes command output (stdout). */
export function printLine(text = ""): void {
  writeOutput(encoder.encode(text + "\n"));
}

/** Writes bytes to stdout as they are; a reader that went away ends the command quietly. */
export function writeOutput(bytes: Uint8Array): void {
  try {
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) throw new OutputClosedError({ cause: error });
    throw error;
  }
}

/** Writes a message for the person at the terminal (stderr). */
export function printError(text: string): void {
  const bytes = encoder.encode(text + "\n");
  try {
    let written = 0;
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch (error) {
    // Nobody reads stderr any more (`2>&1 | head`): there is no one left to tell.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/** Prints a value as indented JSON on stdout, for `--json`. */
export function printJson(value: unknown): void {
  printLine(JSON.stringify(value, null, 2));
}

/** ANSI styling that disappears when NO_COLOR is set or stdout is not a terminal. */
export function styler(stream: { isTerminal(): boolean } = Deno.stdout) {
  const on = colorEnabled(stream);
  const wrap = (code: number) => (text: string) => on ? `\x1b[${code}m${text}\x1b[0m` : text;
  return {
    enabled: on,
    bold: wrap(1),
    dim: wrap(2),
    red: wrap(31),
    green: wrap(32),
    yellow: wrap(33),
  };
}
