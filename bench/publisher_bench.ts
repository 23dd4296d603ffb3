/**
 * The publisher bench (issue 11), `deno task bench -- --only publisher`. The publisher is the
 * real TypeScript client (`src/client/`) in a child process (`_client_publisher_child.ts`).
 *
 * 1. In process: the receive loop's accounting step (`PublisherAccounting.admit`) per message,
 *    200 B payloads without and with the envelope, same run.
 * 2. Overhead on the recorder: one daemon, one broker, one client; N messages of 200 B flat out
 *    without the envelope (the same JSON text sent as a string), then N with it, twice,
 *    alternating against drift: received and durable per second, with / without.
 * 3. Refill: a client streams at 1,000 msg/s; the daemon is killed with -9 for 10 s (3 s with
 *    `--quick`) and restarted; the client hears the new subscription and announces its last seq,
 *    and the time from the restarted daemon answering until every missed message is refilled
 *    and durable gives the refill speed.
 *
 * @module
 */
import { startBroker } from "../src/broker.ts";
import { sendControlRequest } from "../src/control/client.ts";
import type { DaemonStatus, PublisherFigures } from "../src/control/protocol.ts";
import { PublisherAccounting } from "../src/recording/publisher_accounting.ts";
import { sleep } from "./_async.ts";
import { readLines } from "../tests/lines.ts";
import { denoRunArgs, freePorts, MAIN_SCRIPT, processCpuMs, REPO_ROOT } from "./_child_process.ts";
import { BenchChild } from "./_child_process.ts";
import { fixed, limitCheck, type TargetCheck, targetLines } from "./_format.ts";

/** Options of {@link runPublisherBench}. */
export interface PublisherBenchOptions {
  readonly quick: boolean;
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
}

/** What the publisher bench measured. */
export interface PublisherBenchResult {
  /** The accounting step per message in process, ns. */
  readonly admitPlainNs: number;
  readonly admitEnvelopeNs: number;
  readonly burstMessages: number;
  readonly payloadBytes: number;
  /** Received and durable per second, each burst; without and with the envelope. */
  readonly plainRates: number[];
  readonly envelopeRates: number[];
  /** Sent per second by the client, each burst (the recorder is the limit when these are higher). */
  readonly plainSendRates: number[];
  readonly envelopeSendRates: number[];
  /** The daemon's CPU time per message (all its threads, status polls included), µs. */
  readonly plainCpuUs: number[];
  readonly envelopeCpuUs: number[];
  /** Mean CPU per message with / mean without. */
  readonly cpuRatio: number;
  /** Enveloped burst messages the recorder missed on the bus and refilled, or lost. */
  readonly burstRefilled: number;
  readonly burstLost: number;
  /** Mean with / mean without. */
  readonly ratio: number;
  readonly outageSeconds: number;
  readonly streamRatePerSecond: number;
  /** Messages the client sent while the daemon was down (by its seq). */
  readonly sentDuringOutage: number;
  /** Refilled (meta.refilled) and written off (publisher_gap) by the restarted daemon. */
  readonly refilled: number;
  readonly lost: number;
  /** From the restarted daemon answering to every missed message refilled and durable. */
  readonly refillSeconds: number;
  readonly refillRatePerSecond: number;
}

const CHILD_SCRIPT = `${REPO_ROOT}/bench/_client_publisher_child.ts`;
const encoder = new TextEncoder();

