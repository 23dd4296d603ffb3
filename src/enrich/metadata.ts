import { BLOB_HEAD_BYTES, type DecodedFrame } from "./frames.ts";

/** What enrichment learned about a message; every field but the sizes may be missing. */
export interface MessageMeta {
  /** `json` (a payload frame parsed as JSON), `text`, `binary`, or `empty`. */
  readonly format: "json" | "text" | "binary" | "empty";
  /** Total bytes over all frames. */
  readonly bytes: number;
  /** Rough token count of the content (about 4 characters per token). */
  readonly tokens: number;
  readonly sender?: string;
  readonly recipient?: string;
  readonly kind?: string;
  /** Dotted path of the field the content came from, e.g. `message.content`. */
  readonly content_field?: string;
  /** Start of the content on one line, at most {@link PREVIEW_CHARS} characters. */
  readonly preview?: string;
  /** Set when enrichment stopped early; the message is recorded all the same. */
  readonly note?: string;
  /** Set by the recorder (not by enrichment) on a replayed message: the original seq. */
  readonly replay_of?: number;
  /** Set by `messageRecord` (not `enrichFrames`): the publisher envelope's `pub`. */
  readonly pub?: string;
  /** The publisher envelope's `seq`. */
  readonly pub_seq?: number;
  /** Set by the recorder on a message a publisher resent to fill a gap. */
  readonly refilled?: true;
}

/** The topic and the payload text a message carries, found from its frames. */
export interface MessageParts {
  readonly topic: string | null;
  readonly payloadText: string | null;
}

/** Longest preview kept in metadata. */
export const PREVIEW_CHARS = 160;
/** Payloads above this size are not parsed on the recording path (kept whole in `frames`). */
export const MAX_PARSE_BYTES = 1024 * 1024;
const MAX_TOPIC_CHARS = 256;
const utf8Encoder = new TextEncoder();

const SENDER_FIELDS = ["sender", "from", "agent", "role", "author", "source"] as const;
const RECIPIENT_FIELDS = ["recipient", "to", "target"] as const;
const KIND_FIELDS = ["type", "kind", "event"] as const;
const CONTENT_FIELDS = ["content", "text", "message", "body", "data", "payload"] as const;

/**
 * Splits a multipart message into topic and payload. With two or more frames the first frame is
 * the topic and the rest the payload (joined by newlines); with one frame, the topic is the text
 * before the first space and the payload the rest (the `"topic {json}"` convention of
 * single-frame publishers). Binary frames give null.
 */
