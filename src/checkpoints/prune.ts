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
