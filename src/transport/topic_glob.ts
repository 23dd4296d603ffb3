/**
 * Topic globs, as `--exclude` and `SHEARWATER_EXCLUDE` take them: `*` matches any run of
 * characters (none included), `?` exactly one; everything else matches itself.
 *
 * @module
 */

/**
 * Turns a topic glob into a RegExp anchored at both ends: the whole topic must match.
 *
 * @example
 * ```ts
 * globToRegExp("debug.*").test("debug.trace"); // true
 * globToRegExp("debug.*").test("agent.debug.x"); // false
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${escaped}$`, "s");
}
