/**
 * Stopping a worker thread that finishes its work before it ends (the indexer, the shipper).
 *
 * @module
 */

/**
 * Asks `worker` to stop with a `{ type: "stop" }` message and waits until `stopped` resolves
 * (the worker said it is done) or `timeoutMs` passed; then terminates it either way. Resolves
 * true when the deadline ended the wait.
 *
 * @example
 * ```ts
 * const late = await stopWorkerWithin(worker, stoppedSignal, 3000);
 * if (late) logger.warn("indexer_stop_timeout", { timeout_ms: 3000 });
 * ```
 */
export async function stopWorkerWithin(
  worker: Worker,
  stopped: Promise<void>,
  timeoutMs: number,
): Promise<boolean> {
  worker.postMessage({ type: "stop" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const late = await Promise.race([stopped.then(() => false), timedOut]);
  clearTimeout(timer);
  worker.terminate();
  return late;
}
