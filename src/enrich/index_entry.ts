import { isBlobFrame } from "../store/blob_store.ts";
import type { LogRecord, StoredFrame } from "../store/record.ts";
import type { DecodedFrame } from "./frames.ts";
import { extractFields, type MessageMeta, splitMessage } from "./metadata.ts";

/** What the search index keeps of one record. */
export interface IndexEntry {
  readonly seq: number;
  readonly type: string;
  readonly session: string;
  /** Milliseconds since the epoch. */
  readonly receivedAtMs: number;
  readonly topic: string | null;
  readonly sender: string | null;
  readonly recipient: string | null;
  readonly kind: string | null;
  readonly bytes: number;
  readonly tokens: number;
  readonly preview: string | null;
  /** Text for full-text search, or null (binary, empty, events). */
  readonly content: string | null;
  /** The original seq when the message is a replay of a recorded one (`meta.replay_of`). */
  readonly replayOf?: number | null;
}

/** Longest text indexed for full-text search per message; the log keeps everything. */
export const MAX_INDEXED_CONTENT_CHARS = 256 * 1024;

/**
 * Derives the index entry of a log record: metadata from `meta`, and the searchable content
 * re-extracted from the frames (the same rules enrichment uses). Pure; never throws on odd
 * records.
 *
 * @example
 * ```ts
 * const entry = indexEntryOf(record);
 * ```
 */
export function indexEntryOf(record: LogRecord): IndexEntry {
  const meta = (record.meta ?? {}) as Partial<MessageMeta>;
  const receivedAtMs = Date.parse(record.received_at);
  const base = {
    seq: record.seq,
    type: record.type,
    session: record.session,
    receivedAtMs: Number.isNaN(receivedAtMs) ? 0 : receivedAtMs,
    topic: typeof record.topic === "string" ? record.topic : null,
    sender: meta.sender ?? null,
    recipient: meta.recipient ?? null,
    kind: meta.kind ?? null,
    bytes: typeof meta.bytes === "number" ? meta.bytes : typeof record.bytes === "number" // an `oversized` record
      ? record.bytes
      : 0,
    tokens: typeof meta.tokens === "number" ? meta.tokens : 0,
    preview: meta.preview ?? null,
    replayOf: Number.isSafeInteger(meta.replay_of) ? meta.replay_of! : null,
  };
  if (record.type !== "message") {
    return { ...base, kind: record.type, preview: eventSummary(record), content: null };
  }
  // An imported transcript line says itself what its readable text is (see src/importers/).
  const imported = (record.meta as { search_text?: unknown } | undefined)?.search_text;
  const content = typeof imported === "string"
    ? imported
    : searchableContent(record.frames, meta.format);
  return {
    ...base,
    content: content === null ? null : content.slice(0, MAX_INDEXED_CONTENT_CHARS),
  };
}

function searchableContent(frames: unknown, format: string | undefined): string | null {
  if (!Array.isArray(frames) || format === "binary" || format === "empty") return null;
  // Only the text matters here: binary frames (stored as base64) have none, and a blob frame
  // is searched by the start the record keeps of it (`head`), never read whole.
  const decoded: DecodedFrame[] = (frames as StoredFrame[]).map((frame) => ({
    stored: frame,
    text: typeof frame === "string" ? frame : isBlobFrame(frame) ? frame.head ?? null : null,
    bytes: 0,
  }));
  const { payloadText } = splitMessage(decoded);
  if (payloadText === null) return null;
  if (format === "json") {
    try {
      const parsed = JSON.parse(payloadText);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        const fields = extractFields(parsed as Record<string, unknown>);
        if (fields.content !== undefined) return fields.content;
      }
    } catch {
      // meta said JSON but the payload does not parse now: index it as plain text
    }
  }
  return payloadText;
}

function eventSummary(record: LogRecord): string {
  const details = ["reason", "address", "from", "to"]
    .filter((key) => typeof record[key] === "string")
    .map((key) => `${key}: ${record[key]}`);
  return [record.type, ...details].join(" · ").slice(0, 160);
}
