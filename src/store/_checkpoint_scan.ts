/**
 * Reading log lines for a checkpoint without decoding or parsing them: the checksum is checked
 * on the bytes (the `crc` field sits at a fixed place at the end of every line), and the few
 * fields a checkpoint's summary needs (seq, type, session, topic, and meta's sender, bytes and
 * preview) are read from the bytes where the writer puts them. Any line of another shape (an
 * escape in a key, a nested meta value, a number written oddly) is reported as not handled, and
 * the caller reads it the general way ({@link checkLineChecksum}, {@link recordHeadline}): the
 * results are the same, only slower.
 *
 * @module
 */
import { crc32 } from "./checksums.ts";

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // lines reach here checked to be UTF-8
const CRC_FIELD = encoder.encode(',"crc":"');
/** `,"crc":"` + 8 hex digits + `"}`. */
const CRC_SUFFIX_LENGTH = CRC_FIELD.length + 8 + 2;
const HEX = encoder.encode("0123456789abcdef");
const PREFIX_V = encoder.encode('{"v":1,"seq":');
const PREFIX_TYPE = encoder.encode(',"type":"');
const PREFIX_SESSION = encoder.encode('","session":"');
const RECEIVED_AT = encoder.encode('"received_at":"');
const TOPIC = encoder.encode(',"topic":');
const NULL = encoder.encode("null");
const META = encoder.encode(',"meta":');
const MESSAGE = encoder.encode("message");

/** A CRC step for one byte; the table for `}` alone (one entry is all the line check needs). */
function crcAfterClosingBrace(crc: number): number {
  let c = (~crc ^ CLOSE_BRACE) & 0xff;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return ~(c ^ (~crc >>> 8)) >>> 0;
}

/**
 * True when the line `buf[start, end)` (newline included) ends with a `crc` field whose digits
 * are the CRC-32 of the line without that field, as {@link checkLineChecksum} computes it. False
 * says only "not verified here": the caller asks the general check why.
 */
export function lineChecksumHolds(buf: Uint8Array, start: number, end: number): boolean {
  if (end > start && buf[end - 1] === NEWLINE) end--;
  const suffixStart = end - CRC_SUFFIX_LENGTH;
  if (suffixStart - start < 2) return false;
  for (let i = 0; i < CRC_FIELD.length; i++) {
    if (buf[suffixStart + i] !== CRC_FIELD[i]) return false;
  }
  if (buf[end - 2] !== QUOTE || buf[end - 1] !== CLOSE_BRACE) return false;
  const crc = crcAfterClosingBrace(crc32(buf.subarray(start, suffixStart)));
  const digitsAt = suffixStart + CRC_FIELD.length;
  for (let i = 0; i < 8; i++) {
    if (buf[digitsAt + i] !== HEX[(crc >>> (28 - 4 * i)) & 0xf]) return false;
  }
  return true;
}

/**
 * Where a string value sits in a line: the bytes between its quotes, escapes left as they are.
 * Mutable and reused from line to line (no allocation per line): copy it to keep it.
 */
export class StringSpan {
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  escaped = false;

  /** Points this span at `buf[start, end)`; returns it. */
  set(buf: Uint8Array, start: number, end: number, escaped: boolean): this {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.escaped = escaped;
    return this;
  }

  /** True for `""`: an escaped string is never empty. */
  get empty(): boolean {
    return this.end === this.start;
  }
}
const EMPTY = new Uint8Array();

/** The string a {@link StringSpan} holds. */
export function spanText(span: StringSpan): string {
  if (!span.escaped) return decoder.decode(span.buf.subarray(span.start, span.end));
  return JSON.parse(decoder.decode(span.buf.subarray(span.start - 1, span.end + 1)));
}

/** The summary fields of one line, filled in place by {@link readLineFields}. */
export class LineFields {
  seq = 0;
  isMessage = false;
  /** The session id's bytes: `buf[sessionStart, sessionEnd)`. */
  sessionStart = 0;
  sessionEnd = 0;
  /** Messages only: the topic (unless `null`), meta's sender and preview (when present). */
  readonly topic = new StringSpan();
  readonly sender = new StringSpan();
  readonly preview = new StringSpan();
  hasTopic = false;
  hasSender = false;
  hasPreview = false;
  /** Messages only: meta's bytes, 0 when absent. */
  bytes = 0;
  buf: Uint8Array = new Uint8Array();
}

/**
 * Reads seq, type, session (and for messages topic and meta's sender, bytes and preview) from
 * the verified line `buf[start, end)`, the way {@link recordHeadline} reads them. Returns false
 * for a line it does not handle; `fields` is then undefined.
 */
