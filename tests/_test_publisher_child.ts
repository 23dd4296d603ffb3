/**
 * Child process behind `TestPublisher` (tests/_test_publisher.ts): a publisher speaking the
 * accounting and refill protocol over real ZeroMQ. Args: FRONTEND NAME OUTBOX. Reads one JSON
 * command per stdin line and answers one JSON line on stdout with its `last_seq`. In a child
 * process so that "the publisher is gone" is a real SIGKILL, and because a zeromq.js ROUTER
 * that received messages can crash its process at exit.
 */
import * as zmq from "zeromq";

const [frontend, name, outboxArg] = Deno.args;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const outboxSize = Number(outboxArg);
const pub = `${name}/${crypto.randomUUID().slice(0, 6)}`;
const outbox: { seq: number; frames: Uint8Array[] }[] = [];
let seq = 0;
let answering = true;

// No send limit: a ROUTER drops what goes over its high-water mark, silently, and a resend of a
// whole outbox is written faster than the socket drains.
const router = new zmq.Router({ linger: 0, sendHighWaterMark: 0 });
await router.bind("tcp://127.0.0.1:*");
const resend = router.lastEndpoint!;
const socket = new zmq.Publisher({ sendHighWaterMark: 1_000_000, linger: 2000 });
socket.connect(frontend!);

function numbered(topic: string, payload: Record<string, unknown>): Uint8Array[] {
  seq++;
  const body = { ...payload, _shearwater: { pub, seq } };
  const frames = [encoder.encode(topic), encoder.encode(JSON.stringify(body))];
  outbox.push({ seq, frames });
  if (outbox.length > outboxSize) outbox.shift();
  return frames;
}

/**
 * Polls `readable` rather than leaving a receive pending: under Deno a pending ROUTER receive
 * was seen not to wake when a request arrived.
 */
async function serve(): Promise<void> {
  while (true) {
    if (!router.readable) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      continue;
    }
    const [identity, request] = await router.receive();
    if (!answering || !identity || !request) continue;
    const { pub: asked, from, to } = JSON.parse(decoder.decode(request));

    const done = { pub: asked, from, to, sent: 0, oldest: outbox[0]?.seq ?? null, newest: seq };
    if (asked !== pub) {
      await router.send([identity, "done", JSON.stringify({ ...done, error: "unknown pub" })]);
      continue;
    }
    for (const message of outbox) {
      if (message.seq < from || message.seq > to) continue;
      await router.send([identity, "msg", String(message.seq), ...message.frames]);
      done.sent++;
    }
    await router.send([identity, "done", JSON.stringify(done)]);
  }
}
serve();

type Command =
  | { cmd: "send"; topic: string; count: number; delayMs?: number }
  | { cmd: "lose"; count: number }
  | { cmd: "again"; seq: number }
  | { cmd: "presence"; type: "hello" | "alive" | "bye" }
  | { cmd: "raw"; frames: string[] }
  | { cmd: "mute" }
  | { cmd: "unmute" };

async function run(command: Command): Promise<void> {
  switch (command.cmd) {
    case "send":
      for (let i = 0; i < command.count; i++) {
        await socket.send(numbered(command.topic, { n: i, content: `message ${seq + 1}` }));
        if (command.delayMs) await new Promise((resolve) => setTimeout(resolve, command.delayMs));
      }
      return;
    case "lose":
      for (let i = 0; i < command.count; i++) numbered("work", { lost: true });
      return;
    case "again": {
      const kept = outbox.find((message) => message.seq === command.seq);
      if (kept) await socket.send(kept.frames);
      return;
    }
    case "presence":
      await socket.send([
        "shearwater.presence",
        JSON.stringify({
          type: command.type,
          pub,
          name,
          resend,
          last_seq: seq,
          outbox: outboxSize,
          at: new Date().toISOString(),
        }),
      ]);
      return;
    case "raw":
      await socket.send(command.frames);
      return;
    case "mute":
      answering = false;
      return;
    case "unmute":
      answering = true;
      return;
  }
}

console.log(JSON.stringify({ pub, resend, last_seq: 0 }));
let carry = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  const parts = (carry + chunk).split("\n");
  carry = parts.pop()!;
  for (const part of parts) {
    await run(JSON.parse(part));
    console.log(JSON.stringify({ pub, resend, last_seq: seq }));
  }
}
Deno.exit(0); // without closing the sockets: see the module comment
