/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * Worker thread that creates checkpoints for {@link CheckpointCreator}: the same
 * `CheckpointStore.create`, run here so that reading, checking, hashing and compressing a
 * session never hold the thread that receives messages. One store for the worker's life keeps
 * its cache of segment files already found whole.
 *
 * Protocol: receives {@link CreateRequest}s; posts {@link CreateReply}s with the same id.
 *
 * @module
 */
import { PersistError } from "../errors.ts";
import { CheckpointStore, type CreateOptions } from "./checkpoint_store.ts";
import type { CheckpointManifest } from "./checkpoint_store.ts";

/** One checkpoint to create. */
export interface CreateRequest {
  readonly id: number;
  readonly dir: string;
  readonly dataBlobsDir: string;
  readonly options: Omit<CreateOptions, "onSegmentRepaired">;
}

/** What the worker posts for a request. */
export type CreateReply =
  | {
    readonly id: number;
    readonly type: "repaired";
    readonly sha256: string;
    readonly problem: string;
  }
  | { readonly id: number; readonly type: "done"; readonly manifest: CheckpointManifest }
  | { readonly id: number; readonly type: "failed"; readonly error: SentError };

/** An error as it crosses the thread: enough to throw the same kind on the other side. */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly exitCode?: number;
  readonly stack?: string;
}

let store: CheckpointStore | undefined;

self.onmessage = async (event: MessageEvent<CreateRequest>) => {
  const { id, dir, dataBlobsDir, options } = event.data;
  // No segment worker of its own: a worker started by this worker made a 25 MB checkpoint take
  // 1.1 s instead of 0.4 s here, and this thread is already not the one that must stay free.
  store ??= new CheckpointStore(dir, { dataBlobsDir, segmentWorker: false });
  try {
    const manifest = await store.create({
      ...options,
      onSegmentRepaired: ({ sha256, problem }) => post({ id, type: "repaired", sha256, problem }),
    });
    post({ id, type: "done", manifest });
  } catch (error) {
    post({ id, type: "failed", error: sentError(error) });
  }
};

function post(reply: CreateReply): void {
  self.postMessage(reply);
}

function sentError(error: unknown): SentError {
  if (error instanceof PersistError) {
    return { name: error.name, message: error.message, code: error.code, exitCode: error.exitCode };
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: "Error", message: String(error) };
}