export function readLineFields(
  buf: Uint8Array,
  start: number,
  end: number,
  fields: LineFields,
): boolean {
  fields.buf = buf;
  let at = expect(buf, start, PREFIX_V);
  if (at < 0) return false;
  let seq = 0;
  const digitsStart = at;
  for (let b = buf[at]!; b >= 0x30 && b <= 0x39; b = buf[++at]!) seq = seq * 10 + b - 0x30;
  if (at === digitsStart || at - digitsStart > 15) return false;
  at = expect(buf, at, PREFIX_TYPE);
  if (at < 0) return false;
  const typeStart = at;
  for (let b = buf[at]!; (b >= 0x61 && b <= 0x7a) || b === 0x5f; b = buf[++at]!);
  if (at === typeStart) return false;
  const isMessage = at - typeStart === MESSAGE.length && expect(buf, typeStart, MESSAGE) === at;
  at = expect(buf, at, PREFIX_SESSION);
  if (at < 0) return false;
  const sessionStart = at;
  for (let b = buf[at]!; isSessionByte(b); b = buf[++at]!);
  if (buf[at] !== QUOTE || buf[at + 1] !== COMMA) return false;
  fields.seq = seq;
  fields.isMessage = isMessage;
  fields.sessionStart = sessionStart;
  fields.sessionEnd = at;
  if (!isMessage) return true;
  // recordHeadline takes the first `,"topic":` after the session: right after received_at,
  // whose value (an ISO time) holds no quote.
  at = expect(buf, at + 2, RECEIVED_AT);
  if (at < 0) return false;
  const timeEnd = buf.indexOf(QUOTE, at);
  if (timeEnd < 0 || timeEnd >= end) return false;
  for (; at < timeEnd; at++) if (buf[at] === BACKSLASH) return false;
  at = expect(buf, timeEnd + 1, TOPIC);
  if (at < 0) return false;
  fields.hasTopic = expect(buf, at, NULL) < 0;
  if (fields.hasTopic) {
    const topicEnd = stringEnd(buf, at, end);
    if (topicEnd < 0) return false;
    fields.topic.set(buf, at + 1, topicEnd - 1, lastStringEscaped);
  }
  return readMeta(buf, start, end, fields);
}

/** meta's sender, preview and bytes, from the last `,"meta":{` of the line (as recordHeadline). */
function readMeta(buf: Uint8Array, start: number, end: number, fields: LineFields): boolean {
  const metaAt = lastIndexOfMeta(buf, start, end);
  if (metaAt < 0) return false;
  let at = metaAt + META.length + 1;
  fields.hasSender = false;
  fields.hasPreview = false;
  let bytes = 0;
  if (buf[at] === CLOSE_BRACE) at = -1; // {}: nothing to read
  while (at >= 0) {
    const keyEnd = stringEnd(buf, at, end);
    if (keyEnd < 0 || lastStringEscaped || buf[keyEnd] !== COLON) return false;
    const key = keyOf(buf, at + 1, keyEnd - 1);
    at = keyEnd + 1;
    let valueEnd: number;
    if (buf[at] === QUOTE) {
      valueEnd = stringEnd(buf, at, end);
      if (valueEnd < 0) return false;
      if (key === Key.sender) {
        fields.sender.set(buf, at + 1, valueEnd - 1, lastStringEscaped);
        fields.hasSender = true;
      } else if (key === Key.preview) {
        fields.preview.set(buf, at + 1, valueEnd - 1, lastStringEscaped);
        fields.hasPreview = true;
      } else if (key === Key.bytes) return false; // not a number: the general way
    } else {
      valueEnd = plainValueEnd(buf, at);
      if (valueEnd < 0) return false;
      if (key === Key.bytes) {
        const number = wholeNumber(buf, at, valueEnd);
        if (number === undefined) return false;
        bytes = number;
      } else if (key !== Key.other) return false; // a sender or preview not a string
    }
    if (buf[valueEnd] === CLOSE_BRACE) break;
    if (buf[valueEnd] !== COMMA) return false;
    at = valueEnd + 1;
  }
  fields.bytes = bytes;
  return true;
}

const enum Key {
  other,
  sender,
  preview,
  bytes,
}

function keyOf(buf: Uint8Array, start: number, end: number): Key {
  const length = end - start;
  if (length === 6 && expect(buf, start, SENDER) > 0) return Key.sender;
  if (length === 7 && expect(buf, start, PREVIEW) > 0) return Key.preview;
  if (length === 5 && expect(buf, start, BYTES) > 0) return Key.bytes;
  return Key.other;
}
const SENDER = encoder.encode("sender");
const PREVIEW = encoder.encode("preview");
const BYTES = encoder.encode("bytes");

/**
 * Where the line `buf[start, end)` has its last `,"meta":{` before the crc field, or -1 (a JSON
 * string cannot hold it unescaped).
 */
