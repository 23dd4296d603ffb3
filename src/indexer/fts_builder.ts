import type { FtsDocsizeChunk } from "../store/sqlite_index.ts";

/** Batches of rows sent ahead of the worker at most; the sender waits beyond that. */
const BATCHES_AHEAD = 3;

/**
 * A Web Worker that loads a rebuild's full-text index (FTS5, the costliest part of a rebuild)
 * into a file of its own while the rebuild's thread writes the other tables; the rebuild copies
 * it in at the end (`SqliteIndex.finishRebuild`).
 *
 * @example
 * ```ts
 * const fts = FtsBuilder.start(`${path}.fts`);
 * fts.add([1, 2], ["hello", "world"]);
 * await fts.room();
 * await fts.finish((chunk) => index.addFtsDocsize(chunk));
 * ```
 */
export class FtsBuilder {
  readonly path: string;
  readonly #worker: Worker;
  #pending = 0;
  #failure: Error | undefined;
  #waiters: (() => void)[] = [];
  #finished: (() => void) | undefined;
  #onDocsize: ((chunk: FtsDocsizeChunk) => void) | undefined;

  private constructor(path: string) {
    this.path = path;
    this.#worker = new Worker(new URL("./fts_build_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent) => {
      const message = event.data as { type: string; message?: string };
      if (message.type === "done") this.#pending--;
      else if (message.type === "docsize") {
        try {
          this.#onDocsize?.((message as unknown as { chunk: FtsDocsizeChunk }).chunk);
        } catch (error) {
          this.#fail(error as Error);
        }
      } else if (message.type === "finished") this.#finished?.();
      else if (message.type === "error") {
        this.#fail(new Error(`the full-text index could not be built: ${message.message}`));
      }
      this.#wake();
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`the full-text index worker failed: ${event.message}`));
    };
    this.#worker.postMessage({ type: "open", path });
  }

  /** Starts the worker on a new file at `path`. */
  static start(path: string): FtsBuilder {
    return new FtsBuilder(path);
  }

  /** Queues one batch of rows (rowid = seq). */
  add(seqs: number[], contents: string[]): void {
    if (this.#failure) throw this.#failure;
    this.#pending++;
    this.#worker.postMessage({ type: "rows", seqs, contents });
  }

  /** Resolves once few enough batches wait in the worker (memory stays flat). */
  async room(): Promise<void> {
    while (this.#pending > BATCHES_AHEAD) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (this.#failure) throw this.#failure;
  }

  /**
   * Waits for every batch, merges the index into one segment, hands back its per-document rows
   * (`onDocsize`, in order, as they come) and closes its file.
   */
  async finish(onDocsize: (chunk: FtsDocsizeChunk) => void): Promise<void> {
    this.#onDocsize = onDocsize;
    let finished = false;
    this.#finished = () => finished = true;
    this.#worker.postMessage({ type: "finish" });
    while (!finished) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Stops the worker. */
  close(): void {
    this.#worker.terminate();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
