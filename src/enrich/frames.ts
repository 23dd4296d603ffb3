import { type BlobFrame, sha256HexSync } from "../store/blob_store.ts";
import type { StoredFrame } from "../store/record.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Frames above this many bytes are stored as blobs unless the caller says otherwise. */
export const DEFAULT_BLOB_THRESHOLD_BYTES = 1024 * 1024;
/** Bytes of a blob frame kept in its record as text (`head`), for previews and search. */
export const BLOB_HEAD_BYTES = 4096;

/** A frame decoded for storage and for enrichment. */
export interface DecodedFrame {
  /** Lossless stored form: text when valid UTF-8, else `{ b64 }`; a blob reference when large. */
  readonly stored: StoredFrame;
  /**
   * The text, or null when the bytes are not valid UTF-8. For a blob frame only its first
   * {@link BLOB_HEAD_BYTES} bytes (a huge frame is never decoded into one string).
   */
  readonly text: string | null;
  readonly bytes: number;
  /** True when the frame goes to a blob file: `text` is then only its start. */
  readonly blob?: boolean;
}

/** Options of {@link decodeFrame}. */
export interface DecodeFrameOptions {
  /** Frames longer than this become blob references; default {@link DEFAULT_BLOB_THRESHOLD_BYTES}. */
  readonly blobThresholdBytes?: number;
}

/**
 * Decodes one frame losslessly: valid UTF-8 (a leading BOM kept) becomes a string, anything
 * else base64. Encoding the string back as UTF-8 gives the original bytes. A frame over the
 * blob threshold is not decoded at all: it becomes `{ blob: <sha256>, bytes, head? }`, and the
 * caller stores its bytes as that blob before writing the record.
 *
 * @example
 * ```ts
 * decodeFrame(new TextEncoder().encode("hi")).stored; // "hi"
 * decodeFrame(new Uint8Array([0xff])).stored;          // { b64: "/w==" }
 * ```
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeFrameOptions = {}): DecodedFrame {
  if (bytes.length > (options.blobThresholdBytes ?? DEFAULT_BLOB_THRESHOLD_BYTES)) {
    return decodeBlobFrame(bytes);
  }
  let text: string | null;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = null;
  }
  if (text !== null) return { stored: text, text, bytes: bytes.length };
  // toBase64(), not node:buffer: as fast, and the readers that import this module start faster.
  return { stored: { b64: bytes.toBase64() }, text: null, bytes: bytes.length };
}

function decodeBlobFrame(bytes: Uint8Array): DecodedFrame {
  const head = textHead(bytes.subarray(0, BLOB_HEAD_BYTES));
  const stored: BlobFrame = head === null
    ? { blob: sha256HexSync(bytes), bytes: bytes.length }
    : { blob: sha256HexSync(bytes), bytes: bytes.length, head };
  return { stored, text: head, bytes: bytes.length, blob: true };
}

/**
 * The bytes as text when they are valid UTF-8 without NUL (a character cut at the end is
 * dropped); null for binary.
 */
function textHead(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes, {
      stream: true,
    });
  } catch {
    return null;
  }
}
