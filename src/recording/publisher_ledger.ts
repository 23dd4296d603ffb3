/**
 * Per-publisher accounting of the envelope's sequence numbers: the highest `seq` seen per
 * `pub`, the ranges known to be missing (waiting for a refill), and the figures `status` shows.
 * Bounded: at most `maxPublishers` are remembered; the one not heard from for the longest time
 * is forgotten first (a forgotten publisher that comes back is treated as new).
 *
 * @module
 */

/** A range of missing seqs, inclusive. */
export interface SeqRange {
  readonly from: number;
  readonly to: number;
}

/** Figures for one publisher, as `status` shows them. */
export interface PublisherFigures {
  readonly pub: string;
  /** Highest seq received (or announced as stored). */
  readonly highest_seq: number;
  /** Messages stored (refilled ones included). */
  readonly received: number;
  /** Seqs written as `publisher_gap`: could not be refilled. */
  readonly missing: number;
  /** Messages stored from a publisher's resend. */
  readonly refilled: number;
  /** Messages not stored again because their (pub, seq) was already stored. */
  readonly duplicates: number;
  /** Seqs missing and still waiting for a refill. */
  readonly pending: number;
  readonly last_seen_at: string;
}

/** What to do with a received message. */
export type Verdict =
  | { readonly store: true; readonly gap?: SeqRange }
  | { readonly store: false };

interface Entry {
  highest: number;
  received: number;
  missing: number;
  refilled: number;
  duplicates: number;
  /** Missing ranges, sorted, disjoint. */
  open: SeqRange[];
  lastSeenMs: number;
}

const STORE: Verdict = Object.freeze({ store: true });
const DUPLICATE: Verdict = Object.freeze({ store: false });

/** Default number of publishers remembered. */
export const DEFAULT_MAX_PUBLISHERS = 10_000;
const MAX_OPEN_RANGES = 1_000;

/**
 * @example
 * ```ts
 * const ledger = new PublisherLedger();
 * ledger.observe("a/1", 1, Date.now()); // { store: true }
 * ledger.observe("a/1", 4, Date.now()); // { store: true, gap: { from: 2, to: 3 } }
 * ```
 */
export class PublisherLedger {
  readonly #entries = new Map<string, Entry>();
  readonly #maxPublishers: number;
  readonly #trackGaps: boolean;
  /** The publisher last in the Map's order (most recently seen). */
  #newest: string | undefined;

  /**
   * `trackGaps: false` for a recorder that hears only some topics: a publisher's seqs then jump
   * over its messages on the other topics, which is no loss (seqs are still checked for
   * duplicates).
   */
  constructor(maxPublishers = DEFAULT_MAX_PUBLISHERS, options: { trackGaps?: boolean } = {}) {
    this.#maxPublishers = maxPublishers;
    this.#trackGaps = options.trackGaps ?? true;
  }

  /** False when jumps are not gaps (see the constructor). */
  get tracksGaps(): boolean {
    return this.#trackGaps;
  }

  /** Publishers remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when this publisher is remembered. */
  has(pub: string): boolean {
    return this.#entries.has(pub);
  }

  /** Highest seq seen for `pub`, 0 when unknown. */
  highest(pub: string): number {
    return this.#entries.get(pub)?.highest ?? 0;
  }

  /**
   * Accounts one received message. A first message with seq > 1 from an unknown publisher
   * (a late join, or a restart that forgot it) opens the gap 1..seq-1; a jump opens the skipped
   * range; a seq at or below the highest is stored only when it fills an open range.
   */
  observe(pub: string, seq: number, nowMs: number, refilled = false): Verdict {
    const entry = this.#touch(pub, nowMs);
    if (seq > entry.highest) {
      const gap = this.#trackGaps && seq > entry.highest + 1
        ? { from: entry.highest + 1, to: seq - 1 }
        : undefined;
      if (gap) addRange(entry.open, gap);
      entry.highest = seq;
      entry.received++;
      if (refilled) entry.refilled++;
      return gap ? { store: true, gap } : STORE;
    }
    if (takeSeq(entry.open, seq)) {
      entry.received++;
      if (refilled) entry.refilled++;
      return STORE;
    }
    entry.duplicates++;
    return DUPLICATE;
  }

