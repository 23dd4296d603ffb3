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
  /** Called on connect/disconnect; the subscriber reconnects by itself. */
  readonly onLinkEvent?: (event: LinkEvent) => void;
}

/** Default receive high-water mark: the measured value that lost nothing in bursts. */
export const DEFAULT_RECEIVE_HWM = 1_000_000;
const DRAIN_CHECK_MS = 20;

/**
 * A ZeroMQ SUB connection to a broker's XPUB backend. It only listens: it never sends anything
 * but subscriptions, so it works with any XPUB/XSUB broker.
 *
 * Reconnection: under Deno, a zeromq.js SUB socket that libzmq reconnects after the broker
 * restarts shows `readable` but its pending `receive()` never resolves (measured with both a
 * zeromq.js and a pyzmq broker). So on a disconnect we stop the old socket from reconnecting,
 * let it hand over what it had already queued, close it, and connect a fresh socket; messages
 * stay in order because the old socket is drained before the new one is read.
 *
 * @example
 * ```ts
 * const sub = new BusSubscriber({ endpoint: "tcp://127.0.0.1:5560", topics: [] });
 * for await (const frames of sub.messages()) console.log(frames.length);
 * ```
 */
export class BusSubscriber {
  readonly #options: BusSubscriberOptions;
  /** Sockets in reading order: the first is read until it is retired and drained. */
  readonly #sockets: zmq.Subscriber[] = [];
  #closed = false;

  constructor(options: BusSubscriberOptions) {
    this.#options = options;
    this.#openSocket();
  }

  /** Multipart messages as they arrive, in order, until {@link close}. */
  async *messages(): AsyncGenerator<Uint8Array[]> {
    while (!this.#closed) {
      const socket = this.#sockets[0];
      if (!socket) return;
      let frames: Uint8Array[] | undefined;
      try {
        frames = await socket.receive();
      } catch (error) {
        if (this.#closed) return;
        if (!socket.closed) throw error;
      }
      if (frames) {
        yield frames;
      } else if (this.#sockets[0] === socket) {
        this.#sockets.shift(); // a retired socket, drained and closed: read the next one
      }
    }
  }

  /** Stops receiving and closes the sockets; pending `messages()` iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#sockets) socket.close();
    this.#sockets.length = 0;
  }

  #openSocket(): void {
    const heartbeat = this.#options.heartbeatIntervalMs ?? 1000;
    const socket = new zmq.Subscriber({
      receiveHighWaterMark: this.#options.receiveHighWaterMark ?? DEFAULT_RECEIVE_HWM,
      heartbeatInterval: heartbeat,
      heartbeatTimeout: heartbeat * 3,
      reconnectInterval: 100,
      reconnectMaxInterval: 1000,
      linger: 0,
    });
    if (this.#options.topics.length === 0) {
      socket.subscribe();
    } else {
      socket.subscribe(...this.#options.topics);
    }
    this.#sockets.push(socket);
    this.#watchEvents(socket);
    socket.connect(this.#options.endpoint);
  }

  async #watchEvents(socket: zmq.Subscriber): Promise<void> {
    for await (const event of socket.events) {
      if (this.#closed) return;
      if (event.type === "handshake") {
        this.#options.onLinkEvent?.({ type: "up", address: event.address });
      } else if (event.type === "disconnect") {
        this.#options.onLinkEvent?.({ type: "down", address: event.address });
        this.#retire(socket);
        this.#openSocket();
        return;
      }
    }
  }

  #retire(socket: zmq.Subscriber): void {
    socket.disconnect(this.#options.endpoint);
    const closeWhenDrained = () => {
      if (this.#closed || socket.closed) return;
      if (socket.readable) {
        setTimeout(closeWhenDrained, DRAIN_CHECK_MS);
      } else {
        socket.close();
      }
    };
    setTimeout(closeWhenDrained, DRAIN_CHECK_MS);
  }
}
