/**
 * Publisher accounting benchmark (issue 11). Run:
 * `deno run -A bench/publisher_bench.ts [--messages N] [--outage-seconds S] [--rate N]`.
 *
 * 1. In process: the receive loop's accounting step (`PublisherAccounting.admit`) per message,
 *    200 B payloads without and with the envelope, same run.
 * 2. End to end: the same daemon, broker and publisher; N messages of 200 B without the envelope,
 *    then N with it, then again without and with (alternating against drift): received and
 *    durable per second, with / without.
 * 3. Refill: a protocol-speaking publisher (the tests' child publisher) sends at `--rate` msg/s;
 *    the daemon is killed with -9 for `--outage-seconds`, restarted, and the time until every
 *    missed message is refilled (and durable) gives the refill speed.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as zmq from "zeromq";
import { startBroker } from "../src/broker.ts";
import { sendControlRequest } from "../src/control/client.ts";
import type { DaemonStatus } from "../src/control/protocol.ts";
import { PublisherAccounting } from "../src/recording/publisher_accounting.ts";
import { denoRunArgs, freePorts, MAIN_SCRIPT } from "./_child_process.ts";
import { TestPublisher } from "../tests/_test_publisher.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    messages: { type: "string", default: "50000" },
    "outage-seconds": { type: "string", default: "10" },
    rate: { type: "string", default: "1000" },
  },
});
const MESSAGES = Number(values.messages);
const OUTAGE_SECONDS = Number(values["outage-seconds"]);
const RATE = Number(values.rate);
const encoder = new TextEncoder();

function payload(n: number, envelope: { pub: string; seq: number } | undefined): Uint8Array {
  const body: Record<string, unknown> = { from: "bench", n, content: "x".repeat(140) };
  if (envelope) body._shearwater = envelope;
  return encoder.encode(JSON.stringify(body));
}

function admitCost(): { plainNs: number; envelopeNs: number } {
  const accounting = new PublisherAccounting({
    ask: () => Promise.resolve(undefined),
    appendRefilled: () => {},
    writeGap: () => {},
  });
  const topic = encoder.encode("bench.data");
  const count = 200_000;
  // Distinct payloads in both cases, so memory traffic is the same.
  const plain = Array.from({ length: count }, (_, i) => [topic, payload(i, undefined)]);
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
  const plainNs = time(plain);
  const envelopeNs = time(enveloped);
  return { plainNs, envelopeNs };
}

interface Rig {
  frontend: string;
  backend: string;
  dataDir: string;
  daemon?: Deno.ChildProcess;
}

async function status(rig: Rig): Promise<DaemonStatus | undefined> {
  try {
    const answer = await sendControlRequest(`${rig.dataDir}/control.sock`, { cmd: "status" }, {
      timeoutMs: 2000,
    });
    return answer.ok ? answer.status : undefined;
  } catch {
    return undefined;
  }
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function startDaemon(rig: Rig): Promise<void> {
  rig.daemon = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs(MAIN_SCRIPT, ["daemon", "--data-dir", rig.dataDir, "--backend", rig.backend]),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await until("the daemon", async () => (await status(rig)) !== undefined);
}

async function endToEnd(rig: Rig): Promise<{ plain: number[]; envelope: number[] }> {
  const publisher = new zmq.Publisher({ sendHighWaterMark: 1_000_000 });
  publisher.connect(rig.frontend);
  await until("the subscription", async () => {
    await publisher.send(["bench.warmup", "x"]);
    return ((await status(rig))?.received ?? 0) > 0;
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const result = { plain: [] as number[], envelope: [] as number[] };
  let seq = 0;
  for (const withEnvelope of [false, true, false, true]) {
    const before = (await status(rig))!.received;
    const frames = Array.from({ length: MESSAGES }, (_, i) => [
      encoder.encode("bench.data"),
      payload(i, withEnvelope ? { pub: "bench/e2e001", seq: ++seq } : undefined),
    ]);
    const start = performance.now();
    for (const message of frames) await publisher.send(message);
    await until("the burst to be durable", async () => {
      const s = await status(rig);
      return s !== undefined && s.received >= before + MESSAGES && s.durable_seq >= s.seq;
    });
    const rate = MESSAGES / ((performance.now() - start) / 1000);
    (withEnvelope ? result.envelope : result.plain).push(rate);
  }
  publisher.close();
  return result;
}

async function refill(rig: Rig): Promise<{ missed: number; seconds: number; rate: number }> {
  const peer = await TestPublisher.start(rig.frontend, { name: "bench", outbox: 100_000 });
  try {
    await until("the publisher to be heard", async () => {
      const before = (await status(rig))!.received;
      await peer.raw(["bench.warmup", "x"]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return (await status(rig))!.received > before;
    });
    await peer.presence("hello");
    await peer.send("bench.data", 100, 1);
    await until("durable", async () => {
      const s = await status(rig);
      return s !== undefined && s.durable_seq >= s.seq &&
        s.publishers.some((p) => p.pub === peer.pub && p.highest_seq === 100);
    });
    rig.daemon!.kill("SIGKILL");
    await rig.daemon!.status;
    const before = peer.lastSeq;
    const outageEnd = Date.now() + OUTAGE_SECONDS * 1000;
    while (Date.now() < outageEnd) {
      await peer.send("bench.data", Math.ceil(RATE / 10), 0).then(() =>
        new Promise((resolve) => setTimeout(resolve, 100))
      );
    }
    const missed = peer.lastSeq - before;
    await startDaemon(rig);
    const start = performance.now();
    // The next message shows the daemon how much it missed (a steady publisher's next send).
    await until("the publisher to be heard again", async () => {
      await peer.send("bench.data", 1);
      return ((await status(rig))?.received ?? 0) > 0;
    });
    const last = peer.lastSeq;
    await until("the refill", async () => {
      const s = await status(rig);
      const p = s?.publishers.find((figures) => figures.pub === peer.pub);
      return s !== undefined && p !== undefined && p.highest_seq === last && p.pending === 0 &&
        s.durable_seq >= s.seq;
    });
    const seconds = (performance.now() - start) / 1000;
    const figures = (await status(rig))!.publishers.find((p) => p.pub === peer.pub)!;
    if (figures.missing !== 0) {
      const gaps = (await Deno.readTextFile(`${rig.dataDir}/current_session.jsonl`)).split("\n")
        .filter((line) => line.includes('"type":"publisher_gap"'));
      throw new Error(`refill left ${figures.missing} missing: ${gaps.join("\n")}`);
    }
    return { missed, seconds, rate: missed / seconds };
  } finally {
    await peer.kill();
  }
}

const [frontendPort, backendPort] = freePorts(2);
const dir = await Deno.makeTempDir({ prefix: "shearwater_publisher_bench_" });
const rig: Rig = {
  frontend: `tcp://127.0.0.1:${frontendPort}`,
  backend: `tcp://127.0.0.1:${backendPort}`,
  dataDir: `${dir}/data`,
};
const broker = await startBroker({ frontend: rig.frontend, backend: rig.backend });
try {
  const cost = admitCost();
  console.log(
    `accounting step per message (in process): ${cost.plainNs.toFixed(0)} ns without the ` +
      `envelope, ${cost.envelopeNs.toFixed(0)} ns with it`,
  );
  await startDaemon(rig);
  const e2e = await endToEnd(rig);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `end to end, ${MESSAGES} × 200 B flat out, received and durable: without envelope ` +
      `${e2e.plain.map((r) => r.toFixed(0)).join(", ")} msg/s; with ` +
      `${e2e.envelope.map((r) => r.toFixed(0)).join(", ")} msg/s; ratio with / without ` +
      `${(mean(e2e.envelope) / mean(e2e.plain)).toFixed(2)}`,
  );
  const result = await refill(rig);
  console.log(
    `refill after a ${OUTAGE_SECONDS} s outage at ${RATE} msg/s: ${result.missed} messages ` +
      `refilled and durable in ${result.seconds.toFixed(2)} s after the restart (` +
      `${result.rate.toFixed(0)} msg/s, from the daemon hearing the publisher again)`,
  );
} finally {
  rig.daemon?.kill("SIGKILL");
  await rig.daemon?.status;
  await broker.stop();
  await Deno.remove(dir, { recursive: true });
}
Deno.exit(0);
