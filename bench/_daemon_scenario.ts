import { sendControlRequest } from "../src/control/client.ts";
import { DaemonNotRunningError } from "../src/errors.ts";
import { dataDirLayout } from "../src/store/data_dir.ts";
import { sleep, waitUntil } from "./_async.ts";
import { BenchChild, denoRunArgs, MAIN_SCRIPT } from "./_child_process.ts";
import { analyseDaemonLog } from "./_log_analysis.ts";
import {
  type BenchContext,
  type Burst,
  publishBurst,
  type ScenarioResult,
  warmUp,
} from "./_scenario.ts";
import { ratePerSecond, spreadOf } from "./_stats.ts";
import { type Observation, StatusPoller } from "./_status_poller.ts";

/** `--sync` modes compared: group commit (b) and fsync per message (c). */
export type SyncMode = "interval" | "always";

/** The part of the daemon's `status` answer the bench reads. */
export interface StatusCounters {
  readonly seq: number;
  readonly durable_seq: number;
  readonly received: number;
  readonly index?: { readonly state: string; readonly last_seq: number } | null;
}

const START_TIMEOUT_MS = 20_000;
const IDLE_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 20_000;
const SETTLE_MS = 200;

/**
 * Scenario (b) or (c): the real daemon in a child process, its status polled during the burst,
 * its log read back after a clean stop.
 */
