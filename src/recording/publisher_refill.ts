/**
 * Refill: when the ledger sees a gap, ask the publisher (at the resend endpoint it announced on
 * `shearwater.presence`) for the missing range, hand what comes back to the recorder in order,
 * and write off what stays missing as a `publisher_gap` with its reason. Runs beside the receive
 * loop, never in it: one request at a time per publisher, each bounded by an idle timeout.
 *
 * @module
 */
import type { PublisherLedger, SeqRange } from "./publisher_ledger.ts";

/** What a publisher's presence message says (topic `shearwater.presence`). */
export interface Presence {
  readonly type: "hello" | "alive" | "bye";
  readonly pub: string;
  readonly resend?: string;
  readonly last_seq?: number;
  readonly outbox?: number;
}

/** The publisher's answer to a resend request (see `ResendLink`). */
export interface RefillAnswer {
  readonly oldest: number | null;
  readonly error?: string;
}

/** How the coordinator asks a publisher; undefined: no answer in time. */
export type AskResend = (
  endpoint: string,
  request: SeqRange & { readonly pub: string },
  onMessage: (seq: number, frames: Uint8Array[]) => void,
) => Promise<RefillAnswer | undefined>;

/** Options for {@link PublisherRefill}. */
export interface PublisherRefillOptions {
  readonly ledger: PublisherLedger;
  readonly ask: AskResend;
  /** Records a resent message (the caller accounts it in the ledger). */
  readonly deliver: (pub: string, seq: number, frames: Uint8Array[]) => void;
  /** Writes a `publisher_gap` record. */
  readonly writeGap: (gap: PublisherGap) => void;
  /**
   * Longest wait for a resend endpoint to be announced before giving up; one wait per publisher,
   * shared by all its refills (bounded: what it missed is written off by then).
   */
  readonly endpointWaitMs?: number;
  /** Most endpoints remembered (least recently announced forgotten first). */
  readonly maxEndpoints?: number;
}

/** The fields of a `publisher_gap` record. */
export interface PublisherGap {
  readonly publisher: string;
  readonly first_missing: number;
  readonly last_missing: number;
  readonly count: number;
  readonly reason: string;
}

interface Endpoint {
  resend: string;
  gone: boolean;
}

const DEFAULT_ENDPOINT_WAIT_MS = 6_000;
const DEFAULT_MAX_ENDPOINTS = 10_000;
const ENDPOINT_POLL_MS = 100;

/**
 * @example
 * ```ts
 * const refill = new PublisherRefill({ ledger, ask, deliver, writeGap });
 * refill.learn({ type: "hello", pub: "a/1", resend: "tcp://127.0.0.1:4100" });
 * refill.fill("a/1", { from: 3, to: 7 });
 * ```
 */
export class PublisherRefill {
  readonly #options: PublisherRefillOptions;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #queues = new Map<string, Promise<void>>();
  /** Per publisher without a known endpoint: when waiting for one ends (see #waitForEndpoint). */
  readonly #endpointDeadlines = new Map<string, number>();
  #running = 0;
  #closed = false;

  constructor(options: PublisherRefillOptions) {
    this.#options = options;
  }

  /** Refills in progress or queued. */
  get running(): number {
    return this.#running;
  }

