import { colorEnabled } from "../config.ts";

const encoder = new TextEncoder();

/** Writes command output (stdout). */
export function printLine(text = ""): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

/** Writes a message for the person at the terminal (stderr). */
export function printError(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text + "\n"));
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
