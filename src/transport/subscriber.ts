import * as zmq from "zeromq";
import { FfiSubscriber, openLibzmq } from "./ffi_subscriber.ts";

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

/** What the daemon reads bus messages from: {@link BusSubscriber} or `FfiSubscriber`. */
export interface MessageSource {
  /** Multipart messages as they arrive, in order, until `close()`. */
  messages(): AsyncGenerator<Uint8Array[]>;
  /** The same messages in arrival order, grouped in batches of what was queued. */
  batches(): AsyncGenerator<Uint8Array[][]>;
  /** Stops receiving; a pending iteration ends. */
  close(): void;
}

/** Which receive path {@link openSubscriber} takes. */
export type SubscriberKind = "ffi" | "zeromq.js";

/**
 * Opens the cheapest subscriber this process can run: libzmq through FFI (`FfiSubscriber`,
 * a few synchronous calls per message), or, when the zeromq.js addon cannot be opened that way
 * (another platform, no `/proc`), the zeromq.js {@link BusSubscriber}, with `onFallback` told
 * why. `kind` forces one.
 *
 * @example
 * ```ts
 * const { source, kind } = openSubscriber({ endpoint, topics: [] }, {
 *   onFallback: (reason) => logger.warn("subscriber_fallback", { reason }),
 * });
 * ```
 */
export function openSubscriber(
  options: BusSubscriberOptions,
  choice: { kind?: SubscriberKind; onFallback?: (reason: string) => void } = {},
): { source: MessageSource; kind: SubscriberKind } {
  if (choice.kind !== "zeromq.js") {
    const opened = openLibzmq();
    if (!("reason" in opened)) return { source: new FfiSubscriber(options), kind: "ffi" };
    if (choice.kind === "ffi") throw new Error(`Cannot receive through FFI: ${opened.reason}`);
    choice.onFallback?.(opened.reason);
  }
  return { source: new BusSubscriber(options), kind: "zeromq.js" };
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
 * let it hand over what it had already queued, then read a fresh socket; messages stay in
 * order because the old socket is drained before the new one is read.
 *
 * Closing: calling `close()` on a zeromq.js socket that had received messages crashed Deno
 * with SIGSEGV in about half of the runs here (10/10 when it was disconnected first). So no
 * socket is closed explicitly: a retired socket is disconnected and skipped, and the sockets
 * go with the process. One socket is left behind per broker restart and per `close()`.
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
  readonly #sockets: ReadSocket[] = [];
  #closed = false;
  /** The link state last reported (undefined before the first event). */
  #linkUp: boolean | undefined;
  #signalClosed!: () => void;
  readonly #closedSignal = new Promise<undefined>((resolve) => {
    this.#signalClosed = () => resolve(undefined);
  });

  constructor(options: BusSubscriberOptions) {
    this.#options = options;
    this.#openSocket();
  }

  /** Multipart messages as they arrive, in order, until {@link close}. */
  async *messages(): AsyncGenerator<Uint8Array[]> {
    while (!this.#closed) {
      const current = this.#sockets[0];
      if (!current) return;
      const frames = await Promise.race([
        current.socket.receive(),
        current.drained,
        this.#closedSignal,
      ]);
      if (frames) {
        yield frames;
      } else if (this.#sockets[0] === current) {
        this.#sockets.shift(); // a retired socket with nothing left: read the next one
      }
    }
  }

  /** The same messages as {@link messages}, one per batch (the {@link MessageSource} shape). */
  async *batches(): AsyncGenerator<Uint8Array[][]> {
    for await (const frames of this.messages()) yield [frames];
  }

  /** Stops receiving; pending `messages()` iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sockets.length = 0;
    this.#signalClosed();
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
    let markDrained!: () => void;
    const drained = new Promise<undefined>((resolve) => markDrained = () => resolve(undefined));
    this.#sockets.push({ socket, drained, markDrained });
    this.#watchEvents(socket);
    socket.connect(this.#options.endpoint);
  }

  async #watchEvents(socket: zmq.Subscriber): Promise<void> {
    for await (const event of socket.events) {
      if (this.#closed) return;
      if (event.type === "handshake") {
        this.#reportLink({ type: "up", address: event.address });
      } else if (event.type === "disconnect") {
        this.#reportLink({ type: "down", address: event.address });
        this.#retire(socket);
        this.#openSocket();
        return;
      }
    }
  }

  /**
   * Reports changes of the link only: a fresh socket can see another disconnect before any
   * handshake (the broker half up while it restarts), which is not a second outage.
   */
  #reportLink(event: LinkEvent): void {
    const up = event.type === "up";
    if (this.#linkUp === up) return;
    this.#linkUp = up;
    this.#options.onLinkEvent?.(event);
  }

  #retire(socket: zmq.Subscriber): void {
    socket.disconnect(this.#options.endpoint);
    const entry = this.#sockets.find((candidate) => candidate.socket === socket);
    const markWhenDrained = () => {
      if (this.#closed || !entry) return;
      if (socket.readable) {
        setTimeout(markWhenDrained, DRAIN_CHECK_MS);
      } else {
        entry.markDrained();
      }
    };
    setTimeout(markWhenDrained, DRAIN_CHECK_MS);
  }
}

/** A socket in reading order, and the signal that it is retired with nothing left to read. */
interface ReadSocket {
  readonly socket: zmq.Subscriber;
  readonly drained: Promise<undefined>;
  readonly markDrained: () => void;
}
