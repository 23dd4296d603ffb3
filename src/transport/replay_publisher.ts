import * as zmq from "zeromq";

/** Options for {@link ReplayPublisher.connect}. */
export interface ReplayPublisherOptions {
  /** The broker's frontend (its XSUB side), e.g. `tcp://127.0.0.1:5559`. */
  readonly frontend: string;
  /** Messages queued in the socket before `send` waits (never dropped); default 100,000. */
  readonly sendHighWaterMark?: number;
}

const decoder = new TextDecoder();

/**
 * Publishes recorded messages to a broker's frontend. It is an XPUB socket, not a PUB: the
 * proxy forwards its subscribers' subscriptions upstream to it, so it knows when the broker has
 * told it about subscribers — ZeroMQ drops what a publisher sends before that (the slow
 * joiner), so {@link waitForSubscribers} comes before the first send. `noDrop` makes a full
 * queue wait instead of dropping.
 *
 * Sockets are never closed (closing a zeromq.js socket that received messages can crash Deno,
 * see BusSubscriber): they go with the process.
 *
 * @example
 * ```ts
 * const publisher = ReplayPublisher.connect({ frontend: "tcp://127.0.0.1:5559" });
 * const topics = await publisher.waitForSubscribers({ timeoutMs: 2000, settleMs: 100 });
 * if (topics.length > 0) await publisher.send([topic, payload]);
 * ```
 */
export class ReplayPublisher {
  readonly #socket: zmq.XPublisher;
  /** Topic prefixes subscribed to at the broker's backend, as the proxy reported them. */
  readonly #subscriptions = new Set<string>();
  #changed: (() => void) | undefined;

  private constructor(socket: zmq.XPublisher) {
    this.#socket = socket;
    this.#readSubscriptions();
  }

  /** Connects to the frontend; subscriptions start arriving at once. */
  static connect(options: ReplayPublisherOptions): ReplayPublisher {
    const socket = new zmq.XPublisher({
      linger: 30_000,
      noDrop: true,
      sendHighWaterMark: options.sendHighWaterMark ?? 100_000,
    });
    socket.connect(options.frontend);
    return new ReplayPublisher(socket);
  }

  /** Topic prefixes somebody subscribes to now (`""`: everything). */
  get subscriptions(): readonly string[] {
    return [...this.#subscriptions];
  }

  /**
   * Waits until the broker has reported at least one subscription, then `settleMs` more so the
   * rest of them arrive too; resolves with the subscribed prefixes, empty when none came within
   * `timeoutMs` (nobody subscribes).
   */
  async waitForSubscribers(
    options: { readonly timeoutMs: number; readonly settleMs: number },
  ): Promise<string[]> {
    const deadline = performance.now() + options.timeoutMs;
    while (this.#subscriptions.size === 0 && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - performance.now()));
        this.#changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#changed = undefined;
    if (this.#subscriptions.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, options.settleMs));
    }
    return [...this.#subscriptions];
  }

  /** True when a subscriber would receive a message on `topic` (a prefix matches). */
  isSubscribed(topic: Uint8Array): boolean {
    const text = decoder.decode(topic);
    for (const prefix of this.#subscriptions) if (text.startsWith(prefix)) return true;
    return false;
  }

  /** Sends one multipart message, waiting while the queue is full. */
  async send(frames: readonly Uint8Array[]): Promise<void> {
    await this.#socket.send(frames as Uint8Array[]);
  }

  async #readSubscriptions(): Promise<void> {
    for await (const [message] of this.#socket) {
      if (!message || message.length === 0) continue;
      const topic = decoder.decode(message.subarray(1));
      if (message[0] === 1) this.#subscriptions.add(topic);
      else if (message[0] === 0) this.#subscriptions.delete(topic);
      this.#changed?.();
    }
  }
}
