import { indexEntryOf } from "../enrich/index_entry.ts";
import { type BadLine, scanLog } from "../store/log_reader.ts";
import type { PlacedEntry } from "../store/message_index.ts";

/** Where and how far to read a log for its index entries. */
export interface EntryScan {
  /** Start of a line. */
  readonly fromOffset: number;
  /** Lines ending after this byte are not read (the size the pass began with). */
  readonly toOffset: number;
  /** Lines that fail verification, in file order among the entries. */
  readonly onBadLine: (bad: BadLine) => void;
}

/** Reads the index entries of a log's verified records, in file order. */
export type EntrySource = (path: string, scan: EntryScan) => AsyncIterable<PlacedEntry>;

/**
 * The index entries of a log, read and parsed on the calling thread ({@link scanLog} and
 * `indexEntryOf`): what the live indexer uses.
 *
 * @example
 * ```ts
 * for await (const entry of scanEntries(path, { fromOffset: 0, toOffset: size, onBadLine })) {}
 * ```
 */
export async function* scanEntries(path: string, scan: EntryScan): AsyncGenerator<PlacedEntry> {
  for await (
    const placed of scanLog(path, { fromOffset: scan.fromOffset, onBadLine: scan.onBadLine })
  ) {
    if (placed.offset + placed.length > scan.toOffset) return;
    yield { ...indexEntryOf(placed.record), offset: placed.offset, length: placed.length };
  }
}

/** What the parsing worker posts: a batch of entries and the bad lines among them. */
export interface ParsedBatch {
  readonly type: "batch";
  readonly entries: PlacedEntry[];
  readonly bad: BadLine[];
  /** True on the last batch of a scan. */
  readonly done: boolean;
}

/** Batches a parsing worker may post ahead of the consumer. */
const BATCHES_AHEAD = 4;

/**
 * A Web Worker that reads and parses logs ({@link scanEntries}) while the calling thread writes
 * the index: a rebuild's two halves on two cores. Batches go ahead of the consumer by a few at
 * most, so memory stays flat whatever the log's size.
 *
 * @example
 * ```ts
 * const parser = ParsingWorker.start();
 * try { for await (const entry of parser.scan(path, scan)) {} } finally { parser.close(); }
 * ```
 */
export class ParsingWorker {
  readonly #worker: Worker;
  #onMessage: ((batch: ParsedBatch) => void) | undefined;
  #failure: Error | undefined;
  #onFailure: ((error: Error) => void) | undefined;

  private constructor() {
    this.#worker = new Worker(new URL("./entry_parse_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent) => {
      const message = event.data as ParsedBatch | { type: "error"; message: string };
      if (message.type === "error") this.#fail(new Error(message.message));
      else this.#onMessage?.(message);
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`the log parsing worker failed: ${event.message}`));
    };
  }

  /** Starts the worker. */
  static start(): ParsingWorker {
    return new ParsingWorker();
  }

  /** An {@link EntrySource} served by this worker; one scan at a time. */
  readonly source: EntrySource = (path, scan) => this.scan(path, scan);

  /** The entries of one log, parsed in the worker. */
  async *scan(path: string, scan: EntryScan): AsyncGenerator<PlacedEntry> {
    const queue: ParsedBatch[] = [];
    let wake: (() => void) | undefined;
    this.#onMessage = (batch) => {
      queue.push(batch);
      wake?.();
    };
    this.#onFailure = () => wake?.();
    this.#worker.postMessage({
      type: "scan",
      path,
      fromOffset: scan.fromOffset,
      toOffset: scan.toOffset,
      ahead: BATCHES_AHEAD,
    });
    let finished = false;
    try {
      for (;;) {
        while (queue.length === 0) {
          if (this.#failure) throw this.#failure;
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
        }
        const batch = queue.shift()!;
        this.#worker.postMessage({ type: "more" });
        let b = 0;
        for (const entry of batch.entries) {
          while (b < batch.bad.length && batch.bad[b]!.offset < entry.offset) {
            scan.onBadLine(batch.bad[b++]!);
          }
          yield entry;
        }
        while (b < batch.bad.length) scan.onBadLine(batch.bad[b++]!);
        if (batch.done) {
          finished = true;
          return;
        }
      }
    } finally {
      this.#onMessage = undefined;
      this.#onFailure = undefined;
      // Stopped early (an error, or the consumer broke off): the worker still holds the file.
      if (!finished) this.close();
    }
  }

  /** True once stopped (closed, failed, or a scan was broken off): start another. */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /** Stops the worker. */
  close(): void {
    this.#worker.terminate();
    this.#failure ??= new Error("the log parsing worker was stopped");
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#onFailure?.(error);
  }
}
