/**
 * Enrichment: pure functions from the raw frames of a bus message to a log record with
 * metadata. Nothing here does I/O or throws on bad input.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { RecordBody } from "../store/record.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { findEnvelope } from "./envelope.ts";
import { decodeFrame, type DecodeFrameOptions, DEFAULT_BLOB_THRESHOLD_BYTES } from "./frames.ts";
import { enrichFrames, splitMessage } from "./metadata.ts";

export {
  BLOB_HEAD_BYTES,
  type DecodedFrame,
  decodeFrame,
  type DecodeFrameOptions,
  DEFAULT_BLOB_THRESHOLD_BYTES,
} from "./frames.ts";
export {
  enrichFrames,
  estimateTokens,
  extractFields,
  type MessageMeta,
  splitMessage,
} from "./metadata.ts";

/** Where a message sits in the log: assigned by the daemon, not by enrichment. */
export interface RecordPlacement {
  readonly seq: number;
  readonly session: string;
  readonly receivedAt: Date;
  /** `receivedAt.toISOString()`, when the caller has it already (the writer caches it per ms). */
  readonly receivedAtText?: string;
}

/**
 * Most bytes of frames kept inside one message's log line; larger frames go to blobs until the
 * rest fits. With JSON escaping (at worst 6 characters per byte) the line stays well under
 * V8's longest string, however many frames under the blob threshold a message has.
 */
export const MAX_INLINE_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Builds the v1 `message` record for a multipart bus message: every frame kept losslessly,
 * topic and metadata extracted. Frames over the blob threshold become blob references, and so
 * do the largest others when together they exceed {@link MAX_INLINE_MESSAGE_BYTES}.
 *
 * @example
 * ```ts
 * const body = messageRecord([topicBytes, payloadBytes], { seq: 7, session, receivedAt: new Date() });
 * ```
 */
export function messageRecord(
  frames: readonly Uint8Array[],
  placement: RecordPlacement,
  options: DecodeFrameOptions = {},
): RecordBody {
  const blobbed = framesToBlob(frames, options);
  const decoded = frames.map((frame, i) =>
    decodeFrame(frame, blobbed.has(i) ? { blobThresholdBytes: -1 } : options)
  );
  const parts = splitMessage(decoded);
  const meta = enrichFrames(decoded, parts);
  // The same byte search the receive loop accounts with (also for payloads too large to parse),
  // so what the log says about (pub, seq) is what the daemon counted.
  const envelope = findEnvelope(frames);
  return {
    v: RECORD_FORMAT_VERSION,
    seq: placement.seq,
    type: "message",
    session: placement.session,
    received_at: placement.receivedAtText ?? placement.receivedAt.toISOString(),
    topic: parts.topic,
    frames: decoded.map((frame) => frame.stored),
    meta: envelope ? { ...meta, pub: envelope.pub, pub_seq: envelope.seq } : meta,
  };
}

/** Indexes of frames under the threshold that must still go to blobs (largest first). */
function framesToBlob(frames: readonly Uint8Array[], options: DecodeFrameOptions): Set<number> {
  const threshold = options.blobThresholdBytes ?? DEFAULT_BLOB_THRESHOLD_BYTES;
  let inlineBytes = 0;
  for (const frame of frames) if (frame.length <= threshold) inlineBytes += frame.length;
  const chosen = new Set<number>();
  if (inlineBytes <= MAX_INLINE_MESSAGE_BYTES) return chosen; // the usual case: one pass, no sort
  const bySize = frames.map((frame, i) => ({ i, bytes: frame.length }))
    .filter((frame) => frame.bytes <= threshold)
    .sort((a, b) => b.bytes - a.bytes || a.i - b.i);
  for (const frame of bySize) {
    if (inlineBytes <= MAX_INLINE_MESSAGE_BYTES) break;
    chosen.add(frame.i);
    inlineBytes -= frame.bytes;
  }
  return chosen;
}

/** Bytes of an oversized message kept in its record (`head_b64`). */
export const OVERSIZED_HEAD_BYTES = 4096;
const MAX_TOPIC_BYTES = 256;
const HASH_SLICE_BYTES = 64 * 1024 * 1024;
const topicDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Builds the `oversized` record of a message too large to keep (over `maxMessageBytes`): its
 * size, each frame's size, the SHA-256 of all its frames concatenated in order (no separators),
 * the first {@link OVERSIZED_HEAD_BYTES} bytes of that concatenation (base64), and the topic
 * when the first of several frames is short text. The content itself is not kept.
 *
 * @example
 * ```ts
 * const body = oversizedRecord(frames, { seq, session, receivedAt }, { maxMessageBytes, reason });
 * ```
 */
export function oversizedRecord(
  frames: readonly Uint8Array[],
  placement: RecordPlacement,
  options: { readonly maxMessageBytes: number; readonly reason?: string },
): RecordBody {
  const hash = createHash("sha256");
  const head = new Uint8Array(OVERSIZED_HEAD_BYTES);
  let headBytes = 0;
  let bytes = 0;
  for (const frame of frames) {
    // In slices: one update() of a multi-gigabyte view is not guaranteed to work everywhere.
    for (let at = 0; at < frame.length; at += HASH_SLICE_BYTES) {
      hash.update(frame.subarray(at, at + HASH_SLICE_BYTES));
    }
    bytes += frame.length;
    if (headBytes < OVERSIZED_HEAD_BYTES) {
      const take = frame.subarray(0, OVERSIZED_HEAD_BYTES - headBytes);
      head.set(take, headBytes);
      headBytes += take.length;
    }
  }
  return {
    v: RECORD_FORMAT_VERSION,
    seq: placement.seq,
    type: "oversized",
    session: placement.session,
    received_at: placement.receivedAt.toISOString(),
    topic: topicOf(frames),
    reason: options.reason ??
      `message of ${bytes} bytes is over max-message-bytes (${options.maxMessageBytes}): ` +
        "content not kept",
    bytes,
    max_message_bytes: options.maxMessageBytes,
    sha256: hash.digest("hex"),
    frame_bytes: frames.map((frame) => frame.length),
    head_b64: Buffer.from(head.buffer, 0, headBytes).toString("base64"),
  };
}

function topicOf(frames: readonly Uint8Array[]): string | null {
  const first = frames[0];
  if (frames.length < 2 || !first || first.length > MAX_TOPIC_BYTES) return null;
  try {
    return topicDecoder.decode(first);
  } catch {
    return null; // a binary first frame: no topic
  }
}
