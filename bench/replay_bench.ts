/**
 * The replay bench: `replay --burst` against a bare ZeroMQ publisher sending the same frames
 * (throughput ratio, both measured at a subscriber of the same broker), and how closely
 * `replay --speed 1` and `--speed 4` keep the original spacing of a recorded 5-second session
 * (deviation of each arrival from its intended time, relative to the first arrival).
 *
 * @module
 */
import * as zmq from "zeromq";
import { startBroker } from "../src/broker.ts";
import { messageRecord } from "../src/enrich/mod.ts";
import { ensureDataDir } from "../src/store/data_dir.ts";
import { encodeRecordLine } from "../src/store/record.ts";
import { sleep } from "./_async.ts";
import { freePorts, runTimed } from "./_child_process.ts";
import { fixed } from "./_format.ts";

/** Options of {@link runReplayBench}. */
export interface ReplayBenchOptions {
  readonly quick: boolean;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

/** Spread of absolute deviations from the intended send times, in ms. */
export interface DeviationSpread {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What the replay bench measured. */
export interface ReplayBenchResult {
  readonly burstMessages: number;
  readonly payloadBytes: number;
  /** Messages a second at the subscriber, first to last arrival. */
  readonly bareRatePerSecond: number;
  readonly replayRatePerSecond: number;
  /** replay / bare. */
  readonly ratio: number;
  /** Wall time of the whole replay command (start-up, reading the log, waiting for subscribers). */
  readonly replayCommandMs: number;
  readonly sessionMessages: number;
  readonly sessionSeconds: number;
  readonly speed1: DeviationSpread;
  readonly speed4: DeviationSpread;
}

const SESSION = "20261130_000000_bench";
const encoder = new TextEncoder();

/** Runs the replay bench against a broker in this process and the CLI as a child. */
export async function runReplayBench(options: ReplayBenchOptions): Promise<ReplayBenchResult> {
  const burstMessages = options.quick ? 20_000 : 100_000;
  const payloadBytes = 200;
  const sessionSeconds = 5;
  const sessionMessages = 250;
  const dir = await Deno.makeTempDir({ prefix: "shearwater_replay_bench_" });
  const [front, back] = freePorts(2);
  const frontend = `tcp://127.0.0.1:${front}`;
  const backend = `tcp://127.0.0.1:${back}`;
  const broker = await startBroker({ frontend, backend });
  const receiver = new ArrivalRecorder(backend);
  try {
    await receiver.ready(frontend);
    const burst = burstFrames(burstMessages, payloadBytes);
    options.progress(`replay bench: bare publisher, ${burstMessages} messages`);
    const bare = await bareSend(frontend, burst, receiver);
    const burstDir = `${dir}/burst`;
    await writeSessionLog(burstDir, burst.map((frames, i) => ({ frames, atMs: i })));
    options.progress(`replay bench: replay --burst, ${burstMessages} messages`);
    const replay = await timedReplay(
      burstDir,
      frontend,
      ["--burst"],
      receiver,
      burstMessages,
      options,
    );

    const sessionDir = `${dir}/session`;
    const spaced = spacedSession(sessionMessages, sessionSeconds * 1000);
    await writeSessionLog(sessionDir, spaced);
    const intendedMs = spaced.map((message) => message.atMs);
    options.progress("replay bench: replay --speed 1 of a 5-second session");
    const speed1 = await timedReplay(
      sessionDir,
      frontend,
      ["--speed", "1"],
      receiver,
      sessionMessages,
      options,
    );
    options.progress("replay bench: replay --speed 4 of a 5-second session");
    const speed4 = await timedReplay(
      sessionDir,
      frontend,
      ["--speed", "4"],
      receiver,
      sessionMessages,
      options,
    );
    return {
      burstMessages,
      payloadBytes,
      bareRatePerSecond: bare,
      replayRatePerSecond: replay.rate,
      ratio: replay.rate / bare,
      replayCommandMs: replay.commandMs,
      sessionMessages,
      sessionSeconds,
      speed1: deviations(speed1.arrivalsMs, intendedMs, 1),
      speed4: deviations(speed4.arrivalsMs, intendedMs, 4),
    };
  } finally {
    receiver.stop();
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Formats {@link ReplayBenchResult} for people. */
export function formatReplayReport(result: ReplayBenchResult): string {
  const spread = (label: string, s: DeviationSpread) =>
    `  ${label.padEnd(12)} p50 ${fixed(s.p50Ms, 1).padStart(6)} ms   p99 ${
      fixed(s.p99Ms, 1).padStart(6)
    } ms   max ${fixed(s.maxMs, 1).padStart(6)} ms`;
  return [
    `replay: ${result.burstMessages} messages of ${result.payloadBytes} B, at a subscriber`,
    `  bare ZeroMQ publisher  ${Math.round(result.bareRatePerSecond)} msg/s`,
    `  replay --burst         ${Math.round(result.replayRatePerSecond)} msg/s  (ratio ${
      fixed(result.ratio, 2)
    }; whole command ${fixed(result.replayCommandMs / 1000, 2)} s)`,
    `timing: ${result.sessionMessages} messages over a recorded ${result.sessionSeconds}-second ` +
    "session; deviation from the intended send time",
    spread("--speed 1", result.speed1),
    spread("--speed 4", result.speed4),
  ].join("\n");
}

/** A subscriber to everything on the backend that notes when each bench message arrives. */
class ArrivalRecorder {
  readonly #socket: zmq.Subscriber;
  #arrivals: number[] = [];
  #warm = false;
  #stopped = false;

  constructor(backend: string) {
    this.#socket = new zmq.Subscriber({ receiveHighWaterMark: 1_000_000 });
    this.#socket.subscribe("bench.");
    this.#socket.connect(backend);
    this.#read();
  }

  /** Sends warm-ups through the broker until one arrives (the subscription has propagated). */
  async ready(frontend: string): Promise<void> {
    const publisher = new zmq.Publisher({ linger: 0 });
    publisher.connect(frontend);
    while (!this.#warm) {
      await publisher.send(["bench.warmup", "ping"]);
      await sleep(20);
    }
    await sleep(100);
  }

  reset(): void {
    this.#arrivals = [];
  }

  async waitFor(count: number, timeoutMs: number): Promise<number[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.#arrivals.length < count) {
      if (performance.now() > deadline) {
        throw new Error(
          `Cannot finish the replay bench: ${this.#arrivals.length}/${count} arrived`,
        );
      }
      await sleep(5);
    }
    return this.#arrivals;
  }

  stop(): void {
    this.#stopped = true;
  }

  async #read(): Promise<void> {
    for await (const [topic] of this.#socket) {
      if (this.#stopped) return;
      if (topic && topic.length === 12 && new TextDecoder().decode(topic) === "bench.warmup") {
        this.#warm = true;
        continue;
      }
      this.#arrivals.push(performance.now());
    }
  }
}

function burstFrames(count: number, payloadBytes: number): Uint8Array[][] {
  const topic = encoder.encode("bench.replay");
  return Array.from({ length: count }, (_, i) => {
    const payload = encoder.encode(
      JSON.stringify({ from: "bench", seq: i, content: "x".repeat(payloadBytes) }).slice(
        0,
        payloadBytes - 2,
      ) + '"}',
    );
    return [topic, payload];
  });
}

/** Messages spread over `spanMs` with uneven gaps (bursts and pauses, like a conversation). */
function spacedSession(count: number, spanMs: number): { frames: Uint8Array[]; atMs: number }[] {
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const gaps = Array.from({ length: count - 1 }, () => random() ** 3);
  const total = gaps.reduce((sum, gap) => sum + gap, 0);
  const frames = burstFrames(count, 200);
  let atMs = 0;
  return frames.map((message, i) => {
    if (i > 0) atMs += (gaps[i - 1]! / total) * spanMs;
    return { frames: message, atMs };
  });
}

async function writeSessionLog(
  root: string,
  messages: readonly { frames: Uint8Array[]; atMs: number }[],
): Promise<void> {
  const layout = await ensureDataDir(root);
  const startMs = Date.parse("2026-11-30T00:00:00.000Z");
  const lines = messages.map((message, i) =>
    encodeRecordLine(messageRecord(message.frames, {
      seq: i + 1,
      session: SESSION,
      receivedAt: new Date(startMs + message.atMs),
    }))
  );
  const bytes = new Uint8Array(lines.reduce((sum, line) => sum + line.length, 0));
  let at = 0;
  for (const line of lines) {
    bytes.set(line, at);
    at += line.length;
  }
  await Deno.writeFile(layout.currentLog, bytes, { mode: 0o600 });
}

async function bareSend(
  frontend: string,
  burst: readonly Uint8Array[][],
  receiver: ArrivalRecorder,
): Promise<number> {
  const publisher = new zmq.Publisher({ sendHighWaterMark: 1_000_000, linger: 5000 });
  publisher.connect(frontend);
  await sleep(1000); // the slow joiner: let the broker's subscriptions reach it
  receiver.reset();
  for (const frames of burst) await publisher.send(frames);
  const arrivals = await receiver.waitFor(burst.length, 120_000);
  return rate(arrivals);
}

async function timedReplay(
  dataDir: string,
  frontend: string,
  pace: string[],
  receiver: ArrivalRecorder,
  count: number,
  options: ReplayBenchOptions,
): Promise<{ rate: number; commandMs: number; arrivalsMs: number[] }> {
  receiver.reset();
  const run = await runTimed([
    "replay",
    "--data-dir",
    dataDir,
    "--session",
    SESSION,
    "--frontend",
    frontend,
    ...pace,
    "--yes",
    "--json",
  ], { signal: options.signal });
  const arrivals = [...await receiver.waitFor(count, 120_000)];
  return { rate: rate(arrivals), commandMs: run.ms, arrivalsMs: arrivals };
}

function rate(arrivals: readonly number[]): number {
  const spanMs = arrivals.at(-1)! - arrivals[0]!;
  return spanMs > 0 ? ((arrivals.length - 1) * 1000) / spanMs : Infinity;
}

/** Absolute deviation of each arrival from its intended time, both relative to the first. */
function deviations(arrivals: readonly number[], intendedMs: readonly number[], speed: number) {
  const errors = arrivals.map((at, i) => Math.abs(at - arrivals[0]! - intendedMs[i]! / speed))
    .sort((a, b) => a - b);
  const pick = (q: number) => errors[Math.min(errors.length - 1, Math.floor(q * errors.length))]!;
  return { p50Ms: pick(0.5), p99Ms: pick(0.99), maxMs: errors.at(-1)! };
}
