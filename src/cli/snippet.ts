const OPERATORS = new Set(["AND", "OR", "NOT", "NEAR"]);

/** Words of an FTS query to highlight: operators, quotes and column filters removed. */
export function queryTerms(query: string): string[] {
  const terms: string[] = [];
  for (const raw of query.match(/"[^"]*"|[^\s()]+/g) ?? []) {
    if (OPERATORS.has(raw)) continue;
    const text = raw.replace(/^"|"$/g, "").replace(/^[^:]+:/, "");
    for (const word of text.split(/\s+/)) {
      const cleaned = word.replace(/[*^+"]/g, "").trim();
      if (cleaned) terms.push(cleaned.toLowerCase());
    }
  }
  return [...new Set(terms)];
}

/**
 * A one-line excerpt of `text` around the first query term, at most `width` characters, with
 * every term occurrence wrapped by `mark` (bold on a terminal, `[…]` otherwise).
 *
 * @example
 * ```ts
 * snippet("the checkpoint was saved", ["checkpoint"], 40, (t) => `[${t}]`);
 * // "the [checkpoint] was saved"
 * ```
 */
export function snippet(
  text: string,
  terms: readonly string[],
  width: number,
  mark: (term: string) => string,
): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const lower = flat.toLowerCase();
  let first = -1;
  for (const term of terms) {
    const at = lower.indexOf(term);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  let start = first <= width / 3 ? 0 : first - Math.floor(width / 3);
  const end = Math.min(flat.length, start + width);
  if (end - start < width) start = Math.max(0, end - width);
  let excerpt = flat.slice(start, end);
  if (start > 0) excerpt = "…" + excerpt.slice(1);
  if (end < flat.length) excerpt = excerpt.slice(0, -1) + "…";
  if (terms.length === 0) return excerpt;
  const pattern = new RegExp(
    terms.map((term) => term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
    "gi",
  );
  return excerpt.replace(pattern, (match) => mark(match));
}