  /**
   * A publisher announced it has sent up to `lastSeq` (presence): the seqs above the highest
   * seen are missing (loss at the end of a stream). Returns the new gap, if any.
   */
  announce(pub: string, lastSeq: number, nowMs: number): SeqRange | undefined {
    const entry = this.#touch(pub, nowMs);
    if (!this.#trackGaps || lastSeq <= entry.highest) return undefined;
    const gap = { from: entry.highest + 1, to: lastSeq };
    addRange(entry.open, gap);
    entry.highest = lastSeq;
    return gap;
  }

  /** The seqs of `range` still open (not stored since), as ranges. */
  stillOpen(pub: string, range: SeqRange): SeqRange[] {
    const entry = this.#entries.get(pub);
    if (!entry) return [];
    return entry.open
      .filter((open) => open.to >= range.from && open.from <= range.to)
      .map((open) => ({ from: Math.max(open.from, range.from), to: Math.min(open.to, range.to) }));
  }

  /** Closes a range as written off (a `publisher_gap` record): counted as missing. */
  writeOff(pub: string, range: SeqRange): void {
    const entry = this.#entries.get(pub);
    if (!entry) return;
    const kept: SeqRange[] = [];
    for (const open of entry.open) {
      const from = Math.max(open.from, range.from);
      const to = Math.min(open.to, range.to);
      if (from > to) {
        kept.push(open);
        continue;
      }
      entry.missing += to - from + 1;
      if (open.from < from) kept.push({ from: open.from, to: from - 1 });
      if (to < open.to) kept.push({ from: to + 1, to: open.to });
    }
    entry.open = kept;
  }

  /** Restores a publisher's figures from the log (after a restart); no gap is opened. */
  restore(
    pub: string,
    figures: Partial<Omit<PublisherFigures, "pub" | "last_seen_at">>,
    lastSeenMs: number,
  ): void {
    const entry = this.#touch(pub, lastSeenMs);
    entry.highest = Math.max(entry.highest, figures.highest_seq ?? 0);
    entry.received += figures.received ?? 0;
    entry.missing += figures.missing ?? 0;
    entry.refilled += figures.refilled ?? 0;
    entry.duplicates += figures.duplicates ?? 0;
  }

  /** Reopens a range known to be missing (found in the logs after a restart) for a refill. */
  reopen(pub: string, range: SeqRange): void {
    const entry = this.#entries.get(pub);
    if (entry && this.#trackGaps) addRange(entry.open, range);
  }

  /** Every remembered publisher's figures, most recently seen first. */
  figures(): PublisherFigures[] {
    return [...this.#entries].reverse().map(([pub, entry]) => ({
      pub,
      highest_seq: entry.highest,
      received: entry.received,
      missing: entry.missing,
      refilled: entry.refilled,
      duplicates: entry.duplicates,
      pending: entry.open.reduce((sum, range) => sum + range.to - range.from + 1, 0),
      last_seen_at: new Date(entry.lastSeenMs).toISOString(),
    }));
  }

  #touch(pub: string, nowMs: number): Entry {
    let entry = this.#entries.get(pub);
    if (entry && pub === this.#newest) {
      entry.lastSeenMs = Math.max(entry.lastSeenMs, nowMs); // already last in the Map's order
      return entry;
    }
    this.#newest = pub;
    if (entry) {
      this.#entries.delete(pub); // re-inserted last: the Map's order is least recently seen first
    } else {
      entry = {
        highest: 0,
        received: 0,
        missing: 0,
        refilled: 0,
        duplicates: 0,
        open: [],
        lastSeenMs: 0,
      };
      if (this.#entries.size >= this.#maxPublishers) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
    }
    entry.lastSeenMs = Math.max(entry.lastSeenMs, nowMs);
    this.#entries.set(pub, entry);
    return entry;
  }
}

/** Adds a range above every open one (ranges are opened in increasing order). */
function addRange(open: SeqRange[], range: SeqRange): void {
  const last = open.at(-1);
  if (last && last.to + 1 >= range.from) {
    open[open.length - 1] = { from: last.from, to: Math.max(last.to, range.to) };
  } else {
    open.push(range);
  }
  if (open.length > MAX_OPEN_RANGES) open.shift(); // bounded: the oldest is given up on
}

/** Removes `seq` from the open ranges; false when it was not open. */
function takeSeq(open: SeqRange[], seq: number): boolean {
  const i = open.findIndex((range) => range.from <= seq && seq <= range.to);
  if (i === -1) return false;
  const range = open[i]!;
  const pieces: SeqRange[] = [];
  if (range.from < seq) pieces.push({ from: range.from, to: seq - 1 });
  if (seq < range.to) pieces.push({ from: seq + 1, to: range.to });
  open.splice(i, 1, ...pieces);
  return true;
}
