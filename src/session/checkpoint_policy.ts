/**
 * The automatic checkpoint policy, pure: when a checkpoint is due (every N messages, or after M
 * minutes with new messages) and which checkpoints retention removes. The daemon feeds it
 * messages and checkpoints and asks; the clock is passed in, so tests run it on a fake one.
 *
 * @module
 */
import type { CheckpointManifest } from "../store/checkpoint_store.ts";

/** Retention rules for {@link selectPrunable}. */
export interface PruneRules {
  /** Keep at least the newest `keep` checkpoints. */
  readonly keep: number;
  /** Also keep anything younger than this; older ones beyond `keep` go. Default: no limit. */
  readonly maxAgeMs?: number;
}

/**
 * Which checkpoints retention removes: those beyond the newest `keep` (and, with `maxAgeMs`,
 * only those older than it). Never the newest checkpoint overall, nor the newest checkpoint of
 * any session, so every session keeps one to return to.
 *
 * @example
 * ```ts
 * const doomed = selectPrunable(manifests, { keep: 10 }, new Date());
 * ```
 */
export function selectPrunable(
  manifests: readonly CheckpointManifest[],
  rules: PruneRules,
  now: Date,
): CheckpointManifest[] {
  const newestFirst = [...manifests].sort((a, b) =>
    b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)
  );
  const protectedIds = new Set<string>();
  const seenSessions = new Set<string>();
  for (const manifest of newestFirst) {
    if (!seenSessions.has(manifest.session)) {
      seenSessions.add(manifest.session);
      protectedIds.add(manifest.id);
    }
  }
  return newestFirst.filter((manifest, index) => {
    if (index < Math.max(1, rules.keep) || protectedIds.has(manifest.id)) return false;
    if (rules.maxAgeMs === undefined) return true;
    return now.getTime() - Date.parse(manifest.created_at) > rules.maxAgeMs;
  });
}

/** The policy's settings (0 turns a rule off). */
export interface CheckpointPolicyRules {
  /** A checkpoint after this many messages since the last one. */
  readonly everyMessages: number;
  /** A checkpoint once this many minutes passed since the last one, if messages came. */
  readonly everyMinutes: number;
  /** Retention keeps at least this many checkpoints (see {@link selectPrunable}). */
  readonly keep: number;
  /**
   * A checkpoint due by count waits until this long after the last checkpoint, so a burst of
   * messages takes one checkpoint per spacing, not one per `everyMessages` (default 0: none).
   */
  readonly countSpacingMs?: number;
}

/**
 * The daemon's spacing of count-triggered checkpoints: at 20,000 msg/s a checkpoint every
 * 1,000 messages would run back to back and take CPU the recorder needs (measured: 8 µs of the
 * receiving thread's 10 µs per message in a flat-out burst).
 */
export const COUNT_CHECKPOINT_SPACING_MS = 5_000;

/**
 * When the next automatic checkpoint is due. Counts messages since the last checkpoint (of any
 * trigger) and remembers when that was, on the clock `now`. A checkpoint due by count but
 * held back by `countSpacingMs` is reported by {@link isDue} once the spacing has passed.
 *
 * @example
 * ```ts
 * const policy = new CheckpointPolicy({ everyMessages: 500, everyMinutes: 10, keep: 20 });
 * if (policy.noteMessage()) await checkpoint(); // due by count
 * if (policy.isDue()) await checkpoint(); // on a timer: due by count or time
 * ```
 */
export class CheckpointPolicy {
  readonly #rules: CheckpointPolicyRules;
  readonly #now: () => number;
  #messages = 0;
  #lastCheckpointAt: number;

  constructor(rules: CheckpointPolicyRules, now: () => number = Date.now) {
    this.#rules = rules;
    this.#now = now;
    this.#lastCheckpointAt = now();
  }

  /** Messages recorded since the last checkpoint. */
  get messagesSinceCheckpoint(): number {
    return this.#messages;
  }

  /** Counts one recorded message; true when that makes a checkpoint due by count. */
  noteMessage(): boolean {
    this.#messages++;
    return this.#dueByCount();
  }

  /** A checkpoint (of any trigger) was taken: both rules start again. */
  noteCheckpoint(): void {
    this.#messages = 0;
    this.#lastCheckpointAt = this.#now();
  }

  /** True when a checkpoint is due by count, or by time with new messages. */
  isDue(): boolean {
    const { everyMinutes } = this.#rules;
    return this.#dueByCount() ||
      (everyMinutes > 0 && this.#messages > 0 &&
        this.#now() - this.#lastCheckpointAt >= everyMinutes * 60_000);
  }

  /**
   * Which of `manifests` retention removes now (see {@link selectPrunable}). The store's
   * `prune()` verifies each before deleting and keeps the damaged ones as evidence.
   */
  prunable(manifests: readonly CheckpointManifest[]): CheckpointManifest[] {
    return selectPrunable(manifests, { keep: this.#rules.keep }, new Date(this.#now()));
  }

  #dueByCount(): boolean {
    return this.#rules.everyMessages > 0 && this.#messages >= this.#rules.everyMessages &&
      this.#now() - this.#lastCheckpointAt >= (this.#rules.countSpacingMs ?? 0);
  }
}
