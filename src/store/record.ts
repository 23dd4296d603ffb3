import { ErrorCode, PersistError } from "../errors.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { type BlobFrame, isBlobFrame, readBlobSync } from "./blob_store.ts";
import { crc32 } from "./checksums.ts";

/**
 * One frame as stored: the text when the bytes are valid UTF-8, otherwise base64; a frame over
 * the blob threshold is a reference to a blob file (`{ blob, bytes, head? }`).
 */
export type StoredFrame = string | { readonly b64: string } | BlobFrame;

/** Kinds of record in the log: bus messages and the daemon's own events. */
export type RecordType =
  | "message"
  | "oversized"
  | "session_start"
  | "session_end"
  | "daemon_start"
  | "gap"
  | "publisher_gap"
  | "broker_down"
  | "broker_up"
  | "shutdown";

/** Fields every record carries, before its checksum is added. */
export interface RecordBody {
  readonly v: number;
  readonly seq: number;
  readonly type: RecordType;
  readonly session: string;
  readonly received_at: string;
  readonly [field: string]: unknown;
}

/** A record read back from the log, checksum verified. */
export interface LogRecord extends RecordBody {
  readonly crc: string;
}

const CRC_SUFFIX_LENGTH = ',"crc":"00000000"}'.length;
const CRC_SUFFIX_PREFIX = ',"crc":"';
const CRC_SUFFIX = new TextEncoder().encode(',"crc":"00000000"}\n');
const NEWLINE = 0x0a;
const CLOSING_BRACE = new Uint8Array([0x7d]);
const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Encodes a record as one JSONL line (with trailing newline) whose last field is `crc`: the
 * CRC-32 (hex) of the line's bytes as they would be without the `crc` field.
 *
 * @example
 * ```ts
 * const line = encodeRecordLine({ v: 1, seq: 1, type: "message", session: "s", received_at: "t" });
 * ```
 */
export function encodeRecordLine(body: RecordBody): Uint8Array {
  const json = JSON.stringify(body);
  // Encode once with a placeholder checksum, then write the hex digits in place.
  const line = encoder.encode(json.slice(0, -1) + ',"crc":"00000000"}\n');
  const bodyEnd = line.length - CRC_SUFFIX_LENGTH - 1;
  const checksum = crc32(CLOSING_BRACE, crc32(line.subarray(0, bodyEnd))) >>> 0;
  const digitsAt = bodyEnd + CRC_SUFFIX_PREFIX.length;
  for (let i = 0; i < 8; i++) {
    line[digitsAt + i] = HEX_DIGITS[(checksum >>> (28 - 4 * i)) & 0xf]!;
  }
  return line;
}

/** Text frames up to this many bytes in total are escaped from their bytes; more: the old way. */
const MAX_RAW_FRAME_BYTES = 4 * 1024 * 1024;
/**
 * Below this many bytes of text frames the stringify way is cheaper (measured: at 200 B its
 * fixed costs win; at 4 KB escaping from the bytes takes ~15 % less CPU).
 */
export const RAW_FRAME_MIN_BYTES = 1024;
/** For each byte, what JSON.stringify writes after a backslash (0: a `\u00XX` escape). */
const SHORT_ESCAPES = new Uint8Array(256);
for (const escape of ['""', "\\\\", "\bb", "\tt", "\nn", "\ff", "\rr"]) {
  SHORT_ESCAPES[escape.charCodeAt(0)] = escape.charCodeAt(1);
}
/** Lines are built one after the other in a slab and returned as views of it (no copy). */
const SLAB_BYTES = 1024 * 1024;
let slab: Uint8Array | undefined;
let slabUsed = 0;
const NO_FRAMES: readonly never[] = [];
const FRAMES_KEY = '"frames":[]';

