/**
 * Web Worker that encodes checkpoint segments ({@link encodeSegment}) beside the thread that
 * reads and checks the log lines: a large checkpoint's hashing and compression use the second
 * core. First message `{ finished }` (a shared counter it adds 1 to per segment done), then
 * requests `{ id, bytes }` (bytes transferred); replies `{ id, segment }` or `{ id, error }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as zlib from "node:zlib";
import { loadNative } from "./checksums.ts";
import { type EncodedSegment, encodeSegment } from "./_segment_encoding.ts";

/** A segment to encode. */
export interface SegmentRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
}

/** The first message: where to count finished segments (`Atomics.add(finished, 0, 1)`). */
export interface SegmentWorkerSetup {
  readonly finished: Int32Array;
}

/** The encoded segment, or why it could not be encoded. */
export type SegmentReply =
  | { readonly id: number; readonly segment: EncodedSegment }
  | { readonly id: number; readonly error: string };

// Installed at once (not after an await), so that no request arrives before a handler.
const ready = loadNative();

let finished: Int32Array | undefined;

self.onmessage = async (event: MessageEvent<SegmentRequest | SegmentWorkerSetup>) => {
  if ("finished" in event.data) {
    finished = event.data.finished;
    return;
  }
  await ready;
  const { id, bytes } = event.data;
  let reply: SegmentReply;
  try {
    reply = { id, segment: ownBuffer(encodeSegment(zlib, bytes)) };
  } catch (error) {
    // Compression of bytes in memory fails only for a broken runtime: the creator rethrows it.
    if (!(error instanceof Error)) throw error;
    reply = { id, error: `${error.name}: ${error.message}` };
  }
  const transfer = "segment" in reply ? [reply.segment.compressed.buffer as ArrayBuffer] : [];
  self.postMessage(reply, transfer);
  if (finished) Atomics.add(finished, 0, 1);
};

/** The segment with compressed bytes that own their whole buffer (safe to transfer). */
function ownBuffer(segment: EncodedSegment): EncodedSegment {
  const { compressed } = segment;
  if (compressed.byteOffset === 0 && compressed.byteLength === compressed.buffer.byteLength) {
    return segment;
  }
  return { ...segment, compressed: compressed.slice() };
}
