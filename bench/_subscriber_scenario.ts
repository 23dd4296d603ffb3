import { BenchChild, denoRunArgs } from "./_child_process.ts";
import { type CountingResult, READY_FILE, RESULT_FILE } from "./_counting_subscriber.ts";
import { type BenchContext, publishBurst, type ScenarioResult, warmUp } from "./_scenario.ts";
import { ratePerSecond } from "./_stats.ts";
import { exists } from "../src/store/file_info.ts";

const DRAIN_TIMEOUT_MS = 10_000;
const TERMINATE_TIMEOUT_MS = 5_000;

/**
 * Scenario (a): a bare ZeroMQ subscriber in a child process (like the daemon) that only counts
 * what it receives.
 */
export async function runSubscriberScenario(
  context: BenchContext,
  options: { messages: number; payloadBytes: number },
): Promise<ScenarioResult> {
  const outDir = await Deno.makeTempDir({ dir: context.tempDir, prefix: "subscriber-" });
  const child = spawnCountingSubscriber(context, outDir, options.messages);
  try {
    await warmUp(context, () => isReady(child, outDir));
    const burst = await publishBurst(context, options);
    const cleanStop = await waitForResult(child);
    const counted = JSON.parse(
      await Deno.readTextFile(`${outDir}/${RESULT_FILE}`),
    ) as CountingResult;
    return {
      kind: "subscriber",
      payloadBytes: options.payloadBytes,
      published: options.messages,
      publishRate: ratePerSecond(options.messages, burst.startMs, burst.endMs),
      received: counted.received,
      lost: Math.max(0, options.messages - counted.received),
      duplicates: undefined,
      receiveRate: ratePerSecond(
        counted.received,
        counted.firstAtMs ?? undefined,
        counted.lastAtMs ?? undefined,
      ),
      endToEndRate: ratePerSecond(counted.received, burst.startMs, counted.lastAtMs ?? undefined),
      endToEndUntil: "last received",
      latency: undefined,
      polling: undefined,
      cleanStop,
      cpuUsPerMessage: counted.received > 0 ? (counted.cpuMs * 1000) / counted.received : undefined,
    };
  } finally {
    await child.kill();
  }
}

function spawnCountingSubscriber(context: BenchContext, outDir: string, messages: number) {
  const script = decodeURIComponent(new URL("./_counting_subscriber.ts", import.meta.url).pathname);
  const args = ["--backend", context.backend, "--expect", String(messages), "--out-dir", outDir];
  return BenchChild.spawn("counting subscriber", denoRunArgs(script, args), `${outDir}/subscriber`);
}

async function isReady(child: BenchChild, outDir: string): Promise<boolean> {
  if (child.exitStatus) throw await child.exitedError("connect the counting subscriber");
  return await exists(`${outDir}/${READY_FILE}`);
}

/** Waits for the subscriber to count everything; if messages were lost, asks it to report. */
async function waitForResult(child: BenchChild): Promise<boolean> {
  const countedAll = await child.waitForExit(DRAIN_TIMEOUT_MS);
  if (!countedAll) {
    child.terminate();
    if (!(await child.waitForExit(TERMINATE_TIMEOUT_MS))) {
      throw new Error(
        `Cannot get the subscriber's count: it ignored SIGTERM for ${TERMINATE_TIMEOUT_MS} ms`,
      );
    }
  }
  if (child.exitStatus?.code !== 0) throw await child.exitedError("count the burst");
  return countedAll;
}
