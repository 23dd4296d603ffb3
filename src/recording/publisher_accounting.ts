/**
 * The receive loop's view of publisher accounting: looks each message's envelope up (a byte
 * search, see `findEnvelope`), drops duplicates, notices gaps and presence announcements, and
 * starts refills beside the loop. Messages without the envelope pass through untouched.
 *
 * @module
 */
import { findEnvelope, PRESENCE_TOPIC } from "../enrich/envelope.ts";
import { type PublisherFigures, PublisherLedger } from "./publisher_ledger.ts";
import { parsePresence, type RestoreOptions, restorePublishers } from "./publisher_history.ts";
import { type AskResend, type PublisherGap, PublisherRefill } from "./publisher_refill.ts";

/** Options for {@link PublisherAccounting}. */
export interface PublisherAccountingOptions {
  readonly ask: AskResend;
  /** Records a resent message (`meta.refilled`); called in the order messages come back. */
  readonly appendRefilled: (frames: Uint8Array[]) => void;
  /** Writes a `publisher_gap` record. */
  readonly writeGap: (gap: PublisherGap) => void;
  /** Told when a refill failed on a bug (the range stays open); recording goes on. */
  readonly onRefillError?: (error: Error, pub: string) => void;
  readonly maxPublishers?: number;
  /** False when the recorder hears only some topics: jumps in seq are then not gaps. */
  readonly trackGaps?: boolean;
  readonly endpointWaitMs?: number;
}

const PRESENCE_BYTES = new TextEncoder().encode(PRESENCE_TOPIC);
const decoder = new TextDecoder();

/**
 * @example
 * ```ts
 * const accounting = new PublisherAccounting({ ask, appendRefilled, writeGap });
 * await accounting.restore([layout.currentLog]);
 * if (accounting.admit(frames, Date.now())) writer.appendMessage(frames, ...);
 * ```
 */
export class PublisherAccounting {
  readonly #ledger: PublisherLedger;
  readonly #refill: PublisherRefill;
  readonly #options: PublisherAccountingOptions;
  #restoredHoles: { pub: string; range: { from: number; to: number } }[] = [];

  constructor(options: PublisherAccountingOptions) {
    this.#options = options;
    this.#ledger = new PublisherLedger(options.maxPublishers, { trackGaps: options.trackGaps });
    this.#refill = new PublisherRefill({
      ledger: this.#ledger,
      ask: options.ask,
      deliver: (pub, seq, frames) => this.#deliver(pub, seq, frames),
      writeGap: options.writeGap,
      endpointWaitMs: options.endpointWaitMs,
    });
  }

  /**
   * Rebuilds figures and known endpoints from logs (oldest first), before receiving; `complete`
   * when no older log exists (see `restorePublishers`).
   */
  async restore(paths: readonly string[], options: RestoreOptions = {}): Promise<void> {
    const restored = await restorePublishers(paths, this.#ledger, options);
    for (const presence of restored.presences) this.#refill.learn(presence);
    this.#restoredHoles = restored.holes;
  }

  /**
   * Starts refilling the holes {@link restore} found (a refill a crash cut short); call once
   * recording runs. Returns how many ranges it asks for.
   */
  refillRestoredHoles(): number {
    const holes = this.#restoredHoles;
    this.#restoredHoles = [];
    if (!this.#ledger.tracksGaps) return 0;
    for (const hole of holes) this.#startRefill(hole.pub, hole.range);
    return holes.length;
  }

  /**
   * Accounts one received message; false when it must not be stored (its (pub, seq) is already
   * stored). A presence announcement is learnt after the caller stored it.
   */
  admit(frames: Uint8Array[], nowMs: number): boolean {
    const envelope = findEnvelope(frames);
    if (envelope === undefined) {
      if (isPresenceTopic(frames[0])) this.#onPresence(frames, nowMs);
      return true;
    }
    const verdict = this.#ledger.observe(envelope.pub, envelope.seq, nowMs);
    if (!verdict.store) return false;
    if (verdict.gap) this.#startRefill(envelope.pub, verdict.gap);
    return true;
  }

  /** Per-publisher figures, most recently seen first. */
  figures(): PublisherFigures[] {
    return this.#ledger.figures();
  }

  /** Refills queued or running. */
  get refilling(): number {
    return this.#refill.running;
  }

  /** Resolves when every refill has ended (tests, shutdown). */
  settle(): Promise<void> {
    return this.#refill.settle();
  }

  /** Stops waiting for endpoints (shutdown). */
  close(): void {
    this.#refill.close();
  }

  #onPresence(frames: Uint8Array[], nowMs: number): void {
    const payload = frames.length > 1 ? frames[frames.length - 1]! : undefined;
    if (!payload || payload.length > 64 * 1024) return;
    const presence = parsePresence(decoder.decode(payload));
    if (!presence) return;
    this.#refill.learn(presence);
    if (presence.last_seq === undefined) return;
    const gap = this.#ledger.announce(presence.pub, presence.last_seq, nowMs);
    if (gap) this.#startRefill(presence.pub, gap);
  }

  #startRefill(pub: string, gap: { from: number; to: number }): void {
    this.#refill.fill(pub, gap).catch((error) => {
      // A bug in the refill path must not stop recording; the gap stays open (status: pending).
      this.#options.onRefillError?.(error as Error, pub);
    });
  }

  #deliver(pub: string, seq: number, frames: Uint8Array[]): void {
    const envelope = findEnvelope(frames);
    const verdict = this.#ledger.observe(
      envelope?.pub ?? pub,
      envelope?.seq ?? seq,
      Date.now(),
      true,
    );
    if (verdict.store) this.#options.appendRefilled(frames);
  }
}

function isPresenceTopic(frame: Uint8Array | undefined): boolean {
  if (!frame || frame.length !== PRESENCE_BYTES.length) return false;
  for (let i = 0; i < frame.length; i++) if (frame[i] !== PRESENCE_BYTES[i]) return false;
  return true;
}
