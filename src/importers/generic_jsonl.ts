/**
 * Any other JSONL: time, sender, recipient, kind and content from the common field names the
 * enricher knows ({@link extractFields}); the key is the line's digest.
 *
 * @module
 */
import { extractFields } from "../enrich/metadata.ts";
import { type JsonObject, timeField, type TranscriptEntry } from "./transcript.ts";

/** Field names taken as a line's time, first found wins. */
export const TIME_FIELDS = ["timestamp", "time", "ts", "received_at", "created_at", "date"];

/**
 * Reads one parsed line of any JSONL file.
 *
 * @example
 * ```ts
 * const entry = readGenericLine({ from: "planner", to: "coder", text: "go", ts: "2026-11-20T10:00:00Z" }, "ab12");
 * ```
 */
export function readGenericLine(object: JsonObject, digest: string): TranscriptEntry {
  const fields = extractFields(object);
  return {
    key: `jsonl:sha256:${digest}`,
    time: timeField(object, TIME_FIELDS),
    sender: fields.sender ?? null,
    recipient: fields.recipient ?? null,
    kind: fields.kind ?? null,
    text: fields.content ?? JSON.stringify(object),
    session: null,
  };
}
