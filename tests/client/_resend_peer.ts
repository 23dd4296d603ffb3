/** Test side of the resend protocol: a real DEALER and a real SUB, no fakes. */
import * as zmq from "zeromq";
import { type RunningBroker, startBroker } from "../../src/broker.ts";

const decoder = new TextDecoder();

/** One reply of a resend answer, decoded. */
export type ResendReply =
  | { kind: "msg"; seq: number; frames: Uint8Array[] }
  | { kind: "done"; body: Record<string, unknown> };

/**
 * Sends one raw request frame to `endpoint` from a fresh DEALER and collects the replies up
 * to and including `done`. The DEALER is closed only after its last receive resolved.
 */
export async function askResend(endpoint: string, request: string): Promise<ResendReply[]> {
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(endpoint);
  await dealer.send(request);
  const replies: ResendReply[] = [];
  for (;;) {
    const [kind, second, ...rest] = await dealer.receive();
    const tag = decoder.decode(kind);
    if (tag === "done") {
      replies.push({ kind: "done", body: JSON.parse(decoder.decode(second)) });
      break;
    }
    if (tag !== "msg") throw new Error(`unexpected reply ${tag}`);
    replies.push({ kind: "msg", seq: Number(decoder.decode(second)), frames: rest });
  }
  dealer.close();
  return replies;
}

/**
 * A SUB on a broker backend that collects every message until {@link close}. It receives only
 * when `readable` says a message is there, so no receive is ever pending and closing is safe
 * (zeromq.js can crash Deno closing a socket with a pending receive).
 */
export function collect(backend: string, topics: string[] = [""]): {
  messages: Uint8Array[][];
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
} {
  const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1_000_000 });
  sub.connect(backend);
  for (const topic of topics) sub.subscribe(topic);
  const messages: Uint8Array[][] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (sub.readable) messages.push(await sub.receive());
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    messages,
    async waitFor(count: number) {
      for (let i = 0; messages.length < count; i++) {
        if (i > 3000) throw new Error(`only ${messages.length} of ${count} messages arrived`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      stopped = true;
      await loop;
      sub.close();
    },
  };
}

/** Frames as text. */
export function text(frames: Uint8Array[]): string[] {
  return frames.map((frame) => decoder.decode(frame));
}

/**
 * A broker on two free ports BELOW the kernel's ephemeral range, for tests that restart it on
 * the same ports (a client that keeps reconnecting to a free port in the ephemeral range can
 * connect to itself and hold it).
 */
export async function startRestartableBroker(): Promise<{
  endpoints: { frontend: string; backend: string };
  broker: RunningBroker;
}> {
  for (let attempt = 1;; attempt++) {
    const [front, back] = [lowPort(), lowPort()];
    const endpoints = { frontend: `tcp://127.0.0.1:${front}`, backend: `tcp://127.0.0.1:${back}` };
    try {
      return { endpoints, broker: await startBroker(endpoints) };
    } catch (error) {
      if (attempt >= 20 || !/in use/i.test((error as Error).message)) throw error;
    }
  }
}

/**
 * Starts the broker again on the same endpoints. zeromq.js closes sockets in its I/O thread
 * after `close()` returns, so the old broker's ports are free only a moment later: retry.
 */
export async function restartBroker(
  endpoints: { frontend: string; backend: string },
): Promise<RunningBroker> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startBroker(endpoints);
    } catch (error) {
      if (attempt >= 50 || !/in use/i.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function lowPort(): number {
  return 20_000 + Math.floor(Math.random() * 12_000);
}