export async function runDaemonScenario(
  context: BenchContext,
  options: { messages: number; payloadBytes: number; syncMode: SyncMode },
): Promise<ScenarioResult> {
  const name = `daemon-${options.syncMode}-${options.payloadBytes}`;
  const dataDir = `${context.tempDir}/${name}`;
  const layout = dataDirLayout(dataDir);
  const child = await spawnDaemon(context, dataDir, { name, syncMode: options.syncMode });
  try {
    const baseReceived = await prepareDaemon(context, child, layout.controlSocket);
    const poller = StatusPoller.start(layout.controlSocket, context.pollIntervalMs);
    let burst: Burst;
    try {
      burst = await publishBurst(context, options);
      const target = baseReceived + options.messages;
      await waitForProgress(context, {
        poller,
        child,
        what: "record the burst",
        done: (o) => o.received >= target && o.durableSeq >= o.seq,
        progress: (o) => [o.received, o.durableSeq],
        legend: "received/durable",
        idleMs: IDLE_TIMEOUT_MS,
      });
      await poller.stop();
    } finally {
      poller.terminate(); // already ended after stop(); on an error, end it without waiting
    }
    const cleanStop = await stopDaemon(child, layout.controlSocket);
    return await measure(layout.currentLog, { ...options, burst, poller, cleanStop });
  } finally {
    await child.kill();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * Creates `dataDir` and starts the daemon on it in a child process named `name` (its output
 * goes to `<tempDir>/<name>.stdout|stderr`, its CPU profile under `<profileDir>/<name>`).
 */
export async function spawnDaemon(
  context: Pick<BenchContext, "tempDir" | "backend" | "profileDir">,
  dataDir: string,
  options: { name: string; syncMode: SyncMode },
): Promise<BenchChild> {
  await Deno.mkdir(dataDir);
  const name = options.name;
  const profile = context.profileDir
    ? ["--cpu-prof", `--cpu-prof-dir=${context.profileDir}/${name}`]
    : [];
  const sync = options.syncMode === "always" ? ["--sync", "always"] : [];
  const args = ["daemon", "--data-dir", dataDir, "--backend", context.backend, ...sync];
  return BenchChild.spawn(name, denoRunArgs(MAIN_SCRIPT, args, profile), {
    outputPrefix: `${context.tempDir}/${name}`,
  });
}

/**
 * Waits for the control socket, warms the link up, and lets the warm-up records become durable.
 * Returns the daemon's `received` count before the burst.
 */
export async function prepareDaemon(
  context: BenchContext,
  child: BenchChild,
  socketPath: string,
): Promise<number> {
  const status = () => readStatus(child, socketPath);
  await waitUntil("start the daemon", async () => (await status()) !== undefined, {
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 50,
    signal: context.signal,
  });
  await warmUp(context, async () => ((await status())?.received ?? 0) > 0);
  await sleep(SETTLE_MS, context.signal);
  await waitUntil("make the warm-up durable", async () => {
    const counters = await status();
    return counters !== undefined && counters.durable_seq >= counters.seq;
  }, { timeoutMs: START_TIMEOUT_MS, signal: context.signal });
  return (await status())?.received ?? 0;
}

/** The daemon's counters; undefined while its control socket is not up yet. */
export async function readStatus(
  child: BenchChild,
  socketPath: string,
): Promise<StatusCounters | undefined> {
  if (child.exitStatus) throw await child.exitedError("talk to the daemon");
  try {
    const answer = await sendControlRequest(socketPath, { cmd: "status" });
    if (!answer.ok) throw new Error(`Cannot read the daemon's status: ${answer.error}`);
    return answer.status as StatusCounters;
  } catch (error) {
    if (error instanceof DaemonNotRunningError) return undefined;
    throw error;
  }
}

/**
 * Waits until `done` holds for the latest status observed, or the figures `progress` picks
 * did not move for `idleMs` (messages lost or never indexed: the log analysis counts them).
 */
export async function waitForProgress(
  context: BenchContext,
  parts: {
    poller: StatusPoller;
    child: BenchChild;
    /** What the daemon is doing, for the error if it exits. */
    what: string;
    done: (latest: Observation) => boolean;
    progress: (latest: Observation) => readonly number[];
    /** Names of the `progress` figures, for the message after `idleMs`. */
    legend: string;
    idleMs: number;
  },
): Promise<void> {
  let lastProgress = "";
  let progressAt = performance.now();
  for (;;) {
    const latest = parts.poller.latest;
    if (latest && parts.done(latest)) return;
    if (parts.child.exitStatus) throw await parts.child.exitedError(parts.what);
    const progress = latest ? parts.progress(latest).join("/") : "none";
    if (progress !== lastProgress) {
      lastProgress = progress;
      progressAt = performance.now();
    } else if (performance.now() - progressAt > parts.idleMs) {
      context.progress(`  no progress for ${parts.idleMs} ms: ${progress} (${parts.legend})`);
      return;
    }
    await sleep(10, context.signal);
  }
}

/** Asks the daemon to stop and waits for its exit; false if it had to be killed. */
export async function stopDaemon(child: BenchChild, socketPath: string): Promise<boolean> {
  const answer = await sendControlRequest(socketPath, { cmd: "stop" });
  if (!answer.ok) throw new Error(`Cannot stop the daemon: ${answer.error}`);
  if (!(await child.waitForExit(STOP_TIMEOUT_MS))) return false;
  return child.exitStatus?.code === 0;
}

async function measure(
  logPath: string,
  parts: {
    messages: number;
    payloadBytes: number;
    syncMode: SyncMode;
    burst: Burst;
    poller: StatusPoller;
    cleanStop: boolean;
  },
): Promise<ScenarioResult> {
  const { burst, poller } = parts;
  const analysis = await analyseDaemonLog(logPath, {
    expected: parts.messages,
    durableAtMs: (seq) => poller.durableAtMs(seq),
  });
  const lastDurableMs = analysis.recorded > 0
    ? poller.durableAtMs(analysis.lastRecordSeq)
    : undefined;
  return {
    kind: parts.syncMode === "always" ? "daemon-always" : "daemon-interval",
    payloadBytes: parts.payloadBytes,
    published: parts.messages,
    publishRate: ratePerSecond(parts.messages, burst.startMs, burst.endMs),
    received: analysis.recorded,
    lost: analysis.lost,
    duplicates: analysis.duplicates,
    receiveRate: ratePerSecond(
      analysis.recorded,
      analysis.firstReceivedMs,
      analysis.lastReceivedMs,
    ),
    endToEndRate: ratePerSecond(analysis.recorded, burst.startMs, lastDurableMs),
    endToEndUntil: "last durable",
    latency: spreadOf(analysis.latenciesMs),
    polling: poller.stats,
    cleanStop: parts.cleanStop && analysis.unreadableLines === 0,
  };
}
