/**
 * Encodes a checkpoint's new segments ({@link encodeSegment}) on the creating thread and, for a
 * large checkpoint, on a worker too: the worker takes a segment while fewer than
 * {@link WORKER_BACKLOG} of its segments are unfinished, the creating thread encodes the others
 * itself between reading lines. The worker counts what it finished in shared memory, so the
 * creating thread knows without stopping to receive its replies. Both cores work, and neither
 * waits for the other longer than a segment or two.
 *
 * @module
 */
import type * as NodeZlib from "node:zlib";
import { loadNative } from "./checksums.ts";
import { type EncodedSegment, encodeSegment } from "./_segment_encoding.ts";
import type { SegmentReply, SegmentRequest } from "./_segment_worker.ts";

/** Segments handed to the worker and not yet back, at most. */
export const WORKER_BACKLOG = 2;

/** Lines to read below which a worker costs more to start (~30 ms) than it saves. */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;

/** Encodes segments here and, when started with one, on a worker. */
export class SegmentEncoder {
  readonly #zlib: typeof NodeZlib;
  readonly #worker: Worker | undefined;
  readonly #waiting = new Map<
    number,
    { resolve: (segment: EncodedSegment) => void; reject: (error: Error) => void }
  >();
  /** [0]: segments the worker has finished (written by the worker). */
  readonly #finished = new Int32Array(new SharedArrayBuffer(4));
  #sent = 0;
  #failure: Error | undefined;

  private constructor(zlib: typeof NodeZlib, worker: Worker | undefined) {
    this.#zlib = zlib;
    this.#worker = worker;
    if (!worker) return;
    worker.postMessage({ finished: this.#finished });
    worker.onmessage = (event: MessageEvent<SegmentReply>) => {
      const reply = event.data;
      const waiter = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if ("segment" in reply) waiter?.resolve(reply.segment);
      else waiter?.reject(new Error(`Cannot encode a checkpoint segment: ${reply.error}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(
        new Error(`Cannot encode checkpoint segments: the worker failed: ${event.message}`),
      );
    };
  }

  /**
   * Loads the native checksums and node:zlib; starts a worker when `bytes` (the lines to read)
   * reach {@link WORKER_MIN_BYTES}, unless `options.worker` is false. Call {@link close} when
   * done.
   */
  static async start(
    bytes: number,
    options: { readonly worker?: boolean } = {},
  ): Promise<SegmentEncoder> {
    const [zlib] = await Promise.all([import("node:zlib"), loadNative()]);
    const worker = bytes >= WORKER_MIN_BYTES && options.worker !== false
      ? new Worker(new URL("./_segment_worker.ts", import.meta.url).href, { type: "module" })
      : undefined;
    return new SegmentEncoder(zlib, worker);
  }

  /**
   * The segment of `bytes`: from the worker when it has room, else encoded here and now. The
   * caller must not change `bytes` afterwards.
   */
  encode(bytes: Uint8Array): Promise<EncodedSegment> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#worker && this.#sent - Atomics.load(this.#finished, 0) < WORKER_BACKLOG) {
      const id = this.#sent++;
      const copy = bytes.slice(); // the lines are a view into a larger read buffer
      const request: SegmentRequest = { id, bytes: copy };
      return new Promise((resolve, reject) => {
        this.#waiting.set(id, { resolve, reject });
        this.#worker!.postMessage(request, [copy.buffer]);
      });
    }
    return Promise.resolve(encodeSegment(this.#zlib, bytes));
  }

  /**
   * Stops the worker. Segments still waiting for it never settle: close only once every result
   * is in, or after a failure, when nobody waits for them any more.
   */
  close(): void {
    this.#worker?.terminate();
    this.#failure ??= new Error("Cannot encode a checkpoint segment: the encoder was closed");
    this.#waiting.clear();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }
}
