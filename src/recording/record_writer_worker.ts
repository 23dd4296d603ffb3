/**
 * Web Worker that turns received frames into log records and owns the session log file: it
 * enriches and encodes messages, appends them with the daemon's event lines in order, and runs
 * the group commit (write + fsync) on its own event loop. The receiving thread only receives,
 * numbers and hands over, so a busy receive loop can never delay an fsync. Protocol: see
 * {@link RecordWriter}.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { messageRecord, oversizedRecord } from "../enrich/mod.ts";
import {
  createForwardingLogger,
  type ForwardedLogEntry,
  type Logger,
  type LogLevel,
} from "../logger.ts";
import { isBlobFrame, writeBlobSync } from "../store/blob_store.ts";
import { MessageLog, type UnwrittenReport } from "../store/message_log.ts";
import { loadNative } from "../store/checksums.ts";
import {
  encodeMessageLine,
  encodeRecordLine,
  type RecordBody,
  type StoredFrame,
} from "../store/record.ts";
import { unpackBatch, type UnpackedItem } from "./_batch_codec.ts";
import { framesDigest, type ReplayMark, ReplayMarks } from "./replay_marks.ts";

/** Requests the worker handles, in order. */
export type WriterRequest =
  | {
    readonly type: "open";
    readonly id: number;
    readonly path: string;
    readonly syncMode: "interval" | "always";
    readonly syncMs: number;
    readonly logLevel: LogLevel;
    /** Folder of the blob files (frames over `blobThresholdBytes`). */
    readonly blobDir: string;
    readonly blobThresholdBytes: number;
    readonly maxMessageBytes: number;
    /** Debug fault injection (SHEARWATER_DEBUG_FAULT): throw on a message of this topic. */
    readonly faultTopic?: string;
  }
  | { readonly type: "append"; readonly batch: ArrayBuffer; readonly session: string }
  | { readonly type: "flush"; readonly id: number }
  | { readonly type: "close"; readonly id: number }
  /** Stop retrying failed writes after `afterMs` (a shutdown deadline); handled at once. */
  | { readonly type: "give_up"; readonly afterMs: number }
  /**
   * Messages a replayer is about to send: a received message with one of these digests is
   * recorded with `meta.replay_of`. Handled in order with appends; answered with `done`, or
   * `failed` when the marks do not fit.
   */
  | {
    readonly type: "expect_replays";
    readonly id: number;
    readonly marks: readonly ReplayMark[];
    readonly ttlMs: number;
  };

/** Messages the worker sends back. */
export type WriterEvent =
  | {
    readonly type: "done";
    readonly id: number;
    readonly durableSeq: number;
    readonly size: number;
    /** The open file's identity (open) or what could not be written (close). */
    readonly ino?: number | null;
    readonly dev?: number;
    readonly unwritten?: UnwrittenReport;
  }
  | { readonly type: "failed"; readonly id: number; readonly message: string }
  | {
    readonly type: "durable";
    readonly durableSeq: number;
    readonly size: number;
    /** Wall-clock ms (sub-ms) on this thread right after the fsync returned. */
    readonly atMs: number;
  }
  | { readonly type: "write_error"; readonly message: string }
  | { readonly type: "log"; readonly entry: ForwardedLogEntry };

let log: MessageLog | undefined;
let settings: Extract<WriterRequest, { type: "open" }> | undefined;
let logger: Logger | undefined;
let chain: Promise<void> = Promise.resolve();
let faultTopic: Uint8Array | undefined;
const replayMarks = new ReplayMarks();
let lastReceivedAt = { ms: Number.NaN, date: new Date(0), text: "" };

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const request = event.data;
  if (request.type === "append") {
    // Synchronous, so appends never wait behind an fsync: only open/flush/close are chained.
    appendBatch(request.batch, request.session);
    return;
  }
  if (request.type === "expect_replays") {
    // Not chained: the marks must be in place before the next append, which is synchronous.
    if (replayMarks.add(request.marks, request.ttlMs, Date.now())) {
      post({ type: "done", id: request.id, durableSeq: log?.durableSeq ?? 0, size: 0 });
    } else {
      post({
        type: "failed",
        id: request.id,
        message: `too many replayed messages announced (${replayMarks.size} waiting)`,
      });
    }
    return;
  }
  if (request.type === "give_up") {
    // Not chained: a flush stuck retrying on a full disk is what it has to end.
    log?.giveUpAfter(request.afterMs);
    return;
  }
  chain = chain.then(() => handle(request)).catch((error) => {
    post({ type: "failed", id: request.id, message: (error as Error).message });
  });
};

