/**
 * Reads a transcript file line by line into {@link TranscriptEntry}s, detecting its format
 * when asked to. Pure over the bytes given: the caller reads the file.
 *
 * @module
 */
import { looksLikeClaudeCode, readClaudeCodeLine } from "./claude_code.ts";
import { type GeminiChatState, looksLikeGeminiCli, readGeminiCliLine } from "./gemini_cli.ts";
import { readGenericLine } from "./generic_jsonl.ts";
import {
  isObject,
  type JsonObject,
  type LineProblem,
  sha256Hex,
  type TranscriptEntry,
  type TranscriptFormat,
} from "./transcript.ts";

/** Longest line imported; a longer one is reported and skipped. */
export const MAX_IMPORT_LINE_BYTES = 16 * 1024 * 1024;
/** How many readable lines auto-detection looks at. */
const DETECT_LINES = 50;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One line read: its number, its exact bytes (without the newline) and what it says. */
export interface ReadLine {
  readonly line: number;
  readonly bytes: Uint8Array;
  readonly entry: TranscriptEntry;
}

/** A transcript read: its format, the lines read, and the lines that could not be. */
export interface ReadTranscript {
  readonly format: TranscriptFormat;
  readonly lines: readonly ReadLine[];
  readonly problems: readonly LineProblem[];
}

/**
 * Reads the JSONL `bytes` of one file as `format` (`auto`: detected from its lines). Blank
 * lines are skipped; a line that is not a JSON object is a {@link LineProblem}, the rest are
 * read all the same.
 *
 * @example
 * ```ts
 * const transcript = await readTranscript(await Deno.readFile("chat.jsonl"), "auto");
 * ```
 */
export async function readTranscript(
  bytes: Uint8Array,
  format: TranscriptFormat | "auto",
): Promise<ReadTranscript> {
  const parsed: { line: number; bytes: Uint8Array; object: JsonObject }[] = [];
  const problems: LineProblem[] = [];
  for (const { line, bytes: lineBytes } of splitLines(bytes)) {
    const result = parseLine(lineBytes);
    if (result === "blank") continue;
    if (typeof result === "string") problems.push({ line, reason: result });
    else parsed.push({ line, bytes: lineBytes, object: result });
  }
  const chosen = format === "auto" ? detectFormat(parsed.map((line) => line.object)) : format;
  const gemini: GeminiChatState = { session: null };
  const lines: ReadLine[] = [];
  for (const line of parsed) {
    const digest = await sha256Hex(line.bytes);
    const entry = chosen === "claude-code"
      ? readClaudeCodeLine(line.object, digest)
      : chosen === "gemini-cli"
      ? readGeminiCliLine(line.object, digest, gemini)
      : readGenericLine(line.object, digest);
    lines.push({ line: line.line, bytes: line.bytes, entry });
  }
  return { format: chosen, lines, problems };
}

/** The format of a transcript from its first lines: Claude Code, Gemini CLI, or plain JSONL. */
export function detectFormat(objects: readonly JsonObject[]): TranscriptFormat {
  const sample = objects.slice(0, DETECT_LINES);
  if (sample.some(looksLikeClaudeCode)) return "claude-code";
  if (sample.some(looksLikeGeminiCli)) return "gemini-cli";
  return "jsonl";
}

function parseLine(bytes: Uint8Array): JsonObject | "blank" | string {
  if (bytes.length > MAX_IMPORT_LINE_BYTES) {
    return `line of ${bytes.length} bytes is over the ${MAX_IMPORT_LINE_BYTES}-byte limit`;
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return "not valid UTF-8";
  }
  if (text.trim() === "") return "blank";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return `not valid JSON (${error.message})`;
  }
  return isObject(value) ? value : "not a JSON object";
}

function* splitLines(bytes: Uint8Array): Generator<{ line: number; bytes: Uint8Array }> {
  let start = 0;
  let line = 1;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    // A CRLF line keeps its \r: the frame is the line exactly (JSON.parse takes it as space).
    yield { line, bytes: bytes.subarray(start, end) };
    start = end + 1;
    line++;
  }
}
