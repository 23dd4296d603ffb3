/**
 * Web Worker that owns the session log file: it appends the batches the recording thread hands
 * over, and runs the group commit (write + fsync) on its own event loop, so a busy receive loop
 * can never delay an fsync. Protocol: see {@link LogWriter}.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createJsonLogger, type LogLevel } from "../logger.ts";
import { MessageLog } from "./message_log.ts";

/** Requests the worker handles, in order. */
export type WriterRequest =
  | {
    readonly type: "open";
    readonly id: number;
    readonly path: string;
    readonly syncMode: "interval" | "always";
    readonly syncMs: number;
    readonly logLevel: LogLevel;
  }
  | { readonly type: "append"; readonly bytes: Uint8Array; readonly lastSeq: number }
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
  | { readonly type: "write_error"; readonly message: string };

let log: MessageLog | undefined;
let chain: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const request = event.data;
  chain = chain.then(() => handle(request)).catch((error) => {
    const id = "id" in request ? request.id : -1;
    post({ type: "failed", id, message: (error as Error).message });
  });
};

async function handle(request: WriterRequest): Promise<void> {
  switch (request.type) {
    case "open": {
      const logger = createJsonLogger({ component: "log-writer", level: request.logLevel });
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
    case "append":
      if (!log) throw new Error("log writer: append before open");
      log.append(request.bytes, request.lastSeq);
      return;
    case "flush":
    case "close": {
      if (!log) throw new Error(`log writer: ${request.type} before open`);
      const current = log;
      if (request.type === "close") {
        await current.close();
        log = undefined;
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
