/**
 * Replays announced to the recorder: the digest of the frames a replayer is about to send and
 * the seq they were recorded at. The writer thread looks every received message up here, so a
 * replayed message is recorded with `meta.replay_of` instead of passing for new conversation.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** One message a replayer is about to send: its frames' digest and its original seq. */
export interface ReplayMark {
  /** {@link framesDigest} of the frames exactly as they will be sent. */
  readonly digest: string;
  /** The seq the message was recorded at. */
  readonly replay_of: number;
}

/** Most marks held at once; an announcement that would go over is refused. */
export const MAX_REPLAY_MARKS = 100_000;
/** Longest time a mark is kept waiting for its message. */
export const MAX_REPLAY_MARK_TTL_MS = 60 * 60 * 1000;

/**
 * SHA-256 (hex) of a multipart message: each frame's length (8 bytes, big-endian) then its
 * bytes, so ["ab","c"] and ["a","bc"] differ.
 *
 * @example
 * ```ts
 * const digest = framesDigest([new TextEncoder().encode("topic"), payload]);
 * ```
 */
export function framesDigest(frames: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  const length = new Uint8Array(8);
  const view = new DataView(length.buffer);
  for (const frame of frames) {
    view.setBigUint64(0, BigInt(frame.length));
    hash.update(length);
    hash.update(frame);
  }
  return hash.digest("hex");
}

/**
 * The marks waiting for their message, bounded in number ({@link MAX_REPLAY_MARKS}) and in time
 * (each expires `ttlMs` after it was announced). The same digest may be announced several
 * times (a conversation that repeats itself): matches are taken oldest first.
 *
 * @example
 * ```ts
 * const marks = new ReplayMarks();
 * marks.add([{ digest, replay_of: 12 }], 30_000, Date.now());
 * marks.take(framesDigest(frames), Date.now()); // 12
 * ```
 */
export class ReplayMarks {
  readonly #byDigest = new Map<string, { seq: number; expiresAtMs: number }[]>();
  #size = 0;
  readonly #limit: number;

  constructor(limit = MAX_REPLAY_MARKS) {
    this.#limit = limit;
  }

  /** How many marks are waiting. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds marks that expire `ttlMs` (at most {@link MAX_REPLAY_MARK_TTL_MS}) after `nowMs`.
   * Returns false, adding nothing, when they would not fit even after dropping expired ones.
   */
  add(marks: readonly ReplayMark[], ttlMs: number, nowMs: number): boolean {
    if (this.#size + marks.length > this.#limit) this.expire(nowMs);
    if (this.#size + marks.length > this.#limit) return false;
    const expiresAtMs = nowMs + Math.min(Math.max(0, ttlMs), MAX_REPLAY_MARK_TTL_MS);
    for (const mark of marks) {
      const waiting = this.#byDigest.get(mark.digest);
      const entry = { seq: mark.replay_of, expiresAtMs };
      if (waiting) waiting.push(entry);
      else this.#byDigest.set(mark.digest, [entry]);
    }
    this.#size += marks.length;
    return true;
  }

  /** The original seq of a received message with this digest, or undefined; the mark is used up. */
  take(digest: string, nowMs: number): number | undefined {
    const waiting = this.#byDigest.get(digest);
    if (!waiting) return undefined;
    while (waiting.length > 0) {
      const entry = waiting.shift()!;
      this.#size--;
      if (entry.expiresAtMs >= nowMs) {
        if (waiting.length === 0) this.#byDigest.delete(digest);
        return entry.seq;
      }
    }
    this.#byDigest.delete(digest);
    return undefined;
  }

  /** Drops every mark expired at `nowMs`. */
  expire(nowMs: number): void {
    for (const [digest, waiting] of this.#byDigest) {
      const kept = waiting.filter((entry) => entry.expiresAtMs >= nowMs);
      this.#size -= waiting.length - kept.length;
      if (kept.length === 0) this.#byDigest.delete(digest);
      else this.#byDigest.set(digest, kept);
    }
  }
}
