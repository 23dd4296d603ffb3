/**
 * Web Worker entry of {@link ParsingWorker}: reads a log and posts its index entries in
 * batches, a few batches ahead of the consumer. Messages in: `{ type: "scan", path,
 * fromOffset, toOffset, ahead }`, `{ type: "more" }` (one batch consumed). Messages out:
 * `batch` ({@link ParsedBatch}), `error`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { BadLine } from "../store/log_reader.ts";
import type { PlacedEntry } from "../store/message_index.ts";
import { type ParsedBatch, scanEntries } from "./entry_source.ts";

const BATCH_ENTRIES = 5000;

let credits = 0;
let wake: (() => void) | undefined;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as {
    type: string;
    path?: string;
    fromOffset?: number;
    toOffset?: number;
    ahead?: number;
  };
  if (message.type === "more") {
    credits++;
    wake?.();
  } else if (message.type === "scan") {
    credits = message.ahead ?? 1;
    scan(message.path!, message.fromOffset!, message.toOffset!).catch((error) => {
      self.postMessage({ type: "error", message: (error as Error).message });
    });
  }
};

async function scan(path: string, fromOffset: number, toOffset: number): Promise<void> {
  let entries: PlacedEntry[] = [];
  let bad: BadLine[] = [];
  const post = async (done: boolean) => {
    while (credits === 0) {
      await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
    }
    credits--;
    const batch: ParsedBatch = { type: "batch", entries, bad, done };
    self.postMessage(batch);
    entries = [];
    bad = [];
  };
  for await (
    const entry of scanEntries(path, { fromOffset, toOffset, onBadLine: (line) => bad.push(line) })
  ) {
    entries.push(entry);
    if (entries.length >= BATCH_ENTRIES) await post(false);
  }
  await post(true);
}
