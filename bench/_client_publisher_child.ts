/**
 * Child process of the publisher bench: the real TypeScript client (`src/client/`) publishing
 * 200 B payloads. Args: FRONTEND NAME OUTBOX. Prints `{"pub"}` once a subscriber is there, then
 * reads one JSON command per stdin line and answers one JSON line `{"last_seq"}`:
 * - `{"cmd": "burst", "count": N, "envelope": bool}`: N messages flat out; without the envelope
 *   the same JSON text with the field renamed is sent as a string (the client sends it as is);
 * - `{"cmd": "stream", "rate": R}`: starts sending R messages a second (with the envelope);
 * - `{"cmd": "stop"}`: stops the stream; `{"cmd": "seq"}`: only answers.
 * A child process because one Deno process holding the broker and a publisher under load was
 * seen to crash.
 */
import { Publisher } from "../src/client/mod.ts";

const [frontend, name, outbox] = Deno.args;
const publisher = await Publisher.open({
  frontend: frontend!,
  name: name!,
  outbox: Number(outbox),
  waitForSubscriberMs: 30_000,
});
const CONTENT = "x".repeat(140);
let n = 0;
let streaming: Promise<void> | undefined;
let stopStream = false;

function body(): Record<string, unknown> {
  n++;
  return { from: "bench", n, content: CONTENT };
}

/**
 * The JSON text an enveloped message would have, but with the field renamed (`_shearwatex`):
 * the same bytes on the wire and on disk, so the with / without ratio measures the accounting,
 * not the payload size.
 */
function sameBytesWithoutEnvelope(): string {
  return JSON.stringify({ ...body(), _shearwatex: { pub: publisher.pub, seq: n } });
}

async function burst(count: number, envelope: boolean): Promise<void> {
  let sent: Promise<unknown> = Promise.resolve();
  for (let i = 1; i <= count; i++) {
    sent = publisher.send("bench.data", envelope ? body() : sameBytesWithoutEnvelope());
    if (i % 1000 === 0) await sent; // the client queues in call order: bound what is queued
  }
  await sent;
}

async function stream(ratePerSecond: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  while (!stopStream) {
    const due = Math.floor(((performance.now() - started) / 1000) * ratePerSecond);
    while (sent < due) {
      await publisher.send("bench.data", body());
      sent++;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function run(command: { cmd: string; count?: number; envelope?: boolean; rate?: number }) {
  switch (command.cmd) {
    case "burst":
      return await burst(command.count!, command.envelope!);
    case "stream":
      stopStream = false;
      streaming = stream(command.rate!);
      return;
    case "stop":
      stopStream = true;
      return await streaming;
  }
}

console.log(JSON.stringify({ pub: publisher.pub }));
let carry = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  const parts = (carry + chunk).split("\n");
  carry = parts.pop()!;
  for (const part of parts) {
    await run(JSON.parse(part));
    console.log(JSON.stringify({ last_seq: publisher.lastSeq }));
  }
}
await publisher.close();
