/**
 * How `diag` and the menu's [D]iagnostics print health checks: one line a check, long details
 * wrapped under the detail column on a terminal.
 *
 * @module
 */
import { visibleLine } from "./visible.ts";
import type { styler } from "./output.ts";
import type { Check } from "../diag/checks.ts";

const DETAIL_COLUMN = 22;

/**
 * The lines of a check report: `ok    name            detail`. With `columns` (a terminal's
 * width) a long detail wraps at word boundaries under the detail column; without, each check
 * stays on one line, whole, for pipes and files. Details are made safe to print ({@link visibleLine}).
 */
export function renderChecks(
  checks: readonly Check[],
  style: ReturnType<typeof styler>,
  columns: number | undefined,
): string[] {
  const mark = { ok: style.green("ok  "), warn: style.yellow("warn"), fail: style.red("FAIL") };
  const width = columns === undefined ? Infinity : Math.max(20, columns - DETAIL_COLUMN - 1);
  return checks.flatMap((check) => {
    const [first = "", ...rest] = wrap(visibleLine(check.detail), width);
    return [
      `${mark[check.status]}  ${check.name.padEnd(15)} ${first}`,
      ...rest.map((line) => `${" ".repeat(DETAIL_COLUMN)}${line}`),
    ];
  });
}

/** The terminal's width when stdout is one, otherwise undefined (no wrapping). */
export function outputColumns(): number | undefined {
  if (!Deno.stdout.isTerminal()) return undefined;
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : 80; // a pseudo-terminal nobody sized reports 0
  } catch (error) {
    // A terminal that does not report its size: wrap at the classic width.
    if (error instanceof Deno.errors.NotSupported || error instanceof Deno.errors.BadResource) {
      return 80;
    }
    throw error;
  }
}

function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = "";
    }
    line = line ? `${line} ${word}` : word;
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line) lines.push(line);
  return lines;
}
