/**
 * Steady-stream publishers for the fault suite: the real client library (`src/client/`), each
 * sending JSON messages at a steady rate until stopped, with envelope, outbox, presence and
 * resend endpoint, so the accounting can be checked against what the daemon stored.
 */
import { Publisher } from "../../src/client/mod.ts";

/** A publisher sending a steady stream in the background. */
export interface StreamPublisher {
  /** The publisher id in the envelope (`name/` + 6 hex digits). */
  readonly pub: string;
  /** Highest seq sent so far: seqs 1..published were all handed to ZeroMQ. */
  readonly published: number;
  /** Stops sending (after the message in flight) and closes the publisher (it says `bye`). */
  stop(): Promise<void>;
}

/** Options of {@link startStream}. */
export interface StreamOptions {
  readonly frontend: string;
  readonly name: string;
  readonly ratePerSecond: number;
  /** The client's outbox capacity (default: the library's, 10,000). */
  readonly outbox?: number;
}

const TICK_MS = 10;

/**
 * Opens a client-library publisher and starts a steady stream on topic `stream.<name>`. It
 * does not wait for a subscriber: what the daemon misses at the start is its to refill.
 */
export async function startStream(options: StreamOptions): Promise<StreamPublisher> {
  const publisher = await Publisher.open({
    frontend: options.frontend,
    name: options.name,
    outbox: options.outbox,
    onError: (error) => console.error(`stream ${options.name}: ${error.message}`),
  });
  const topic = `stream.${options.name}`;
  let stopping = false;
  let published = 0;
  const perTick = Math.max(1, Math.round(options.ratePerSecond * TICK_MS / 1000));
  const sending = (async () => {
    while (!stopping) {
      for (let i = 0; i < perTick; i++) {
        const seq = await publisher.send(topic, {
          from: options.name,
          text: `message ${published + 1} of ${publisher.pub}`,
        });
        published = seq!;
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  })();
  let stopped: Promise<void> | undefined;
  return {
    pub: publisher.pub,
    get published() {
      return published;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await sending;
        await publisher.close();
      })();
      return stopped;
    },
  };
}
