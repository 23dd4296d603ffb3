/**
 * The publisher envelope: `"_shearwater": {"pub": "<id>", "seq": <n>}` at the top level of a
 * message's JSON payload (the last frame). Found by a byte search, not a JSON parse, so the
 * receive loop can account for it cheaply; a payload without the marker costs a native
 * `indexOf` for each `_` byte it holds.
 *
 * @module
 */
/** A publisher's identity and the message's number in its stream. */
export interface Envelope {
  /** Unique per publisher process lifetime, e.g. `alice/7f3a9c`. */
  readonly pub: string;
  /** 1, 2, 3, … per `pub`. */
  readonly seq: number;
}

/** Topic of the publishers' presence announcements. */
export const PRESENCE_TOPIC = "shearwater.presence";
/** Longest `pub` accepted; a longer one is not an envelope. */
export const MAX_PUB_CHARS = 200;

/** `"_shearwater"`; no node:buffer here, so light commands that enrich stay light. */
const MARKER = new TextEncoder().encode('"_shearwater"');
const UNDERSCORE = 0x5f;
const MAX_ENVELOPE_BYTES = 1024;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The envelope of a message (looked for in its last frame), or undefined. Never throws.
 *
 * @example
 * ```ts
 * const envelope = findEnvelope([topic, new TextEncoder().encode('{"_shearwater":{"pub":"a/1","seq":3}}')]);
 * // { pub: "a/1", seq: 3 }
 * ```
 */
export function findEnvelope(frames: readonly Uint8Array[]): Envelope | undefined {
  const payload = frames[frames.length - 1];
  if (!payload || payload.length < MARKER.length) return undefined;
  const at = markerAt(payload);
  if (at === -1) return undefined;
  return envelopeAt(payload, at + MARKER.length);
}

/** Index of the first `"_shearwater"` in `bytes`, or -1 (TypedArray indexOf is native). */
function markerAt(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(UNDERSCORE, 1); i !== -1; i = bytes.indexOf(UNDERSCORE, i + 1)) {
    if (bytes[i - 1] !== MARKER[0] || i - 1 + MARKER.length > bytes.length) continue;
    let j = 2;
    while (j < MARKER.length && bytes[i - 1 + j] === MARKER[j]) j++;
    if (j === MARKER.length) return i - 1;
  }
  return -1;
}

/** Checks the value of an `_shearwater` field parsed elsewhere (the writer's full parse). */
export function asEnvelope(value: unknown): Envelope | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { pub, seq } = value as Record<string, unknown>;
  if (typeof pub !== "string" || pub === "" || pub.length > MAX_PUB_CHARS) return undefined;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  return { pub, seq };
}

const FAST_PREFIX = new TextEncoder().encode('{"pub":"');
const FAST_SEQ = new TextEncoder().encode('","seq":');
let lastPubBytes = new Uint8Array(0);
let lastPub = "";

/**
 * The usual shape, `{"pub":"<no quote or backslash>","seq":<digits>}`, read straight from the
 * bytes (no decode, no JSON parse; the `pub` string is reused while it repeats); undefined
 * for any other shape, which the general parse handles.
 */
function fastEnvelope(payload: Uint8Array, start: number): Envelope | undefined {
  if (!bytesAt(payload, start, FAST_PREFIX)) return undefined;
  const pubStart = start + FAST_PREFIX.length;
  const pubEnd = payload.indexOf(0x22, pubStart); // '"'
  if (pubEnd <= pubStart || pubEnd - pubStart > MAX_PUB_CHARS) return undefined;
  if (payload.subarray(pubStart, pubEnd).includes(0x5c)) return undefined; // an escape
  if (!bytesAt(payload, pubEnd, FAST_SEQ)) return undefined;
  let seq = 0;
  let i = pubEnd + FAST_SEQ.length;
  const digitsStart = i;
  for (; i < payload.length && payload[i]! >= 0x30 && payload[i]! <= 0x39; i++) {
    seq = seq * 10 + payload[i]! - 0x30;
  }
  if (i === digitsStart || payload[i] !== 0x7d || payload[digitsStart] === 0x30) return undefined;
  if (!Number.isSafeInteger(seq)) return undefined;
  const pubBytes = payload.subarray(pubStart, pubEnd);
  if (!sameBytes(pubBytes, lastPubBytes)) {
    try {
      lastPub = decoder.decode(pubBytes);
    } catch (error) {
      if (error instanceof TypeError) return undefined; // not UTF-8
      throw error;
    }
    lastPubBytes = pubBytes.slice();
  }
  return { pub: lastPub, seq };
}

function bytesAt(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Parses the small object after the marker: `: { ... }` with no nested objects. */
function envelopeAt(payload: Uint8Array, from: number): Envelope | undefined {
  let i = skipSpace(payload, from);
  if (payload[i] !== 0x3a) return undefined; // ':'
  i = skipSpace(payload, i + 1);
  if (payload[i] !== 0x7b) return undefined; // '{'
  const fast = fastEnvelope(payload, i);
  if (fast) return fast;
  const start = i;
  const limit = Math.min(payload.length, start + MAX_ENVELOPE_BYTES);
  let inString = false;
  for (i = start + 1; i < limit; i++) {
    const byte = payload[i]!;
    if (inString) {
      if (byte === 0x5c) i++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b) return undefined;
    else if (byte === 0x7d) return parseObject(payload.subarray(start, i + 1));
  }
  return undefined;
}

function parseObject(bytes: Uint8Array): Envelope | undefined {
  try {
    return asEnvelope(JSON.parse(decoder.decode(bytes)));
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof TypeError) return undefined;
    throw error;
  }
}

function skipSpace(bytes: Uint8Array, from: number): number {
  let i = from;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)
  ) {
    i++;
  }
  return i;
}
