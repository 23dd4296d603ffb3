import * as zmq from "zeromq";

/** Connection state changes of the subscriber's link to the broker. */
export type LinkEvent =
  | { readonly type: "up"; readonly address: string }
  | { readonly type: "down"; readonly address: string };

/** Options for {@link BusSubscriber}. */
export interface BusSubscriberOptions {
  /** Broker backend (XPUB) endpoint. */
  readonly endpoint: string;
  /** Topic prefixes; empty subscribes to everything. */
  readonly topics: readonly string[];
  /** Messages queued in ZeroMQ before it drops; high so bursts are not lost. */
  readonly receiveHighWaterMark?: number;
  /** ZMTP heartbeat interval, so a silently vanished broker is noticed. */
  readonly heartbeatIntervalMs?: number;
  /** Called on connect/disconnect; ZeroMQ reconnects by itself. */
  readonly onLinkEvent?: (event: LinkEvent) => void;
}

/** Default receive high-water mark: the measured value that lost nothing in bursts. */
export const DEFAULT_RECEIVE_HWM = 1_000_000;

/**
 * A ZeroMQ SUB socket connected to a broker's XPUB backend. It only listens: it never sends
 * anything but subscriptions, so it works with any XPUB/XSUB broker. ZeroMQ reconnects after the
 * broker restarts and re-sends the subscriptions.
 *
 * @example
 * ```ts
 * const sub = new BusSubscriber({ endpoint: "tcp://127.0.0.1:5560", topics: [] });
 * for await (const frames of sub.messages()) console.log(frames.length);
 * ```
 */
export class BusSubscriber {
  readonly #socket: zmq.Subscriber;
  readonly #options: BusSubscriberOptions;
  #closed = false;

  constructor(options: BusSubscriberOptions) {
    this.#options = options;
    const heartbeat = options.heartbeatIntervalMs ?? 1000;
    this.#socket = new zmq.Subscriber({
      receiveHighWaterMark: options.receiveHighWaterMark ?? DEFAULT_RECEIVE_HWM,
      heartbeatInterval: heartbeat,
      heartbeatTimeout: heartbeat * 3,
      reconnectInterval: 100,
      reconnectMaxInterval: 1000,
      linger: 0,
    });
    if (options.topics.length === 0) {
      this.#socket.subscribe();
    } else {
      this.#socket.subscribe(...options.topics);
    }
    if (options.onLinkEvent) this.#watchEvents(options.onLinkEvent);
    this.#socket.connect(options.endpoint);
  }

  /** Multipart messages as they arrive, until {@link close}. */
  async *messages(): AsyncGenerator<Uint8Array[]> {
    while (!this.#closed) {
      let frames: Uint8Array[];
      try {
        frames = await this.#socket.receive();
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
      yield frames;
    }
  }

  /** Stops receiving and closes the socket; pending `messages()` iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }

  async #watchEvents(onLinkEvent: (event: LinkEvent) => void): Promise<void> {
    try {
      for await (const event of this.#socket.events) {
        if (event.type === "connect") onLinkEvent({ type: "up", address: event.address });
        if (event.type === "disconnect") onLinkEvent({ type: "down", address: event.address });
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }
}
