import { sendControlRequest } from "../src/control/client.ts";
import { DaemonNotRunningError } from "../src/errors.ts";
import { indexPath } from "../src/indexer/open_index.ts";
import { dataDirLayout } from "../src/store/data_dir.ts";
import { sleep, waitUntil } from "./_async.ts";
import { BenchChild, denoRunArgs, MAIN_SCRIPT, processCpuMs } from "./_child_process.ts";
import { analyseDaemonLog } from "./_log_analysis.ts";
import type { PayloadStamp } from "./_payload.ts";
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
const INDEX_READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const SETTLE_MS = 200;

/** Scenario (b) or (c): the daemon records a burst of stamped payloads of one size. */
export function runDaemonScenario(
  context: BenchContext,
  options: { messages: number; payloadBytes: number; syncMode: SyncMode },
): Promise<ScenarioResult> {
  const name = `daemon-${options.syncMode}-${options.payloadBytes}`;
  return recordBurst(context, { ...options, name }, (run) => measure(run, options));
}

/** What {@link recordBurst} hands to its `measure` step. */
export interface RecordedBurst {
  readonly logPath: string;
  readonly burst: Burst;
  /** Every status change seen during the burst, stopped. */
  readonly poller: StatusPoller;
  /** The daemon's fsyncs during the run, timed on its writer thread (`durable-times`). */
  readonly durable: DurableTimeline;
  /** The daemon exited 0 after `stop`. */
  readonly cleanStop: boolean;
  /** The daemon's CPU time (all threads) from the burst's start to everything durable, ms. */
  readonly cpuMs: number;
}

/** Options for {@link recordBurst}. */
export interface RecordBurstOptions {
  /** Names the child, its data dir and output files. */
  readonly name: string;
  readonly syncMode: SyncMode;
  readonly messages: number;
  readonly payloadBytes: number;
  /** Makes each payload (it must carry the stamp); default a padded one of `payloadBytes`. */
  readonly payload?: (stamp: PayloadStamp) => string;
  /** Also wait for the indexer (before and after the burst), and read index.db while polling. */
  readonly indexed?: boolean;
  /** Pause between status polls (they only tell when the burst is done); default the context's. */
  readonly pollIntervalMs?: number;
  /** Publish at most this many messages per second; default the context's rate. */
  readonly ratePerSecond?: number;
}

/**
 * When each record seq became durable: the daemon's own fsync times (`durable-times`, taken on
 * its writer thread right after each fsync, sub-millisecond), not when a poll noticed it.
 */
export class DurableTimeline {
  readonly #seqs: Float64Array;
  readonly #times: Float64Array;

  constructor(advances: readonly (readonly [number, number])[]) {
    this.#seqs = Float64Array.from(advances, (advance) => advance[0]);
    this.#times = Float64Array.from(advances, (advance) => advance[1]);
  }

  /** Wall-clock ms of the first fsync that made `seq` durable; undefined if none did. */
  firstAtMs(seq: number): number | undefined {
    let low = 0;
    let high = this.#seqs.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#seqs[middle]! >= seq) high = middle;
      else low = middle + 1;
    }
    return low < this.#seqs.length ? this.#times[low] : undefined;
  }
}

/**
 * The real daemon in a child process on a fresh data dir records one burst: warmed up (with
 * `indexed`, its indexer caught up too), its status polled from a worker during the burst until
 * every message is durable (and indexed) or nothing moves any more, then stopped; `measure`
 * reads its log. The child and its data dir are gone when it returns or throws.
 */