  /** Remembers a publisher's resend endpoint, or that it has gone (`bye`). */
  learn(presence: Presence): void {
    const known = this.#endpoints.get(presence.pub);
    this.#endpoints.delete(presence.pub);
    const resend = presence.resend ?? known?.resend;
    if (resend === undefined) return;
    this.#endpointDeadlines.delete(presence.pub);
    this.#endpoints.set(presence.pub, { resend, gone: presence.type === "bye" });
    const max = this.#options.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS;
    if (this.#endpoints.size > max) this.#endpoints.delete(this.#endpoints.keys().next().value!);
  }

  /** The resend endpoint known for `pub`. */
  endpointOf(pub: string): string | undefined {
    return this.#endpoints.get(pub)?.resend;
  }

  /** Queues a refill of `range` (already open in the ledger); returns at once. */
  fill(pub: string, range: SeqRange): Promise<void> {
    this.#running++;
    const previous = this.#queues.get(pub) ?? Promise.resolve();
    // After the previous refill of this publisher, whether it succeeded or not.
    const next = previous.catch(() => {}).then(() => this.#fillNow(pub, range)).finally(() => {
      this.#running--;
      if (this.#queues.get(pub) === next) this.#queues.delete(pub);
    });
    this.#queues.set(pub, next);
    return next;
  }

  /** Resolves when every queued refill has ended. */
  async settle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.all(this.#queues.values());
  }

  /** Stops waiting for endpoints; running requests end by their timeout. */
  close(): void {
    this.#closed = true;
  }

  async #fillNow(pub: string, range: SeqRange): Promise<void> {
    const { ledger } = this.#options;
    if (ledger.stillOpen(pub, range).length === 0) return;
    const endpoint = await this.#waitForEndpoint(pub);
    if (endpoint === undefined) {
      this.#writeOff(pub, range, "no resend endpoint known (no presence announcement seen)");
      return;
    }
    if (endpoint.gone) {
      this.#writeOff(pub, range, "publisher gone (it said bye before the refill)");
      return;
    }
    for (const open of ledger.stillOpen(pub, range)) {
      const answer = await this.#options.ask(
        endpoint.resend,
        { pub, from: open.from, to: open.to },
        (seq, frames) => this.#options.deliver(pub, seq, frames),
      );
      this.#writeOff(pub, open, reasonFor(answer));
    }
  }

  /**
   * Waits for `pub`'s endpoint until ONE deadline per publisher, set by its first wait: every
   * later refill of a publisher that never announced itself (an envelope-only publisher, or the
   * holes a restart reopens) is written off by that same deadline, not after a wait of its own.
   */
  async #waitForEndpoint(pub: string): Promise<Endpoint | undefined> {
    let deadline = this.#endpointDeadlines.get(pub);
    if (deadline === undefined) {
      deadline = Date.now() + (this.#options.endpointWaitMs ?? DEFAULT_ENDPOINT_WAIT_MS);
      this.#endpointDeadlines.set(pub, deadline);
      const max = this.#options.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS;
      if (this.#endpointDeadlines.size > max) {
        this.#endpointDeadlines.delete(this.#endpointDeadlines.keys().next().value!);
      }
    }
    while (!this.#closed) {
      const endpoint = this.#endpoints.get(pub);
      if (endpoint || Date.now() >= deadline) return endpoint;
      await new Promise((resolve) => setTimeout(resolve, ENDPOINT_POLL_MS));
    }
    return this.#endpoints.get(pub);
  }

  /** Writes `publisher_gap` records for what of `range` is still open, and closes it. */
  #writeOff(pub: string, range: SeqRange, reason: string | ((from: number) => string)): void {
    const { ledger } = this.#options;
    for (const open of ledger.stillOpen(pub, range)) {
      ledger.writeOff(pub, open);
      this.#options.writeGap({
        publisher: pub,
        first_missing: open.from,
        last_missing: open.to,
        count: open.to - open.from + 1,
        reason: typeof reason === "string" ? reason : reason(open.from),
      });
    }
  }
}

function reasonFor(answer: RefillAnswer | undefined): (from: number) => string {
  return (from) => {
    if (answer === undefined) return "publisher gone (no answer to the resend request in time)";
    if (answer.error !== undefined) return `publisher refused the resend request: ${answer.error}`;
    if (answer.oldest === null) return "outbox no longer holds it (the outbox is empty)";
    if (from < answer.oldest) return `outbox no longer holds it (oldest held: ${answer.oldest})`;
    return "publisher did not resend it";
  };
}
