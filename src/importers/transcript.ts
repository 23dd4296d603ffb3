/**
 * What every importer produces from one transcript line, and the shared helpers to read
 * fields of lines whose shape is not guaranteed.
 *
 * @module
 */

/** A transcript format the importers read. */
export type TranscriptFormat = "claude-code" | "gemini-cli" | "jsonl";

/** Every format, in the order auto-detection tries them. */
export const TRANSCRIPT_FORMATS: readonly TranscriptFormat[] = [
  "claude-code",
  "gemini-cli",
  "jsonl",
];

/** What an importer read from one line. The line itself is kept by the caller, byte for byte. */
export interface TranscriptEntry {
  /** Identifies the line across imports: importing it again adds nothing. */
  readonly key: string;
  /** The line's own time, or null when it has none (the caller takes the previous one). */
  readonly time: Date | null;
  readonly sender: string | null;
  readonly recipient: string | null;
  /** What the line is, e.g. `user`, `assistant`, `summary`, `gemini`, `$rewindTo`. */
  readonly kind: string | null;
  /** The readable text (messages, tool calls and their results), for search and previews. */
  readonly text: string;
  /** The transcript's session id, when the line names one. */
  readonly session: string | null;
}

/** A line an importer could not read, and why. */
export interface LineProblem {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
}

/** A JSON object, as transcript lines are. */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The string at `field`, or null. */
export function stringField(object: JsonObject, field: string): string | null {
  const value = object[field];
  return typeof value === "string" && value !== "" ? value : null;
}

/** The time at `field` (ISO text or epoch milliseconds), or null when absent or not a time. */
export function timeField(object: JsonObject, fields: readonly string[]): Date | null {
  for (const field of fields) {
    const value = object[field];
    let ms = Number.NaN;
    if (typeof value === "string") ms = Date.parse(value);
    else if (typeof value === "number" && Number.isFinite(value)) {
      ms = value < 1e11 ? value * 1000 : value; // seconds or milliseconds since the epoch
    }
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return null;
}

/**
 * Readable text of any JSON value: strings as they are, arrays and objects by the text they
 * hold (their `text`/`content` fields first), anything else as JSON.
 */
export function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(textOf).filter((text) => text !== "").join("\n");
  if (isObject(value)) {
    if (typeof value.text === "string") return value.text;
    if (value.content !== undefined) return textOf(value.content);
    return JSON.stringify(value);
  }
  return String(value);
}

/** The SHA-256 of `bytes`, hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