export async function recordBurst<T>(
  context: BenchContext,
  options: RecordBurstOptions,
  measure: (run: RecordedBurst) => Promise<T>,
): Promise<T> {
  const dataDir = `${context.tempDir}/${options.name}`;
  const layout = dataDirLayout(dataDir);
  const child = await spawnDaemon(context, dataDir, options);
  const status = () => readStatus(child, layout.controlSocket);
  try {
    await prepareDaemon(context, status);
    if (options.indexed) {
      await waitUntil("let the indexer catch up with the warm-up", async () => {
        const counters = await status();
        return (counters?.index?.last_seq ?? -1) >= (counters?.durable_seq ?? 0);
      }, { timeoutMs: INDEX_READY_TIMEOUT_MS, intervalMs: 50, signal: context.signal });
    }
    const target = (await status())!.received + options.messages;
    const poller = StatusPoller.start(
      layout.controlSocket,
      options.pollIntervalMs ?? context.pollIntervalMs,
      {
        indexPath: options.indexed ? indexPath(layout) : undefined,
      },
    );
    let burst: Burst;
    let cpuMs: number;
    try {
      const cpuBefore = await processCpuMs(child.pid);
      const pace = options.ratePerSecond ?? context.ratePerSecond;
      burst = await publishBurst({ ...context, ratePerSecond: pace }, options);
      await waitForProgress(context, {
        poller,
        child,
        done: (o) =>
          o.received >= target && o.durableSeq >= o.seq &&
          (!options.indexed || o.indexedSeq >= o.durableSeq),
        indexed: options.indexed ?? false,
      });
      cpuMs = (await processCpuMs(child.pid)) - cpuBefore;
      await poller.stop();
    } finally {
      poller.terminate(); // already ended after stop(); on an error, end it without waiting
    }
    const durable = await readDurableTimeline(child, layout.controlSocket);
    const cleanStop = await stopDaemon(child, layout.controlSocket);
    return await measure({ logPath: layout.currentLog, burst, poller, durable, cleanStop, cpuMs });
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
  return BenchChild.spawn(
    name,
    denoRunArgs(MAIN_SCRIPT, args, profile),
    `${context.tempDir}/${name}`,
  );
}

/** Waits for the control socket, warms the link up, and lets the warm-up become durable. */
async function prepareDaemon(
  context: BenchContext,
  status: () => Promise<StatusCounters | undefined>,
): Promise<void> {
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

/** The daemon's fsync times so far (`durable-times`). */
async function readDurableTimeline(child: BenchChild, socketPath: string) {
  if (child.exitStatus) throw await child.exitedError("read the daemon's fsync times");
  const answer = await sendControlRequest(socketPath, { cmd: "durable-times" });
  if (!answer.ok) throw new Error(`Cannot read the daemon's fsync times: ${answer.error}`);
  return new DurableTimeline(answer.advances);
}

/**
 * Waits until `done` holds for the latest status observed, or the counters did not move for
 * 5 s (10 s when `indexed`: the daemon reports index.last_seq once per catch-up pass, which can
 * be long, so rows appearing in index.db count as progress too). Messages lost or never indexed
 * are counted from the log afterwards.
 */
async function waitForProgress(
  context: BenchContext,
  parts: {
    poller: StatusPoller;
    child: BenchChild;
    done: (latest: Observation) => boolean;
    indexed: boolean;
  },
): Promise<void> {
  const idleMs = parts.indexed ? 10_000 : 5_000;
  const legend = parts.indexed ? "received/durable/index.last_seq/in index.db" : "received/durable";
  let lastProgress = "";
  let progressAt = performance.now();
  for (;;) {
    const o = parts.poller.latest;
    if (o && parts.done(o)) return;
    if (parts.child.exitStatus) throw await parts.child.exitedError("record the burst");
    const figures = o ? [o.received, o.durableSeq, o.indexedSeq, o.searchableSeq] : [];
    const progress = figures.slice(0, parts.indexed ? 4 : 2).join("/");
    if (progress !== lastProgress) {
      lastProgress = progress;
      progressAt = performance.now();
    } else if (performance.now() - progressAt > idleMs) {
      context.progress(`  no progress for ${idleMs} ms: ${progress} (${legend})`);
      return;
    }
    await sleep(10, context.signal);
  }
}

/** Asks the daemon to stop and waits for its exit; false if it had to be killed. */
async function stopDaemon(child: BenchChild, socketPath: string): Promise<boolean> {
  const answer = await sendControlRequest(socketPath, { cmd: "stop" });
  if (!answer.ok) throw new Error(`Cannot stop the daemon: ${answer.error}`);
  if (!(await child.waitForExit(STOP_TIMEOUT_MS))) return false;
  return child.exitStatus?.code === 0;
}

async function measure(
  { logPath, burst, poller, durable, cleanStop, cpuMs }: RecordedBurst,
  parts: { messages: number; payloadBytes: number; syncMode: SyncMode },
): Promise<ScenarioResult> {
  const analysis = await analyseDaemonLog(logPath, {
    expected: parts.messages,
    durableAtMs: (seq) => durable.firstAtMs(seq),
  });
  const lastDurableMs = analysis.recorded > 0
    ? durable.firstAtMs(analysis.lastRecordSeq)
    : undefined;
  return {
    kind: parts.syncMode === "always" ? "daemon-always" : "daemon-interval",
    payloadBytes: parts.payloadBytes,
    published: parts.messages,
    publishRate: ratePerSecond(parts.messages, burst.startMs, burst.endMs),
    received: analysis.recorded,
    lost: analysis.lost,
    duplicates: analysis.duplicates,
    receiveRate: analysis.receiveRate,
    endToEndRate: ratePerSecond(analysis.recorded, burst.startMs, lastDurableMs),
    endToEndUntil: "last durable",
    latency: spreadOf(analysis.latenciesMs),
    polling: poller.stats,
    cleanStop: cleanStop && analysis.unreadableLines === 0,
    cpuUsPerMessage: analysis.recorded > 0 ? (cpuMs * 1000) / analysis.recorded : undefined,
  };
}
