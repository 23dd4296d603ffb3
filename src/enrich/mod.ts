/**
 * Enrichment: pure functions from the raw frames of a bus message to a log record with
 * metadata. Nothing here does I/O or throws on bad input.
 *
 * @module
 */
import type { RecordBody } from "../store/record.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { decodeFrame } from "./frames.ts";
import { enrichFrames, splitMessage } from "./metadata.ts";

export { type DecodedFrame, decodeFrame } from "./frames.ts";
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
}

/**
 * Builds the v1 `message` record for a multipart bus message: every frame kept losslessly,
 * topic and metadata extracted.
 *
 * @example
 * ```ts
 * const body = messageRecord([topicBytes, payloadBytes], { seq: 7, session, receivedAt: new Date() });
 * ```
 */
export function messageRecord(
  frames: readonly Uint8Array[],
  placement: RecordPlacement,
): RecordBody {
  const decoded = frames.map(decodeFrame);
  const parts = splitMessage(decoded);
  return {
    v: RECORD_FORMAT_VERSION,
    seq: placement.seq,
    type: "message",
    session: placement.session,
    received_at: placement.receivedAt.toISOString(),
    topic: parts.topic,
    frames: decoded.map((frame) => frame.stored),
    meta: enrichFrames(decoded, parts),
  };
}