function lastIndexOfMeta(buf: Uint8Array, start: number, end: number): number {
  for (
    let at = buf.lastIndexOf(OPEN_BRACE, end - CRC_SUFFIX_LENGTH - 1);
    at - META.length >= start;
    at = buf.lastIndexOf(OPEN_BRACE, at - 1)
  ) {
    if (expect(buf, at - META.length, META) === at) return at - META.length;
  }
  return -1;
}

/** The index after `bytes` when the line holds them at `at`, else -1. */
function expect(buf: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return -1;
  return at + bytes.length;
}

function isSessionByte(b: number): boolean {
  // [0-9A-Za-z_.-]
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
    b === 0x5f || b === 0x2e || b === 0x2d;
}

/** Whether the string {@link stringEnd} last read holds an escape. */
let lastStringEscaped = false;

/**
 * The index after the closing quote of the JSON string that starts with the quote at `at`, or
 * -1 when none is there or it is not valid JSON (a raw control character, an unknown escape, no
 * closing quote before `end`). Sets {@link lastStringEscaped}.
 */
function stringEnd(buf: Uint8Array, at: number, end: number): number {
  if (buf[at] !== QUOTE) return -1;
  let escaped = false;
  for (let i = at + 1; i < end; i++) {
    const b = buf[i]!;
    if (b > BACKSLASH) continue; // most text: lower case letters and what is above them
    if (b === QUOTE) {
      lastStringEscaped = escaped;
      return i + 1;
    }
    if (b < 0x20) return -1;
    if (b === BACKSLASH) {
      escaped = true;
      const next = buf[++i];
      if (next === 0x75) { // \uXXXX
        for (let k = 1; k <= 4; k++) if (!isHexDigit(buf[i + k])) return -1;
        i += 4;
      } else if (
        next !== QUOTE && next !== BACKSLASH && next !== 0x2f && next !== 0x62 && next !== 0x66 &&
        next !== 0x6e && next !== 0x72 && next !== 0x74
      ) return -1;
    }
  }
  return -1;
}

function isHexDigit(b: number | undefined): boolean {
  return b !== undefined &&
    ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/** End of a number, true, false or null at `at` (checked as JSON would), or -1. */
function plainValueEnd(buf: Uint8Array, at: number): number {
  for (const word of [TRUE, FALSE, NULL]) {
    const end = expect(buf, at, word);
    if (end > 0) return end;
  }
  let i = at;
  if (buf[i] === 0x2d) i++;
  if (buf[i] === 0x30) i++;
  else if (buf[i]! >= 0x31 && buf[i]! <= 0x39) { while (buf[i]! >= 0x30 && buf[i]! <= 0x39) i++; }
  else return -1;
  if (buf[i] === 0x2e) {
    const fraction = ++i;
    while (buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    if (i === fraction) return -1;
  }
  if (buf[i] === 0x65 || buf[i] === 0x45) {
    i++;
    if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
    const exponent = i;
    while (buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    if (i === exponent) return -1;
  }
  return i;
}
const TRUE = encoder.encode("true");
const FALSE = encoder.encode("false");

/** A whole number of at most 15 digits without sign, fraction or exponent; else undefined. */
function wholeNumber(buf: Uint8Array, start: number, end: number): number | undefined {
  if (end - start > 15) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x30 || b > 0x39) return undefined;
    value = value * 10 + b - 0x30;
  }
  return value;
}

/** True when two byte ranges hold the same bytes. */
export function sameBytes(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/**
 * Decodes short strings that repeat (senders, topics, the session id) once, recognising them
 * by their bytes.
 */
export class RepeatedStrings {
  readonly #byKey = new Map<number, { bytes: Uint8Array; text: string }[]>();
  #last: { bytes: Uint8Array; text: string } | undefined;

  /** The string of `span`. */
  text(span: StringSpan): string {
    if (span.escaped) return spanText(span);
    return this.decode(span.buf, span.start, span.end);
  }

  /** The UTF-8 text of `buf[start, end)`. */
  decode(buf: Uint8Array, start: number, end: number): string {
    const last = this.#last;
    if (last && sameBytes(last.bytes, 0, last.bytes.length, buf, start, end)) return last.text;
    const length = end - start;
    const key = length === 0 ? 0 : length * 65536 + buf[start]! * 256 + buf[end - 1]!;
    let entries = this.#byKey.get(key);
    if (entries === undefined) {
      entries = [];
      if (this.#byKey.size < MAX_REPEATED_KEYS) this.#byKey.set(key, entries);
    }
    for (const entry of entries) {
      if (sameBytes(entry.bytes, 0, length, buf, start, end)) {
        this.#last = entry;
        return entry.text;
      }
    }
    const entry = { bytes: buf.slice(start, end), text: decoder.decode(buf.subarray(start, end)) };
    if (entries.length < 8) entries.push(entry);
    this.#last = entry;
    return entry.text;
  }
}

const MAX_REPEATED_KEYS = 4096;
