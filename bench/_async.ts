/**
 * Waits `ms` milliseconds; rejects with the signal's reason as soon as it aborts.
 *
 * @example
 * ```ts
 * await sleep(50, AbortSignal.timeout(1000));
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Gives timers and signal handlers (Ctrl+C) a turn; throws the reason once `signal` aborted. */
export async function yieldTurn(signal?: AbortSignal): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  signal?.throwIfAborted();
}

/**
 * Polls `check` every `intervalMs` until it returns true; throws a message naming `what` after
 * `timeoutMs`.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) {
      throw new Error(`Cannot ${what}: still waiting after ${options.timeoutMs} ms`);
    }
    await sleep(options.intervalMs ?? 20, options.signal);
  }
}

/** Cleanup steps run last-in first-out, each even if an earlier one failed. */
export class CleanupStack {
  readonly #steps: { what: string; run: () => unknown }[] = [];

  /** Registers a step; `what` names it in the message printed if it fails. */
  defer(what: string, run: () => unknown): void {
    this.#steps.push({ what, run });
  }

  /** Runs every step, newest first; failures are printed to stderr and do not stop the rest. */
  async run(): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        console.error(`Cannot ${step.what}: ${(error as Error).message ?? error}`);
      }
    }
  }
}