/**
 * Encodes a message record exactly as {@link encodeRecordLine} does, byte for byte, into a
 * shared slab, and writes each text frame of a large message from its raw bytes (`frameBytes[i]`, the bytes whose UTF-8 decoding is
 * `body.frames[i]`): JSON-escaped straight into the line, with no stringify of the frame and no
 * re-encoding of it to UTF-8 (most of a line's cost). The other fields are stringified by one
 * `JSON.stringify` of the body without its frames. The line is a view into a shared slab (a new
 * slab when one is full), so it costs no allocation of its own. Falls back to
 * stringifying the whole body when the text frames together are under `rawFromBytes` (default
 * {@link RAW_FRAME_MIN_BYTES}), and to {@link encodeRecordLine} over 4 MiB.
 *
 * @example
 * ```ts
 * const line = encodeMessageLine(messageRecord(frames, placement), frames);
 * ```
 */
export function encodeMessageLine(
  body: RecordBody,
  frameBytes: readonly Uint8Array[],
  options: { readonly rawFromBytes?: number } = {},
): Uint8Array {
  const frames = body.frames as readonly StoredFrame[] | undefined;
  if (!Array.isArray(frames) || frames.length !== frameBytes.length) return encodeRecordLine(body);
  let textBytes = 0;
  for (let i = 0; i < frames.length; i++) {
    if (typeof frames[i] === "string") textBytes += frameBytes[i]!.length;
  }
  if (textBytes > MAX_RAW_FRAME_BYTES) return encodeRecordLine(body);
  if (textBytes < (options.rawFromBytes ?? RAW_FRAME_MIN_BYTES)) return encodeIntoSlab(body);
  // The fields before `frames` must be plain values, so the first `"frames":[]` is the key.
  for (const key in body) {
    if (key === "frames") break;
    const value = body[key];
    if (typeof value === "object" && value !== null) return encodeRecordLine(body);
  }
  const json = JSON.stringify({ ...body, frames: NO_FRAMES });
  const split = json.indexOf(FRAMES_KEY) + FRAMES_KEY.length - 1; // after the '['
  const head = json.slice(0, split);
  const tail = json.slice(split, -1) + ',"crc":"00000000"}\n';
  let out = slab ??= new Uint8Array(SLAB_BYTES);
  let from = slabUsed;
  let at = from;
  const reserve = (bytes: number) => {
    if (at + bytes <= out.length) return;
    // A new slab; the line so far moves with it (the old slab stays while its lines are used).
    const fresh = new Uint8Array(Math.max(SLAB_BYTES, 2 * (at - from + bytes)));
    fresh.set(out.subarray(from, at));
    at -= from;
    from = 0;
    out = slab = fresh;
  };
  const writeText = (text: string) => {
    reserve(text.length * 3); // the most UTF-8 bytes a string of this length can take
    at += encoder.encodeInto(text, out.subarray(at)).written;
  };
  writeText(head);
  for (let i = 0; i < frames.length; i++) {
    if (i > 0) {
      reserve(1);
      out[at++] = 0x2c; // ','
    }
    const frame = frames[i]!;
    if (typeof frame !== "string") {
      writeText(JSON.stringify(frame));
    } else {
      reserve(frameBytes[i]!.length * 6 + 2);
      at = writeEscaped(frameBytes[i]!, out, at);
    }
  }
  writeText(tail);
  slabUsed = at;
  const line = new Uint8Array(out.buffer, from, at - from);
  writeChecksum(line, line.length - CRC_SUFFIX_LENGTH - 1);
  return line;
}

/**
 * {@link encodeRecordLine} into the slab: the body's JSON written in place, its closing brace
 * overwritten by the crc field. Consecutive lines are adjacent, so a batch of them is one view.
 */
function encodeIntoSlab(body: RecordBody): Uint8Array {
  const json = JSON.stringify(body);
  const most = json.length * 3 + CRC_SUFFIX_LENGTH + 1;
  if (!slab || slabUsed + most > slab.length) {
    slab = new Uint8Array(Math.max(SLAB_BYTES, most));
    slabUsed = 0;
  }
  const from = slabUsed;
  const bodyEnd = from + encoder.encodeInto(json, slab.subarray(from)).written - 1;
  slab.set(CRC_SUFFIX, bodyEnd);
  slabUsed = bodyEnd + CRC_SUFFIX.length;
  const line = new Uint8Array(slab.buffer, from, slabUsed - from);
  writeChecksum(line, bodyEnd - from);
  return line;
}

