/**
 * Web Worker entry of {@link FtsBuilder}: loads a rebuild's full-text rows into the twin
 * table's file while the rebuild's thread writes the rest of the index. Messages in:
 * `{ type: "open", path }`, `{ type: "rows", seqs, contents }`, `{ type: "finish" }`.
 * Messages out: `done` (one per batch of rows), `docsize` (after `finish`: the per-document
 * rows, packed), `finished`, `error`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { SqliteIndex } from "../store/sqlite_index.ts";

/** Per-document rows sent back per message at the end. */
const DOCSIZE_CHUNK_ROWS = 50_000;

let table: ReturnType<typeof SqliteIndex.createFtsForRebuild> | undefined;

self.onmessage = (event: MessageEvent) => {
  const message = event.data as {
    type: string;
    path?: string;
    seqs?: number[];
    contents?: string[];
  };
  try {
    if (message.type === "open") {
      table = SqliteIndex.createFtsForRebuild(message.path!);
    } else if (message.type === "rows") {
      table!.add(message.seqs!, message.contents!);
      self.postMessage({ type: "done" });
    } else if (message.type === "finish") {
      table!.finish();
      for (const chunk of table!.docsize(DOCSIZE_CHUNK_ROWS)) {
        const { ids, origins, ends, sizes } = chunk;
        const transfer = [ids.buffer, origins.buffer, ends.buffer, sizes.buffer] as ArrayBuffer[];
        self.postMessage({ type: "docsize", chunk }, { transfer });
      }
      table!.close();
      table = undefined;
      self.postMessage({ type: "finished" });
    }
  } catch (error) {
    table?.close();
    table = undefined;
    self.postMessage({ type: "error", message: (error as Error).message });
  }
};
