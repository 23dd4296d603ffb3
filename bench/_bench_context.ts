import * as zmq from "zeromq";
import { startBroker } from "../src/broker.ts";
import type { CleanupStack } from "./_async.ts";
import { freePorts } from "./_child_process.ts";
import type { BenchContext } from "./_scenario.ts";

/** Publisher (and broker) high-water mark: nothing is dropped before the receivers. */
const PUBLISHER_HWM = 1_000_000;

/** What {@link createBenchContext} needs besides the cleanup stack. */
export interface BenchContextOptions {
  /** Pause between the end of one status answer and the next request; default 1. */
  readonly pollIntervalMs?: number;
  /** Publish at most this many messages per second; default: as fast as ZeroMQ takes them. */
  readonly ratePerSecond?: number;
  /** When set, each daemon child writes a V8 CPU profile into a folder under it. */
  readonly profileDir?: string;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

/**
 * Makes a scratch folder, starts the broker in-process on free ports and connects a publisher
 * to it. Each of these is undone by `cleanup`, which the caller runs at the end.
 *
 * @example
 * ```ts
 * const cleanup = new CleanupStack();
 * try { const context = await createBenchContext({}, cleanup); } finally { await cleanup.run(); }
 * ```
 */
export async function createBenchContext(
  options: BenchContextOptions,
  cleanup: CleanupStack,
): Promise<BenchContext> {
  const tempDir = await Deno.makeTempDir({ prefix: "shearwater-bench-" });
  cleanup.defer(`remove "${tempDir}"`, () => Deno.remove(tempDir, { recursive: true }));
  const [frontendPort, backendPort] = freePorts(2);
  const frontend = `tcp://127.0.0.1:${frontendPort}`;
  const backend = `tcp://127.0.0.1:${backendPort}`;
  const broker = await startBroker({ frontend, backend });
  cleanup.defer("stop the broker", () => broker.stop());
  const publisher = new zmq.Publisher({ sendHighWaterMark: PUBLISHER_HWM, linger: 0 });
  cleanup.defer("close the publisher", () => publisher.close());
  publisher.connect(frontend);
  return {
    tempDir,
    backend,
    publisher,
    pollIntervalMs: options.pollIntervalMs ?? 1,
    ratePerSecond: options.ratePerSecond,
    profileDir: options.profileDir,
    signal: options.signal,
    progress: options.progress ?? (() => {}),
  };
}