function appendBatch(batch: ArrayBuffer, session: string): void {
  if (!log) throw new Error("record writer: append before open");
  for (const item of unpackBatch(batch)) {
    if (faultTopic && item.kind !== 0 && sameBytes(item.parts[0], faultTopic)) {
      throw new Error("debug fault injected by SHEARWATER_DEBUG_FAULT (writer thread)");
    }
    const line = item.kind === 0 ? item.parts[0]! : messageLine(item, session);
    log.append(line, item.seq, item.kind === 0 ? 0 : 1);
  }
}

/**
 * Encodes a bus message. Frames over the blob threshold are written (and fsynced) as blob files
 * first, so a record never names a blob that is not on disk. If a blob cannot be written the
 * message is recorded as `oversized` (size, hash, first bytes) and recording goes on.
 */
function messageLine(item: UnpackedItem, session: string): Uint8Array {
  if (item.receivedAtMs !== lastReceivedAt.ms) {
    // Messages of a burst share their millisecond: one Date and one toISOString for them all.
    const date = new Date(item.receivedAtMs);
    lastReceivedAt = { ms: item.receivedAtMs, date, text: date.toISOString() };
  }
  const placement = {
    seq: item.seq,
    session,
    receivedAt: lastReceivedAt.date,
    receivedAtText: lastReceivedAt.text,
  };
  const recorded = messageRecord(item.parts, placement, {
    blobThresholdBytes: settings!.blobThresholdBytes,
  });
  const body = item.kind === 2 ? markRefilled(recorded) : markReplay(recorded, item.parts);
  const frames = body.frames as StoredFrame[];
  try {
    frames.forEach((frame, i) => {
      if (isBlobFrame(frame)) writeBlobSync(settings!.blobDir, frame.blob, item.parts[i]!);
    });
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    const message = (error as Error).message;
    logger?.error("blob_write_failed", { seq: item.seq, error: message });
    return encodeRecordLine(oversizedRecord(item.parts, placement, {
      maxMessageBytes: settings!.maxMessageBytes,
      reason: `a frame could not be written as a blob: ${message}: content not kept`,
    }));
  }
  return encodeMessageLine(body, item.parts);
}

/** Adds `meta.replay_of` when the message is one a replayer announced. */
function markReplay(body: RecordBody, parts: readonly Uint8Array[]): RecordBody {
  if (replayMarks.size === 0) return body; // the usual case: no digest computed
  const replayOf = replayMarks.take(framesDigest(parts), Date.now());
  if (replayOf === undefined) return body;
  return { ...body, meta: { ...(body.meta as Record<string, unknown>), replay_of: replayOf } };
}

/** Adds `meta.refilled` to a message a publisher resent to fill a gap. */
function markRefilled(body: RecordBody): RecordBody {
  return { ...body, meta: { ...(body.meta as Record<string, unknown>), refilled: true } };
}

function isFileSystemError(error: unknown): boolean {
  return Object.values(Deno.errors).some((type) => error instanceof type);
}

async function handle(
  request: Exclude<WriterRequest, { type: "append" | "give_up" | "expect_replays" }>,
): Promise<void> {
  switch (request.type) {
    case "open": {
      await loadNative(); // node:zlib's crc32 from the first line: start-up cost is no issue here
      settings = request;
      faultTopic = request.faultTopic === undefined
        ? undefined
        : new TextEncoder().encode(request.faultTopic);
      logger = createForwardingLogger(
        { component: "record-writer", level: request.logLevel },
        (entry) => post({ type: "log", entry }),
      );
      const opened: MessageLog = await MessageLog.open(request.path, {
        syncMode: request.syncMode,
        syncMs: request.syncMs,
        logger,
        onDurable: (durableSeq) =>
          post({
            type: "durable",
            durableSeq,
            size: opened.sizeBytes,
            atMs: performance.timeOrigin + performance.now(),
          }),
        onWriteError: (error) => post({ type: "write_error", message: error.message }),
      });
      log = opened;
      const identity = await opened.identity();
      post({ type: "done", id: request.id, durableSeq: 0, size: opened.sizeBytes, ...identity });
      return;
    }
    case "flush":
    case "close": {
      if (!log) throw new Error(`record writer: ${request.type} before open`);
      const current = log;
      if (request.type === "close") {
        log = undefined;
        await current.close();
      } else {
        await current.flush();
      }
      post({
        type: "done",
        id: request.id,
        durableSeq: current.durableSeq,
        size: current.sizeBytes,
        unwritten: current.unwritten,
      });
      return;
    }
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function post(event: WriterEvent): void {
  self.postMessage(event);
}
