import { Buffer } from "node:buffer";
import type { StoredFrame } from "../store/record.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A frame decoded for storage and for enrichment. */
export interface DecodedFrame {
  /** Lossless stored form: text when valid UTF-8, else `{ b64 }`. */
  readonly stored: StoredFrame;
  /** The text, or null when the bytes are not valid UTF-8. */
  readonly text: string | null;
  readonly bytes: number;
}

/**
 * Decodes one frame losslessly: valid UTF-8 (a leading BOM kept) becomes a string, anything
 * else base64. Encoding the string back as UTF-8 gives the original bytes.
 *
 * @example
 * ```ts
 * decodeFrame(new TextEncoder().encode("hi")).stored; // "hi"
 * decodeFrame(new Uint8Array([0xff])).stored;          // { b64: "/w==" }
 * ```
 */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  let text: string | null;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = null;
  }
  if (text !== null) return { stored: text, text, bytes: bytes.length };
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  return { stored: { b64: base64 }, text: null, bytes: bytes.length };
}