/** Writes the hex CRC-32 of the line's first `bodyEnd` bytes plus `}` into its crc field. */
function writeChecksum(line: Uint8Array, bodyEnd: number): void {
  const checksum = crc32(CLOSING_BRACE, crc32(line.subarray(0, bodyEnd))) >>> 0;
  const digitsAt = bodyEnd + CRC_SUFFIX_PREFIX.length;
  for (let i = 0; i < 8; i++) {
    line[digitsAt + i] = HEX_DIGITS[(checksum >>> (28 - 4 * i)) & 0xf]!;
  }
}

/** Writes `bytes` (valid UTF-8) as a JSON string literal at `at`, as JSON.stringify would. */
function writeEscaped(bytes: Uint8Array, out: Uint8Array, at: number): number {
  // One tight loop (measured ~1.3 ns a byte; JSON.stringify + TextEncoder took ~2.5).
  let o = at;
  out[o++] = 0x22;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) {
      out[o++] = byte;
      continue;
    }
    out[o++] = 0x5c;
    const short = SHORT_ESCAPES[byte]!;
    if (short !== 0) {
      out[o++] = short;
    } else {
      out[o++] = 0x75; // u00XX, lowercase hex like JSON.stringify
      out[o++] = 0x30;
      out[o++] = 0x30;
      out[o++] = HEX_DIGITS[byte >>> 4]!;
      out[o++] = HEX_DIGITS[byte & 0xf]!;
    }
  }
  out[o++] = 0x22;
  return o;
}

/** Result of checking one line: the record, or why it cannot be trusted. */
export type LineCheck =
  | { readonly ok: true; readonly record: LogRecord }
  | { readonly ok: false; readonly reason: string };

/**
 * Verifies one line (with or without its trailing newline) and parses it. Never throws.
 *
 * @example
 * ```ts
 * const check = checkRecordLine(line);
 * if (check.ok) console.log(check.record.seq);
 * ```
 */
export function checkRecordLine(line: Uint8Array): LineCheck {
  const checked = checkLineChecksum(line);
  if (!checked.ok) return checked;
  let parsed: unknown;
  try {
    parsed = JSON.parse(checked.text);
  } catch {
    return { ok: false, reason: "checksum matches but the line is not valid JSON" };
  }
  if (!isRecord(parsed)) return { ok: false, reason: "line is JSON but not a v1 record" };
  return { ok: true, record: parsed };
}

/**
 * Verifies a line's checksum and returns its text (without the newline), not parsed. For
 * scans that only need a few fields ({@link recordHeadline}).
 */
export function checkLineChecksum(
  line: Uint8Array,
): { ok: true; text: string } | { ok: false; reason: string } {
  let end = line.length;
  if (end > 0 && line[end - 1] === NEWLINE) end--;
  if (end < CRC_SUFFIX_LENGTH + 2) return { ok: false, reason: "line too short to hold a record" };
  const body = line.subarray(0, end);
  const suffixStart = end - CRC_SUFFIX_LENGTH;
  let suffix: string;
  try {
    suffix = decoder.decode(body.subarray(suffixStart));
  } catch {
    return { ok: false, reason: "checksum field is not valid UTF-8" };
  }
  if (!suffix.startsWith(CRC_SUFFIX_PREFIX) || !suffix.endsWith('"}')) {
    return { ok: false, reason: "line does not end with a crc field" };
  }
  const expected = suffix.slice(CRC_SUFFIX_PREFIX.length, CRC_SUFFIX_PREFIX.length + 8);
  const actual = (crc32(CLOSING_BRACE, crc32(body.subarray(0, suffixStart))) >>> 0)
    .toString(16).padStart(8, "0");
  if (actual !== expected) {
    return { ok: false, reason: `checksum mismatch (stored ${expected}, computed ${actual})` };
  }
  try {
    return { ok: true, text: decoder.decode(body) };
  } catch {
    return { ok: false, reason: "checksum matches but the line is not valid UTF-8" };
  }
}

/** The fields of a record that summaries need, without its frames. */
export interface RecordHeadline {
  readonly seq: number;
  readonly type: string;
  readonly session: string;
  readonly topic?: unknown;
  readonly meta?: unknown;
}

