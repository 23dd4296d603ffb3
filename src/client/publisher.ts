import * as zmq from "zeromq";
import { answerResend } from "./_resend.ts";
import { Outbox } from "./outbox.ts";

/** The topic publishers announce themselves on (`hello`, `alive`, `bye`). */
export const PRESENCE_TOPIC = "shearwater.presence";
/** The top-level payload field that carries a publisher's id and sequence number. */
export const ENVELOPE_FIELD = "_shearwater";

/** Options for {@link Publisher.open}. */
export interface PublisherOptions {
  /** The broker's frontend (its XSUB side), e.g. `tcp://127.0.0.1:5559`. */
  readonly frontend: string;
  /** Who publishes, e.g. `alice`; the publisher id is `name/` + 6 random hex digits. */
  readonly name: string;
  /** How many of the last enveloped messages are kept for resend; default 10,000. */
  readonly outbox?: number;
  /** Milliseconds between `alive` announcements; default 5,000. */
  readonly presenceIntervalMs?: number;
  /** Where the resend ROUTER binds; default `tcp://127.0.0.1:*` (an ephemeral port). */
  readonly resend?: string;
  /**
   * Milliseconds {@link Publisher.open} waits for the broker to report a subscriber before it
   * returns (ZeroMQ drops what is published before that: the slow joiner); default 0, no wait.
   */
  readonly waitForSubscriberMs?: number;
  /** Messages queued in the socket before ZeroMQ drops; default 100,000. */
  readonly sendHighWaterMark?: number;
  /** Where failures of background work (presence, resend answers) go; default console.error. */
  readonly onError?: (error: Error) => void;
}

/** A payload: a plain object gets the envelope; a string or bytes go as they are. */
export type Payload = Readonly<Record<string, unknown>> | string | Uint8Array;

const POLL_MS = 20;
const encoder = new TextEncoder();

/**
 * A bus publisher with accounting: every object payload carries
 * `"_shearwater": {"pub": id, "seq": n}` (n = 1, 2, 3, …), the last `outbox` of them are kept
 * byte for byte, and a recorder that missed some asks for them again on the publisher's resend
 * ROUTER, whose address it learns from the presence messages on `shearwater.presence`.
 *
 * The publishing socket is an XPUB connected to the broker's frontend, so the broker's
 * subscriptions reach it: `hello` goes out when the first subscription that covers
 * `shearwater.presence` arrives (before that nobody would hear it), and each new such
 * subscription triggers an immediate `alive`.
 *
 * Closing: a zeromq.js socket closed while a `receive()` is pending can crash Deno (SIGSEGV,
 * measured here), so neither socket ever has a receive pending: a poll loop checks `readable`
 * every 20 ms and receives only what is already there; {@link close} stops it first.
 *
 * @example
 * ```ts
 * await using publisher = await Publisher.open({
 *   frontend: "tcp://127.0.0.1:5559",
 *   name: "alice",
 *   waitForSubscriberMs: 2000,
 * });
 * await publisher.send("agent.alice", { text: "hello" });
 * ```
 */
