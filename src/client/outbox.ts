/**
 * The last `capacity` enveloped messages of one publisher, kept byte for byte under their `seq`
 * so a recorder that missed some can ask for them again. Seqs are consecutive from 1, so the
 * oldest kept is always `newest - size + 1`.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(2);
 * outbox.add(1, [topic, payload]);
 * outbox.range(1, 1); // [[1, [topic, payload]]]
 * ```
 */
export class Outbox {
  readonly capacity: number;
  readonly #frames = new Map<number, readonly Uint8Array[]>();
  #newest = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot keep an outbox of ${capacity}: it must be an integer >= 1`);
    }
    this.capacity = capacity;
  }

  /** Highest seq added so far, 0 when none. */
  get newest(): number {
    return this.#newest;
  }

  /** Lowest seq still kept, or null when empty. */
  get oldest(): number | null {
    return this.#frames.size === 0 ? null : this.#newest - this.#frames.size + 1;
  }

  /** Keeps `frames` as message `seq` (the next one), dropping the oldest beyond capacity. */
  add(seq: number, frames: readonly Uint8Array[]): void {
    if (seq !== this.#newest + 1) {
      throw new Error(`Outbox got seq ${seq} after ${this.#newest}: seqs must be consecutive`);
    }
    this.#frames.set(seq, frames);
    this.#newest = seq;
    if (this.#frames.size > this.capacity) this.#frames.delete(seq - this.capacity);
  }

  /** The kept messages with `from <= seq <= to`, in seq order. */
  range(from: number, to: number): Array<[number, readonly Uint8Array[]]> {
    const oldest = this.oldest;
    if (oldest === null) return [];
    const found: Array<[number, readonly Uint8Array[]]> = [];
    for (let seq = Math.max(from, oldest); seq <= Math.min(to, this.#newest); seq++) {
      found.push([seq, this.#frames.get(seq)!]);
    }
    return found;
  }
}