/** Runs the bench against a broker in this process, the daemon and the client as children. */
export async function runPublisherBench(
  options: PublisherBenchOptions,
): Promise<PublisherBenchResult> {
  const burstMessages = options.quick ? 10_000 : 50_000;
  const outageSeconds = options.quick ? 3 : 10;
  const streamRatePerSecond = 1000;
  options.progress("publisher bench: accounting step in process");
  const admit = admitCost();
  const dir = await Deno.makeTempDir({ prefix: "shearwater_publisher_bench_" });
  const [front, back] = freePorts(2);
  const rig: Rig = {
    dir,
    frontend: `tcp://127.0.0.1:${front}`,
    backend: `tcp://127.0.0.1:${back}`,
    dataDir: `${dir}/data`,
    daemons: 0,
    signal: options.signal,
  };
  const broker = await startBroker({ frontend: rig.frontend, backend: rig.backend });
  const children: BenchChild[] = [];
  try {
    children.push(await startDaemon(rig));
    options.progress(`publisher bench: 4 × ${burstMessages} messages, without / with envelope`);
    const rates = await overhead(rig, children[0]!.pid, burstMessages);
    options.progress(
      `publisher bench: ${outageSeconds} s outage at ${streamRatePerSecond} msg/s, then refill`,
    );
    const refill = await refillAfterOutage(rig, children, outageSeconds, streamRatePerSecond);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      admitPlainNs: admit.plainNs,
      admitEnvelopeNs: admit.envelopeNs,
      burstMessages,
      payloadBytes: 200,
      plainRates: rates.plain,
      envelopeRates: rates.envelope,
      plainSendRates: rates.plainSend,
      envelopeSendRates: rates.envelopeSend,
      plainCpuUs: rates.plainCpuUs,
      envelopeCpuUs: rates.envelopeCpuUs,
      cpuRatio: mean(rates.envelopeCpuUs) / mean(rates.plainCpuUs),
      burstRefilled: rates.burstRefilled,
      burstLost: rates.burstLost,
      ratio: mean(rates.envelope) / mean(rates.plain),
      outageSeconds,
      streamRatePerSecond,
      ...refill,
    };
  } finally {
    for (const child of children) await child.kill();
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Formats {@link PublisherBenchResult} for people, with PASS/MISS lines. */
export function formatPublisherReport(result: PublisherBenchResult): string {
  const rates = (xs: number[]) => xs.map((r) => Math.round(r)).join(", ");
  const targets: TargetCheck[] = [
    limitCheck("recorder with / without envelope ≥ 0.9", result.ratio, {
      limit: 0.9,
      atLeast: true,
      show: (ratio) => fixed(ratio, 2),
    }),
    limitCheck("lost in the outage (all within the outbox) = 0", result.lost, {
      limit: 0,
      show: (lost) => String(lost),
    }),
    limitCheck(
      `refill faster than the stream (≥ ${result.streamRatePerSecond} msg/s)`,
      result.refillRatePerSecond,
      {
        limit: result.streamRatePerSecond,
        atLeast: true,
        show: (rate) => `${Math.round(rate)} msg/s`,
      },
    ),
  ];
  return [
    `publisher: the real TypeScript client, ${result.payloadBytes} B payloads`,
    `  accounting step in process   ${fixed(result.admitPlainNs, 0)} ns without envelope, ${
      fixed(result.admitEnvelopeNs, 0)
    } ns with`,
    `  recorder, ${result.burstMessages} flat out, received and durable:`,
    `    without envelope  ${rates(result.plainRates)} msg/s (client sent at ${
      rates(result.plainSendRates)
    })`,
    `    with envelope     ${rates(result.envelopeRates)} msg/s (client sent at ${
      rates(result.envelopeSendRates)
    })`,
    `    daemon CPU per message: without ${
      result.plainCpuUs.map((us) => fixed(us, 1)).join(", ")
    } µs, with ${result.envelopeCpuUs.map((us) => fixed(us, 1)).join(", ")} µs (ratio ${
      fixed(result.cpuRatio, 2)
    })`,
    `    ratio with / without  ${
      fixed(result.ratio, 2)
    }; of the enveloped messages ${result.burstRefilled} were missed on the bus and refilled, ${result.burstLost} lost`,
    `  refill after a ${result.outageSeconds} s outage (kill -9) at ${result.streamRatePerSecond} ` +
    `msg/s: ${result.sentDuringOutage} sent while down; ${result.refilled} refilled, ` +
    `${result.lost} lost, in ${fixed(result.refillSeconds, 2)} s after the restart (${
      Math.round(result.refillRatePerSecond)
    } msg/s)`,
    ...targetLines(targets, 58),
  ].join("\n");
}

interface Rig {
  readonly dir: string;
  readonly frontend: string;
  readonly backend: string;
  readonly dataDir: string;
  daemons: number;
  readonly signal: AbortSignal;
}

function admitCost(): { plainNs: number; envelopeNs: number } {
  const accounting = new PublisherAccounting({
    ask: () => Promise.resolve(undefined),
    appendRefilled: () => {},
    writeGap: () => {},
  });
  const topic = encoder.encode("bench.data");
  const count = 200_000;
  const payload = (n: number, envelope?: { pub: string; seq: number }) =>
    encoder.encode(JSON.stringify({
      from: "bench",
      n,
      content: "x".repeat(140),
      ...(envelope ? { _shearwater: envelope } : {}),
    }));
  // Distinct payloads in both cases, so memory traffic is the same.
  const plain = Array.from({ length: count }, (_, i) => [topic, payload(i)]);
  const enveloped = Array.from(
    { length: count },
    (_, i) => [topic, payload(i, { pub: "bench/000001", seq: i + 1 })],
  );
  const time = (messages: Uint8Array[][]) => {
    const start = performance.now();
    for (const message of messages) accounting.admit(message, 0);
    return ((performance.now() - start) * 1e6) / count;
  };
  time(plain); // warm-up
  return { plainNs: time(plain), envelopeNs: time(enveloped) };
}

async function status(rig: Rig): Promise<DaemonStatus | undefined> {
  try {
    const answer = await sendControlRequest(`${rig.dataDir}/control.sock`, { cmd: "status" }, {
      timeoutMs: 2000,
    });
    return answer.ok ? answer.status : undefined;
  } catch {
    return undefined; // not up yet, or killed
  }
}

async function until(
  rig: Rig,
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Cannot finish the publisher bench: ${what}`);
    await sleep(5, rig.signal);
  }
}

async function startDaemon(rig: Rig): Promise<BenchChild> {
  const daemon = BenchChild.spawn(
    "daemon",
    denoRunArgs(MAIN_SCRIPT, ["daemon", "--data-dir", rig.dataDir, "--backend", rig.backend]),
    `${rig.dir}/daemon${++rig.daemons}`,
  );
  await until(rig, "the daemon did not answer", async () => {
    if (daemon.exitStatus) throw await daemon.exitedError("start the daemon");
    return (await status(rig)) !== undefined;
  }, 60_000);
  return daemon;
}

/** The client child, driven by JSON lines (see `_client_publisher_child.ts`). */
class ClientChild {
  readonly pub: string;
  readonly #process: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(process: Deno.ChildProcess, lines: AsyncIterator<string>, pub: string) {
    this.#process = process;
    this.#stdin = process.stdin.getWriter();
    this.#lines = lines;
    this.pub = pub;
  }

  static async start(rig: Rig, name: string, outbox: number): Promise<ClientChild> {
    const process = new Deno.Command(Deno.execPath(), {
      args: denoRunArgs(CHILD_SCRIPT, [rig.frontend, name, String(outbox)]),
      cwd: REPO_ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = readLines(process.stdout)[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error("Cannot run the publisher bench: the client child exited");
    return new ClientChild(process, lines, JSON.parse(first.value).pub);
  }

  /** Sends one command; resolves with the client's last seq once it is done. */
  async run(command: Record<string, unknown>): Promise<number> {
    await this.#stdin.write(encoder.encode(JSON.stringify(command) + "\n"));
    const reply = await this.#lines.next();
    if (reply.done) throw new Error("Cannot run the publisher bench: the client child exited");
    return JSON.parse(reply.value).last_seq;
  }

  async kill(): Promise<void> {
    try {
      this.#process.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    await this.#process.status;
  }
}

async function overhead(
  rig: Rig,
  daemonPid: number,
  messages: number,
): Promise<
  {
    plain: number[];
    envelope: number[];
    plainSend: number[];
    envelopeSend: number[];
    plainCpuUs: number[];
    envelopeCpuUs: number[];
    burstRefilled: number;
    burstLost: number;
  }
> {
  const client = await ClientChild.start(rig, "benchburst", 100_000);
  try {
    const result = {
      plain: [] as number[],
      envelope: [] as number[],
      plainSend: [] as number[],
      envelopeSend: [] as number[],
      plainCpuUs: [] as number[],
      envelopeCpuUs: [] as number[],
    };
    for (const envelope of [false, true, false, true]) {
      const before = (await status(rig))!.received;
      const cpuBefore = await processCpuMs(daemonPid);
      const start = performance.now();
      await client.run({ cmd: "burst", count: messages, envelope });
      const sendRate = messages / ((performance.now() - start) / 1000);
      (envelope ? result.envelopeSend : result.plainSend).push(sendRate);
      await until(rig, "a burst did not arrive whole", async () => {
        const s = await status(rig);
        return s !== undefined && s.received >= before + messages && s.durable_seq >= s.seq;
      });
      const rate = messages / ((performance.now() - start) / 1000);
      (envelope ? result.envelope : result.plain).push(rate);
      const cpuUs = ((await processCpuMs(daemonPid)) - cpuBefore) * 1000 / messages;
      (envelope ? result.envelopeCpuUs : result.plainCpuUs).push(cpuUs);
    }
    const figures = (await status(rig))!.publishers.find((p) => p.pub === client.pub)!;
    return { ...result, burstRefilled: figures.refilled, burstLost: figures.missing };
  } finally {
    await client.kill();
  }
}

async function refillAfterOutage(
  rig: Rig,
  children: BenchChild[],
  outageSeconds: number,
  ratePerSecond: number,
): Promise<
  Pick<
    PublisherBenchResult,
    "sentDuringOutage" | "refilled" | "lost" | "refillSeconds" | "refillRatePerSecond"
  >
> {
  const client = await ClientChild.start(rig, "benchstream", 100_000);
  const figures = async (): Promise<[PublisherFigures | undefined, DaemonStatus | undefined]> => {
    const s = await status(rig);
    return [s?.publishers.find((p) => p.pub === client.pub), s];
  };
  try {
    await client.run({ cmd: "stream", rate: ratePerSecond });
    await until(rig, "the stream was not recorded", async () => {
      return ((await figures())[0]?.received ?? 0) >= ratePerSecond;
    });
    await children.at(-1)!.kill(); // SIGKILL
    const killedAt = await client.run({ cmd: "seq" });
    await sleep(outageSeconds * 1000, rig.signal);
    const restartAt = await client.run({ cmd: "seq" });
    children.push(await startDaemon(rig));
    const start = performance.now();
    await until(rig, "the refill did not finish", async () => {
      const [p, s] = await figures();
      return p !== undefined && s !== undefined && p.highest_seq >= restartAt &&
        p.pending === 0 && s.durable_seq >= s.seq;
    });
    const refillSeconds = (performance.now() - start) / 1000;
    await client.run({ cmd: "stop" });
    const [p] = await figures();
    return {
      sentDuringOutage: restartAt - killedAt,
      refilled: p!.refilled,
      lost: p!.missing,
      refillSeconds,
      refillRatePerSecond: p!.refilled / refillSeconds,
    };
  } finally {
    await client.kill();
  }
}
