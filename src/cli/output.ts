import { colorEnabled } from "../config.ts";
import { ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { visible } from "./visible.ts";

const encoder = new TextEncoder();

/**
 * Stdout was closed by its reader (`shearwater-persist recent 100 | head -1`). The top level
 * ends the command quietly with exit 0, as Unix tools do.
 */
export class OutputClosedError extends PersistError {
  constructor(options: { cause?: unknown } = {}) {
    super("Output closed by its reader", {
      code: ErrorCode.outputClosed,
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

/**
 * Writes command output lines (stdout) in one write: a command that prints a list does not pay
 * one system call (and one wake-up of the reader) per line.
 */
export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) writeOutput(encoder.encode(lines.join("\n") + "\n"));
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

/**
 * Writes a message for the person at the terminal (stderr). Error messages can quote data (an
 * id, a file name, a reason read from a manifest): control characters are shown, never sent.
 */
export function printError(text: string): void {
  const bytes = encoder.encode(visible(text, { keepLayout: true }) + "\n");
  try {
    let written = 0;
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch (error) {
    // Nobody reads stderr any more (`2>&1 | head`): there is no one left to tell.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/** Prints a value as indented JSON on stdout, for `--json` ({@link jsonText}). */
export function printJson(value: unknown): void {
  printLine(jsonText(value, 2));
}

// Outside strings JSON holds only ASCII, so every match is inside a string and may be escaped.
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `JSON.stringify` that is safe on a terminal. JSON.stringify escapes C0 controls but leaves
 * DEL, C1 controls, line separators and bidi controls raw; they are escaped too (`\u009b`), so
 * the text parses to exactly the same value.
 *
 * @example
 * ```ts
 * jsonText({ sender: "\u009b2J" }); // '{"sender":"\\u009b2J"}'
 * ```
 */
export function jsonText(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, jsonEscape);
}

function jsonEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
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
