import { visibleLine } from "./visible.ts";

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
 * A one-line excerpt of `text` around the first query term, at most `width` characters of
 * `text`, with every term occurrence wrapped by `mark` (bold on a terminal, `[…]` otherwise).
 * `show` renders the excerpt's own text, matches included, before marking (for a terminal:
 * control characters made visible, so that data can neither drive the terminal nor forge a mark).
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
  show: (text: string) => string = (text) => text,
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
  if (terms.length === 0) return show(excerpt);
  const pattern = new RegExp(
    terms.map((term) => term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
    "gi",
  );
  let out = "";
  let last = 0;
  for (const match of excerpt.matchAll(pattern)) {
    out += show(excerpt.slice(last, match.index)) + mark(show(match[0]));
    last = match.index + match[0].length;
  }
  return out + show(excerpt.slice(last));
}

/** Marks a term in output without colour, with brackets only {@link visibleUnmarked} lets out. */
export function plainMark(term: string): string {
  return `⟦${term}⟧`;
}

/**
 * {@link visibleLine} for snippet text shown with {@link plainMark}: the data's own `⟦` and `⟧`
 * are shown as `\u{27e6}` and `\u{27e7}`, so every bracket on screen is a real match.
 */
export function visibleUnmarked(text: string): string {
  return visibleLine(text).replace(/[⟦⟧]/g, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
