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
import { MessageLog } from "../store/message_log.ts";
import { encodeRecordLine, type StoredFrame } from "../store/record.ts";
import { unpackBatch, type UnpackedItem } from "./_batch_codec.ts";

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
  }
  | { readonly type: "append"; readonly batch: ArrayBuffer; readonly session: string }
  | { readonly type: "flush"; readonly id: number }
  | { readonly type: "close"; readonly id: number };

/** Messages the worker sends back. */
export type WriterEvent =
  | {
    readonly type: "done";
    readonly id: number;
    readonly durableSeq: number;
    readonly size: number;
  }
  | { readonly type: "failed"; readonly id: number; readonly message: string }
  | { readonly type: "durable"; readonly durableSeq: number; readonly size: number }
  | { readonly type: "write_error"; readonly message: string }
  | { readonly type: "log"; readonly entry: ForwardedLogEntry };

let log: MessageLog | undefined;
let settings: Extract<WriterRequest, { type: "open" }> | undefined;
let logger: Logger | undefined;
let chain: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const request = event.data;
  if (request.type === "append") {
    // Synchronous, so appends never wait behind an fsync: only open/flush/close are chained.
    appendBatch(request.batch, request.session);
    return;
  }
  chain = chain.then(() => handle(request)).catch((error) => {
    post({ type: "failed", id: request.id, message: (error as Error).message });
  });
};

function appendBatch(batch: ArrayBuffer, session: string): void {
  if (!log) throw new Error("record writer: append before open");
  for (const item of unpackBatch(batch)) {
    const line = item.kind === 0 ? item.parts[0]! : messageLine(item, session);
    log.append(line, item.seq);
  }
}

/**
 * Encodes a bus message. Frames over the blob threshold are written (and fsynced) as blob files
 * first, so a record never names a blob that is not on disk. If a blob cannot be written the
 * message is recorded as `oversized` (size, hash, first bytes) and recording goes on.
 */
function messageLine(item: UnpackedItem, session: string): Uint8Array {
  const placement = { seq: item.seq, session, receivedAt: new Date(item.receivedAtMs) };
  const body = messageRecord(item.parts, placement, {
    blobThresholdBytes: settings!.blobThresholdBytes,
  });
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
  return encodeRecordLine(body);
}

function isFileSystemError(error: unknown): boolean {
  return Object.values(Deno.errors).some((type) => error instanceof type);
}

async function handle(request: Exclude<WriterRequest, { type: "append" }>): Promise<void> {
  switch (request.type) {
    case "open": {
      settings = request;
      logger = createForwardingLogger(
        { component: "record-writer", level: request.logLevel },
        (entry) => post({ type: "log", entry }),
      );
      const opened: MessageLog = await MessageLog.open(request.path, {
        syncMode: request.syncMode,
        syncMs: request.syncMs,
        logger,
        onDurable: (durableSeq) => post({ type: "durable", durableSeq, size: opened.sizeBytes }),
        onWriteError: (error) => post({ type: "write_error", message: error.message }),
      });
      log = opened;
      post({ type: "done", id: request.id, durableSeq: 0, size: opened.sizeBytes });
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
      });
      return;
    }
  }
}

function post(event: WriterEvent): void {
  self.postMessage(event);
}