export class Publisher {
  /** This publisher's id, unique per process lifetime, e.g. `alice/7f3a9c`. */
  readonly pub: string;
  /** The name given in the options. */
  readonly name: string;
  /** The resend ROUTER's real bound address, e.g. `tcp://127.0.0.1:41234`. */
  readonly resendEndpoint: string;
  readonly #xpub: zmq.XPublisher;
  readonly #router: zmq.Router;
  readonly #outbox: Outbox;
  readonly #onError: (error: Error) => void;
  readonly #subscriptions = new Set<string>();
  readonly #subscriptionWaiters = new Set<() => void>();
  #sending: Promise<unknown> = Promise.resolve();
  #helloSent = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #polling: Promise<void> = Promise.resolve();
  #aliveTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    parts: { xpub: zmq.XPublisher; router: zmq.Router; resendEndpoint: string },
    options: PublisherOptions,
  ) {
    this.name = options.name;
    this.pub = `${options.name}/${randomHex(3)}`;
    this.resendEndpoint = parts.resendEndpoint;
    this.#xpub = parts.xpub;
    this.#router = parts.router;
    this.#outbox = new Outbox(options.outbox ?? 10_000);
    this.#onError = options.onError ??
      ((error) => console.error(`shearwater publisher ${this.pub}: ${error.message}`));
  }

  /**
   * Binds the resend ROUTER, connects to the frontend, starts the presence announcements and,
   * with `waitForSubscriberMs`, waits for the first subscriber.
   */
  static async open(options: PublisherOptions): Promise<Publisher> {
    if (typeof options.name !== "string" || options.name === "") {
      throw new TypeError("Cannot open a publisher: name must be a non-empty string");
    }
    const outbox = options.outbox ?? 10_000;
    const router = new zmq.Router({
      linger: 0,
      mandatory: true, // a vanished requester raises instead of queueing forever
      sendHighWaterMark: outbox * 2 + 100, // a whole outbox answer fits in the queue
    });
    await router.bind(options.resend ?? "tcp://127.0.0.1:*");
    const xpub = new zmq.XPublisher({
      linger: 2000,
      // Every subscription, repeats included: after a broker restart the proxy subscribes
      // again on the same pipe (it lives across reconnects), and that repeat is what tells us
      // to announce ourselves to the new broker's subscribers.
      verbosity: "allSubs",
      sendHighWaterMark: options.sendHighWaterMark ?? 100_000,
    });
    xpub.connect(options.frontend);
    const publisher = new Publisher(
      { xpub, router, resendEndpoint: router.lastEndpoint ?? "" },
      options,
    );
    publisher.#start(options.presenceIntervalMs ?? 5000);
    if ((options.waitForSubscriberMs ?? 0) > 0) {
      await publisher.waitForSubscriber(options.waitForSubscriberMs!);
    }
    return publisher;
  }

  /** Highest seq sent so far (0 when none). */
  get lastSeq(): number {
    return this.#outbox.newest;
  }

  /**
   * Publishes `[topic, payload]`. A plain object is sent as JSON with the envelope added and
   * kept in the outbox; a string or bytes are sent as they are, without seq. Resolves with the
   * message's seq (undefined without envelope) once the socket took it; messages go out in
   * call order whether or not the caller awaits.
   */
  send(topic: string | Uint8Array, payload: Payload): Promise<number | undefined> {
    if (this.#closing) throw new Error(`Cannot send on publisher ${this.pub}: it is closed`);
    const topicBytes = typeof topic === "string" ? encoder.encode(topic) : topic.slice();
    if (new TextDecoder().decode(topicBytes) === PRESENCE_TOPIC) {
      throw new TypeError(`Cannot send on "${PRESENCE_TOPIC}": the publisher announces there`);
    }
    if (typeof payload === "string") {
      return this.#enqueue([topicBytes, encoder.encode(payload)]).then(() => undefined);
    }
    if (payload instanceof Uint8Array) {
      return this.#enqueue([topicBytes, payload.slice()]).then(() => undefined);
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      throw new TypeError("Cannot send this payload: it must be a plain object, a string or bytes");
    }
    if (Object.hasOwn(payload, ENVELOPE_FIELD)) {
      throw new TypeError(`Cannot send a payload with a "${ENVELOPE_FIELD}" field: it is added`);
    }
    const seq = this.#outbox.newest + 1;
    const body = encoder.encode(
      JSON.stringify({ ...payload, [ENVELOPE_FIELD]: { pub: this.pub, seq } }),
    );
    const frames = [topicBytes, body];
    this.#outbox.add(seq, frames);
    return this.#enqueue(frames).then(() => seq);
  }

  /**
   * Waits until the broker has reported at least one subscriber (at most `timeoutMs`);
   * resolves true when there is one.
   */
  async waitForSubscriber(timeoutMs: number): Promise<boolean> {
    if (this.#subscriptions.size > 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waiter: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      waiter = resolve;
      this.#subscriptionWaiters.add(resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#subscriptionWaiters.delete(waiter!);
    return this.#subscriptions.size > 0;
  }

  /**
   * Announces `bye`, waits until queued messages were handed to the socket, stops answering
   * resend requests and closes both sockets (queued messages get 2 s to leave). Safe to repeat.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  /** For `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutDown(): Promise<void> {
    clearInterval(this.#aliveTimer);
    const bye = this.#presence("bye");
    this.#closing = true;
    await bye;
    await this.#sending;
    this.#wake?.();
    await this.#polling;
    this.#xpub.close();
    this.#router.close();
  }

  #start(presenceIntervalMs: number): void {
    this.#polling = this.#poll();
    this.#aliveTimer = setInterval(() => {
      if (this.#helloSent) this.#presence("alive");
    }, presenceIntervalMs);
  }

  #presence(type: "hello" | "alive" | "bye"): Promise<unknown> {
    const body = {
      type,
      pub: this.pub,
      name: this.name,
      resend: this.resendEndpoint,
      last_seq: this.#outbox.newest,
      outbox: this.#outbox.capacity,
      at: new Date().toISOString(),
    };
    return this.#enqueue([encoder.encode(PRESENCE_TOPIC), encoder.encode(JSON.stringify(body))])
      .catch((error) => this.#onError(error));
  }

  #enqueue(frames: Uint8Array[]): Promise<void> {
    // zeromq.js allows one send in progress per socket: chain them, in call order.
    const sent = this.#sending.then(() => this.#xpub.send(frames));
    this.#sending = sent.catch(() => undefined); // the caller of this send gets its error
    return sent;
  }

  async #poll(): Promise<void> {
    while (!this.#closing) {
      let busy = false;
      try {
        if (this.#router.readable) {
          busy = true;
          await this.#answer(await this.#router.receive());
        }
        if (this.#xpub.readable) {
          busy = true;
          this.#onSubscription((await this.#xpub.receive())[0]);
        }
      } catch (error) {
        this.#onError(error as Error);
      }
      if (!busy) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  async #answer(frames: Uint8Array[]): Promise<void> {
    // [routing id(s)..., request]: a DEALER sends one frame, a REQ adds an empty delimiter.
    const request = frames[frames.length - 1];
    const route = frames.slice(0, -1);
    if (!request || route.length === 0) return;
    for (const reply of answerResend(request, { pub: this.pub, outbox: this.#outbox })) {
      try {
        await this.#router.send([...route, ...reply]);
      } catch (error) {
        if ((error as { code?: string }).code === "EHOSTUNREACH") return; // requester gone
        throw error;
      }
    }
  }

  #onSubscription(message: Uint8Array | undefined): void {
    if (!message || message.length === 0) return;
    const topic = new TextDecoder().decode(message.subarray(1));
    if (message[0] === 0) {
      this.#subscriptions.delete(topic);
      return;
    }
    if (message[0] !== 1) return;
    this.#subscriptions.add(topic);
    for (const resolve of this.#subscriptionWaiters) resolve();
    if (!PRESENCE_TOPIC.startsWith(topic)) return;
    // Somebody new hears presence: tell them where to ask for what they missed.
    this.#presence(this.#helloSent ? "alive" : "hello");
    this.#helloSent = true;
  }
}

function randomHex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return [...random].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