export function splitMessage(frames: readonly DecodedFrame[]): MessageParts {
  const first = frames[0];
  if (!first) return { topic: null, payloadText: null };
  if (frames.length > 1) {
    const rest = frames.slice(1);
    const texts = rest.map((frame) => frame.text);
    return {
      topic: first.text === null ? null : first.text.slice(0, MAX_TOPIC_CHARS),
      payloadText: texts.every((text) => text !== null) ? texts.join("\n") : null,
    };
  }
  if (first.text === null) return { topic: null, payloadText: null };
  const match = /^([^\s{["]+)\s+([\s\S]*)$/.exec(first.text);
  if (match && match[1]!.length <= MAX_TOPIC_CHARS) {
    return { topic: match[1]!, payloadText: match[2]! };
  }
  return { topic: first.text.length <= MAX_TOPIC_CHARS ? first.text : "", payloadText: first.text };
}

/**
 * Extracts metadata from a message's frames. Pure and total: it never throws, whatever the
 * frames hold; unknown shapes give just format, size and a token estimate.
 *
 * @example
 * ```ts
 * const meta = enrichFrames([decodeFrame(topic), decodeFrame(payload)]);
 * console.log(meta.sender, meta.tokens);
 * ```
 */
export function enrichFrames(
  frames: readonly DecodedFrame[],
  parts: MessageParts = splitMessage(frames),
): MessageMeta {
  let bytes = 0;
  for (const frame of frames) bytes += frame.bytes;
  const meta = enrichParts(frames, parts, bytes);
  if (!frames.some((frame) => frame.blob)) return meta;
  // Only the first bytes of a blob frame were looked at: say so, and estimate from the size.
  return {
    ...meta,
    tokens: meta.format === "binary" ? 0 : Math.ceil(bytes / 4),
    note:
      `frames over the blob threshold stored as blobs: metadata from their first ${BLOB_HEAD_BYTES} bytes`,
  };
}

function enrichParts(
  frames: readonly DecodedFrame[],
  parts: MessageParts,
  bytes: number,
): MessageMeta {
  const { payloadText } = parts;
  if (bytes === 0) return { format: "empty", bytes, tokens: 0 };
  if (payloadText === null) {
    return frames.some((frame) => frame.text === null)
      ? { format: "binary", bytes, tokens: 0 }
      : { format: "empty", bytes, tokens: 0 };
  }
  try {
    return enrichText(payloadText, bytes);
  } catch (error) {
    return {
      format: "text",
      bytes,
      tokens: estimateTokens(payloadText),
      note: `enrichment failed: ${(error as Error).message}`,
    };
  }
}

function enrichText(payloadText: string, bytes: number): MessageMeta {
  const first = firstNonSpace(payloadText);
  const looksJson = first === "{" || first === "[";
  if (looksJson && utf8LengthAbove(payloadText, MAX_PARSE_BYTES)) {
    return {
      format: "text",
      bytes,
      tokens: estimateTokens(payloadText),
      preview: previewOf(payloadText),
      note: `payload over ${MAX_PARSE_BYTES} bytes: not parsed while recording`,
    };
  }
  const parsed = looksJson ? tryParseJson(payloadText) : undefined;
  if (parsed === undefined || typeof parsed !== "object" || parsed === null) {
    const preview = previewOf(payloadText);
    return preview === ""
      ? { format: "text", bytes, tokens: estimateTokens(payloadText) }
      : { format: "text", bytes, tokens: estimateTokens(payloadText), preview };
  }
  const fields = Array.isArray(parsed) ? {} : extractFields(parsed as Record<string, unknown>);
  const contentText = fields.content ?? payloadText;
  const meta: { -readonly [K in keyof MessageMeta]: MessageMeta[K] } = {
    format: "json",
    bytes,
    tokens: estimateTokens(contentText),
  };
  if (fields.sender !== undefined) meta.sender = fields.sender;
  if (fields.recipient !== undefined) meta.recipient = fields.recipient;
  if (fields.kind !== undefined) meta.kind = fields.kind;
  if (fields.contentField !== undefined) meta.content_field = fields.contentField;
  const preview = previewOf(contentText);
  if (preview !== "") meta.preview = preview;
  return meta;
}

/** True when the UTF-8 encoding of `text` is longer than `limit` bytes (cheap when short). */
function utf8LengthAbove(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return utf8Encoder.encode(text).length > limit;
}

function firstNonSpace(text: string): string {
  for (let i = 0; i < text.length && i < 64; i++) {
    const char = text[i]!;
    if (char !== " " && char !== "\n" && char !== "\r" && char !== "\t") return char;
  }
  return "";
}

/** Fields found in a JSON object payload. */
export interface ExtractedFields {
  readonly sender?: string;
  readonly recipient?: string;
  readonly kind?: string;
  readonly content?: string;
  readonly contentField?: string;
}

/**
 * Finds sender, recipient, kind and content under their common names, looking one level into
 * a nested `message` object (the shape Claude-style transcripts use).
 */
export function extractFields(object: Record<string, unknown>): ExtractedFields {
  const nested = isPlainObject(object.message) ? object.message : undefined;
  const fields: { -readonly [K in keyof ExtractedFields]: ExtractedFields[K] } = {};
  const sender = firstName(object, SENDER_FIELDS) ?? (nested && firstName(nested, SENDER_FIELDS));
  if (sender !== undefined) fields.sender = sender;
  const recipient = firstName(object, RECIPIENT_FIELDS) ??
    (nested && firstName(nested, RECIPIENT_FIELDS));
  if (recipient !== undefined) fields.recipient = recipient;
  const kind = firstName(object, KIND_FIELDS) ?? (nested && firstName(nested, KIND_FIELDS));
  if (kind !== undefined) fields.kind = kind;
  const content = firstContent(object, "") ?? (nested && firstContent(nested, "message."));
  if (content !== undefined) {
    fields.content = content.text;
    fields.contentField = content.field;
  }
  return fields;
}

/** About four characters per token, the usual rule of thumb for English and code. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function previewOf(text: string): string {
  const oneLine = sliceWhole(text, PREVIEW_CHARS * 2).replace(/\s+/g, " ").trim();
  return oneLine.length > PREVIEW_CHARS ? sliceWhole(oneLine, PREVIEW_CHARS - 1) + "…" : oneLine;
}

/** The first `length` UTF-16 units, one fewer if that would split a surrogate pair. */
function sliceWhole(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON after all: recorded as text
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function firstName(object: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = object[name];
    const text = nameOf(value);
    if (text !== undefined) return text;
  }
  return undefined;
}

function nameOf(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() ? value.slice(0, 200) : undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const names = value.map(nameOf).filter((name) => name !== undefined);
    return names.length ? names.join(",").slice(0, 200) : undefined;
  }
  if (isPlainObject(value)) return nameOf(value.name ?? value.id);
  return undefined;
}

function firstContent(
  object: Record<string, unknown>,
  prefix: string,
): { text: string; field: string } | undefined {
  for (const name of CONTENT_FIELDS) {
    const value = object[name];
    if (value === undefined || value === null) continue;
    if (name === "message" && isPlainObject(value)) continue; // handled as a nested message
    const text = contentText(value);
    if (text !== undefined) return { text, field: prefix + name };
  }
  return undefined;
}

/** Text of a content value: strings as they are, content-block arrays by their text parts. */
function contentText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const parts = value.map((block) => {
      if (typeof block === "string") return block;
      if (isPlainObject(block) && typeof block.text === "string") return block.text;
      return JSON.stringify(block);
    });
    return parts.join("\n");
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
