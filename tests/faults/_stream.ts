/**
 * Steady-stream publishers for the fault suite: each sends enveloped JSON messages
 * (`"_shearwater": {"pub", "seq"}`) at a steady rate until stopped, and remembers how many it
 * published, so the accounting can be checked against what the daemon stored.
 */
import * as zmq from "zeromq";
import type { Prng } from "../prng.ts";

/** A publisher sending a steady stream in the background. */
export interface StreamPublisher {
  /** The publisher id in the envelope (`name/` + 6 hex digits). */
  readonly pub: string;
  /** Highest seq sent so far: seqs 1..published were all handed to ZeroMQ. */
  readonly published: number;
  /** Stops sending (after the message in flight) and closes the publisher. */
  stop(): Promise<void>;
}

/** Options of {@link startStream}. */
export interface StreamOptions {
  readonly frontend: string;
  readonly name: string;
  readonly ratePerSecond: number;
  readonly prng: Prng;
}

const TICK_MS = 10;

/** Starts a steady stream on topic `stream.<name>`. */
export function startStream(options: StreamOptions): Promise<StreamPublisher> {
  const pub = `${options.name}/${
    Array.from(options.prng.bytes(3), (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
  const socket = new zmq.Publisher({ sendHighWaterMark: 1_000_000, linger: 2000 });
  socket.connect(options.frontend);
  const topic = `stream.${options.name}`;
  let seq = 0;
  let stopping = false;
  const perTick = Math.max(1, Math.round(options.ratePerSecond * TICK_MS / 1000));
  const sending = (async () => {
    while (!stopping) {
      for (let i = 0; i < perTick; i++) {
        const payload = {
          from: options.name,
          text: `message ${seq + 1} of ${pub}`,
          _shearwater: { pub, seq: seq + 1 },
        };
        await socket.send([topic, JSON.stringify(payload)]);
        seq++;
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  })();
  return Promise.resolve({
    pub,
    get published() {
      return seq;
    },
    async stop() {
      stopping = true;
      await sending;
      socket.close();
    },
  });
}
