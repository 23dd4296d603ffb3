/**
 * Checkpoints created on a worker thread, for a process that receives messages meanwhile (the
 * daemon): `CheckpointStore.create` reads, checks, hashes and compresses the whole new part of
 * the session, which held the daemon's receiving thread for tens of milliseconds at a time.
 *
 * @module
 */
import { type ErrorCode, PersistError } from "../errors.ts";
import type { CheckpointManifest, CheckpointStore, CreateOptions } from "./checkpoint_store.ts";
import type { CreateReply, CreateRequest, SentError } from "./_checkpoint_create_worker.ts";

interface Waiter {
  readonly resolve: (manifest: CheckpointManifest) => void;
  readonly reject: (error: Error) => void;
  readonly onSegmentRepaired: CreateOptions["onSegmentRepaired"];
}

/**
 * Creates the checkpoints of one store on a worker (started on first use, kept for the next:
 * it remembers which segment files it found whole). The result, and any error, is what
 * `store.create()` would give; {@link close} ends the worker.
 *
 * @example
 * ```ts
 * const creator = new CheckpointCreator(store);
 * const manifest = await creator.create({ logPath, endOffset, trigger: "auto", label: null, parentCheckpoint: null });
 * creator.close();
 * ```
 */
export class CheckpointCreator {
  readonly #store: CheckpointStore;
  readonly #waiting = new Map<number, Waiter>();
  #worker: Worker | undefined;
  #nextId = 1;

  constructor(store: CheckpointStore) {
    this.#store = store;
  }

  /** `store.create(options)`, run on the worker. */
  create(options: CreateOptions): Promise<CheckpointManifest> {
    const { onSegmentRepaired, ...sendable } = options;
    const worker = this.#worker ??= this.#start();
    const id = this.#nextId++;
    const request: CreateRequest = {
      id,
      dir: this.#store.dir,
      dataBlobsDir: this.#store.dataBlobsDir,
      options: sendable,
    };
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, onSegmentRepaired });
      worker.postMessage(request);
    });
  }

  /** Ends the worker; checkpoints still being created fail. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#failAll("the checkpoint worker was closed");
  }

  #start(): Worker {
    const worker = new Worker(
      new URL("./_checkpoint_create_worker.ts", import.meta.url).href,
      { type: "module" },
    );
    worker.onmessage = (event: MessageEvent<CreateReply>) => this.#onReply(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#worker?.terminate();
      this.#worker = undefined; // the next checkpoint starts a fresh one
      this.#failAll(`the checkpoint worker failed: ${event.message}`);
    };
    return worker;
  }

  #onReply(reply: CreateReply): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    if (reply.type === "repaired") {
      waiter.onSegmentRepaired?.({ sha256: reply.sha256, problem: reply.problem });
      return;
    }
    this.#waiting.delete(reply.id);
    if (reply.type === "done") waiter.resolve(reply.manifest);
    else waiter.reject(receivedError(reply.error));
  }

  #failAll(reason: string): void {
    for (const waiter of this.#waiting.values()) {
      waiter.reject(new Error(`Cannot create a checkpoint: ${reason}`));
    }
    this.#waiting.clear();
  }
}

/** The error the worker sent, as the same kind: a PersistError, a Deno.errors class, or Error. */
function receivedError(sent: SentError): Error {
  if (sent.code !== undefined) {
    return new PersistError(sent.message, {
      code: sent.code as ErrorCode,
      exitCode: sent.exitCode,
    });
  }
  const errorClass = (Deno.errors as Record<string, (new (message: string) => Error) | undefined>)[
    sent.name
  ];
  const error = errorClass ? new errorClass(sent.message) : new Error(sent.message);
  if (sent.stack) error.stack = sent.stack;
  return error;
}