const HEADLINE_PREFIX = /^\{"v":1,"seq":(\d+),"type":"([a-z_]+)","session":"([0-9A-Za-z_.-]*)",/;

/**
 * Reads seq, type, session, topic and meta from a verified line's text without parsing its
 * frames (the bulk of a message line): the writer always puts these fields in that order and
 * frames are JSON strings, where `,"meta":{` cannot occur unescaped. Falls back to a full parse
 * for any line of another shape.
 */
export function recordHeadline(text: string): RecordHeadline {
  const prefix = HEADLINE_PREFIX.exec(text);
  if (!prefix) return JSON.parse(text) as RecordHeadline;
  const headline = { seq: Number(prefix[1]), type: prefix[2]!, session: prefix[3]! };
  if (headline.type !== "message") return headline;
  const topicAt = text.indexOf(',"topic":', prefix[0].length - 1);
  const metaAt = text.lastIndexOf(',"meta":{');
  if (topicAt === -1 || metaAt === -1) return JSON.parse(text) as RecordHeadline;
  const topicStart = topicAt + ',"topic":'.length;
  const topicEnd = text.startsWith("null", topicStart)
    ? topicStart + 4
    : jsonValueEnd(text, topicStart);
  const metaStart = metaAt + ',"meta":'.length;
  const metaEnd = jsonValueEnd(text, metaStart);
  if (topicEnd === -1 || metaEnd === -1) return JSON.parse(text) as RecordHeadline;
  return {
    ...headline,
    topic: JSON.parse(text.slice(topicStart, topicEnd)),
    meta: JSON.parse(text.slice(metaStart, metaEnd)),
  };
}

/** End index (exclusive) of the JSON string or object starting at `start`, or -1. */
function jsonValueEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++; // backslash: skip the escaped character
      else if (char === 0x22) {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b) depth++;
    else if (char === 0x7d && --depth === 0) return i + 1;
  }
  return -1;
}

function isRecord(value: unknown): value is LogRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return record.v === RECORD_FORMAT_VERSION && typeof record.seq === "number" &&
    typeof record.type === "string" && typeof record.session === "string" &&
    typeof record.received_at === "string" && typeof record.crc === "string";
}

/** Where {@link decodeStoredFrames} finds blob files. */
export interface DecodeFramesOptions {
  /** The data dir's blob folder (`DataDirLayout.blobsDir`); needed for blob frames. */
  readonly blobDir?: string;
}

/**
 * Turns stored frames back into the exact bytes that crossed the bus: text, base64, or a blob
 * read from `blobDir` and checked against its hash. The one decoder for `show`, export and
 * replay. A missing or altered blob (or a blob frame without `blobDir`) is a
 * {@link PersistError}, never silently replaced.
 *
 * @example
 * ```ts
 * const bytes = decodeStoredFrames(record.frames as StoredFrame[], { blobDir: layout.blobsDir });
 * ```
 */
export function decodeStoredFrames(
  frames: readonly StoredFrame[],
  options: DecodeFramesOptions = {},
): Uint8Array[] {
  return frames.map((frame) => {
    if (typeof frame === "string") return encoder.encode(frame);
    if (isBlobFrame(frame)) {
      if (options.blobDir === undefined) {
        throw new Error(`decodeStoredFrames: blob frame ${frame.blob} but no blobDir given`);
      }
      return readBlobSync(options.blobDir, { sha256: frame.blob, bytes: frame.bytes });
    }
    if (typeof frame === "object" && frame !== null && typeof frame.b64 === "string") {
      return decodeBase64(frame.b64);
    }
    throw new PersistError(`Cannot decode a stored frame: ${JSON.stringify(frame).slice(0, 80)}`, {
      code: ErrorCode.recordDamaged,
    });
  });
}

// Uint8Array.fromBase64, not node:buffer: loading node:buffer costs a reader command ~5 ms.
function decodeBase64(text: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new PersistError(`Cannot decode a stored frame: it is not base64 (${error.message})`, {
      code: ErrorCode.recordDamaged,
      cause: error,
    });
  }
}
