/**
 * The daemon's side of the publishers' resend protocol: a DEALER connected to a publisher's
 * ROUTER (its `resend` endpoint, learnt from presence) asks for a range of seqs and reads back
 * `["msg", seq, ...original frames]` messages then one `["done", {...}]`.
 *
 * Sockets are never closed (closing a zeromq.js socket that received messages crashed Deno,
 * see `BusSubscriber`): a retired link is disconnected and left to the process.
 *
 * @module
 */
import * as zmq from "zeromq";

/** The publisher's closing answer to a resend request. */
export interface ResendDone {
  readonly sent: number;
  /** Lowest seq still in the outbox, or null when it is empty. */
  readonly oldest: number | null;
  /** Highest seq the publisher has sent. */
  readonly newest: number | null;
  /** Set when the publisher refused the request (an unknown pub, a malformed request). */
  readonly error?: string;
}

/** A resend request: `pub`'s seqs `from`..`to`, inclusive. */
export interface ResendRequest {
  readonly pub: string;
  readonly from: number;
  readonly to: number;
}

/** Options for {@link ResendLink.request}. */
export interface ResendRequestOptions {
  /** Called for each resent message, in the order they come back. */
  readonly onMessage: (seq: number, frames: Uint8Array[]) => void;
  /** Give up when nothing comes back for this long. */
  readonly idleTimeoutMs: number;
}

const encoder = new TextEncoder();
const READ_POLL_MS = 2;
const decoder = new TextDecoder();

/**
 * One DEALER connected to one publisher's resend endpoint; one request at a time.
 *
 * @example
 * ```ts
 * const link = new ResendLink("tcp://127.0.0.1:41234");
 * const done = await link.request({ pub: "a/1", from: 3, to: 9 }, { onMessage, idleTimeoutMs: 2000 });
 * ```
 */
export class ResendLink {
  readonly endpoint: string;
  readonly #socket: zmq.Dealer;
  #current:
    | {
      request: ResendRequest;
      options: ResendRequestOptions;
      finish(done: ResendDone | undefined): void;
      touch(): void;
    }
    | undefined;
  #retired = false;
  #reading = false;

  constructor(endpoint: string) {
    this.endpoint = endpoint;
    this.#socket = new zmq.Dealer({ linger: 0, receiveHighWaterMark: 0, sendHighWaterMark: 100 });
    this.#socket.connect(endpoint);
  }

  /**
   * Asks for a range and resolves with the publisher's `done`, or undefined when nothing came
   * back for `idleTimeoutMs` (the publisher is gone or unreachable).
   */
  request(request: ResendRequest, options: ResendRequestOptions): Promise<ResendDone | undefined> {
    if (this.#current) throw new Error("ResendLink.request: a request is already running");
    if (this.#retired) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (done: ResendDone | undefined) => {
        clearTimeout(timer);
        this.#current = undefined;
        resolve(done);
      };
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(undefined), options.idleTimeoutMs);
      };
      this.#current = { request, options, finish, touch };
      touch();
      const frame = encoder.encode(JSON.stringify({ cmd: "resend", ...request }));
      // Not awaited beyond the timer: with no peer a DEALER send waits for one.
      this.#socket.send(frame).then(() => this.#startReading()).catch(() => finish(undefined));
    });
  }

  /** Disconnects; a running request ends as unanswered. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    try {
      this.#socket.disconnect(this.endpoint);
    } catch (error) {
      if (!(error instanceof Error)) throw error; // already disconnected: nothing to undo
    }
    this.#current?.finish(undefined);
  }

  #startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#readLoop().catch(() => {
      // The socket was disconnected and dropped: nothing more will come.
      this.#current?.finish(undefined);
    }).finally(() => this.#reading = false);
  }

  /**
   * Reads while a request runs, by polling `readable` and receiving only what is already
   * there: a receive left pending on a DEALER/ROUTER was seen under Deno never to wake although
   * the answer had arrived (and the publisher then looked gone). Nothing is pending between
   * requests.
   */
  async #readLoop(): Promise<void> {
    while (this.#current && !this.#retired) {
      if (!this.#socket.readable) {
        await new Promise((resolve) => setTimeout(resolve, READ_POLL_MS));
        continue;
      }
      const frames = await this.#socket.receive();
      const current = this.#current;
      if (!current) continue; // a late answer to a request that timed out
      const kind = decoder.decode(frames[0] ?? new Uint8Array());
      if (kind === "msg") {
        const seq = Number(decoder.decode(frames[1] ?? new Uint8Array()));
        current.touch();
        if (!Number.isSafeInteger(seq) || seq < current.request.from || seq > current.request.to) {
          continue; // from an earlier request that timed out
        }
        current.options.onMessage(seq, frames.slice(2).map((frame) => new Uint8Array(frame)));
      } else if (kind === "done") {
        const done = parseDone(frames[1]);
        if (done.from !== undefined && done.from !== current.request.from) continue; // stale
        current.finish(done.done);
      }
    }
  }
}

function parseDone(frame: Uint8Array | undefined): { from?: number; done: ResendDone } {
  let value: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(decoder.decode(frame ?? new Uint8Array()));
    if (typeof parsed === "object" && parsed !== null) value = parsed;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return { done: { sent: 0, oldest: null, newest: null, error: "unreadable done message" } };
  }
  const number = (field: unknown) =>
    typeof field === "number" && Number.isSafeInteger(field) ? field : null;
  return {
    from: number(value.from) ?? undefined,
    done: {
      sent: number(value.sent) ?? 0,
      oldest: number(value.oldest),
      newest: number(value.newest),
      ...(typeof value.error === "string" ? { error: value.error } : {}),
    },
  };
}

/** Most resend links kept connected; the least recently used is retired first. */
export const MAX_RESEND_LINKS = 64;

/**
 * The resend links of all publishers, one per endpoint, bounded ({@link MAX_RESEND_LINKS}).
 * Requests to one endpoint wait for each other.
 *
 * @example
 * ```ts
 * const links = new ResendLinks();
 * const done = await links.ask("tcp://127.0.0.1:41234", { pub, from: 3, to: 9 }, onMessage);
 * ```
 */
export class ResendLinks {
  readonly #links = new Map<string, { link: ResendLink; busy: Promise<unknown> }>();
  readonly #idleTimeoutMs: number;

  constructor(idleTimeoutMs = 2000) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Asks `endpoint` for a range; undefined when it did not answer in time. */
  ask(
    endpoint: string,
    request: ResendRequest,
    onMessage: (seq: number, frames: Uint8Array[]) => void,
  ): Promise<ResendDone | undefined> {
    let entry = this.#links.get(endpoint);
    if (entry) {
      this.#links.delete(endpoint);
    } else {
      entry = { link: new ResendLink(endpoint), busy: Promise.resolve() };
      if (this.#links.size >= MAX_RESEND_LINKS) {
        const [oldest, old] = this.#links.entries().next().value!;
        this.#links.delete(oldest);
        old.busy.finally(() => old.link.retire());
      }
    }
    this.#links.set(endpoint, entry);
    const link = entry.link;
    const answer = entry.busy.then(() =>
      link.request(request, { onMessage, idleTimeoutMs: this.#idleTimeoutMs })
    );
    entry.busy = answer.catch(() => undefined);
    return answer;
  }

  /** Retires every link. */
  retireAll(): void {
    for (const { link } of this.#links.values()) link.retire();
    this.#links.clear();
  }
}
