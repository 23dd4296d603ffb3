/**
 * Our search syntax (the one `search` passes to SQLite FTS5: words, "phrases", AND, OR, NOT,
 * prefix*, parentheses) translated for PostgreSQL full-text search, and the tokenizer both sides
 * share.
 *
 * PostgreSQL's default text parser would read `src/cli/search.ts` as one "file" token and
 * `x@y.org` as one "email" token, so a search for `search` would miss what FTS5's `unicode61`
 * tokenizer finds. So the text is tokenized here, the way unicode61 does (letters, digits and
 * private-use characters make words, everything else separates them; case folded; diacritics
 * removed), and the database indexes the words joined by spaces with the `simple` configuration
 * (no stemming, no stop words): the same query finds the same messages on both.
 *
 * @module
 */
import { ErrorCode, PersistError } from "../errors.ts";

/** Longest word kept, in characters: PostgreSQL refuses lexemes over 2047 bytes. */
const MAX_WORD_CHARS = 500;

/** A run of word characters as unicode61 sees them: letters, marks, digits, private use. */
const WORD = /[\p{L}\p{M}\p{N}\p{Co}]+/gu;
const MARKS = /\p{M}+/gu;

/**
 * The words of `text` as FTS5's `unicode61 remove_diacritics 2` tokenizer finds them: split on
 * everything but letters, digits and private-use characters, lower-cased, diacritics removed.
 *
 * @example
 * ```ts
 * searchWords("See src/cli/Café.ts"); // ["see", "src", "cli", "cafe", "ts"]
 * ```
 */
export function searchWords(text: string): string[] {
  const words: string[] = [];
  for (const [run] of text.matchAll(WORD)) {
    const word = run.normalize("NFD").replace(MARKS, "").toLowerCase();
    if (word !== "" && word.length <= MAX_WORD_CHARS) words.push(word);
  }
  return words;
}

/**
 * The text stored in `shearwater.records.search_text` for a record's searchable content: its
 * {@link searchWords} joined by single spaces ("" for none), which `to_tsvector('simple', …)`
 * turns into exactly those words.
 */
export function searchTextOf(content: string | null): string {
  return content === null ? "" : searchWords(content).join(" ");
}

/** Thrown for a query the syntax does not allow; exit code 2, like SQLite's BadQueryError. */
export class PgBadQueryError extends PersistError {
  constructor(query: string, detail: string) {
    super(
      `Cannot search for ${JSON.stringify(query)}: ${detail} ` +
        `(use words, "quoted phrases", AND, OR, NOT, prefix*)`,
      { code: ErrorCode.badQuery, exitCode: 2 },
    );
    this.name = "PgBadQueryError";
  }
}

type Token =
  | { kind: "phrase"; text: string; prefix: boolean }
  | { kind: "and" | "or" | "not" | "open" | "close" | "plus" };

/** Characters FTS5 allows in a bareword: letters, digits, `_`, anything not ASCII. */
const BAREWORD_CHAR = /[\p{L}\p{N}_]|[^\p{ASCII}]/u;

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const fail = (detail: string): never => {
    throw new PgBadQueryError(query, detail);
  };
  while (at < query.length) {
    const char = query[at]!;
    if (/\s/.test(char)) {
      at++;
    } else if (char === "+") {
      tokens.push({ kind: "plus" }); // "a + b": one phrase, as in FTS5
      at++;
    } else if (char === "(" || char === ")") {
      tokens.push({ kind: char === "(" ? "open" : "close" });
      at++;
    } else if (char === '"') {
      let text = "";
      at++;
      for (;;) {
        if (at >= query.length) fail("unterminated string");
        if (query[at] === '"') {
          if (query[at + 1] !== '"') break;
          text += '"'; // "" inside a string is one quote, as in FTS5
          at += 2;
        } else {
          text += query[at++];
        }
      }
      at++;
      tokens.push({ kind: "phrase", text, prefix: eatStar() });
    } else if (BAREWORD_CHAR.test(char)) {
      let word = "";
      while (at < query.length && BAREWORD_CHAR.test(query[at]!)) word += query[at++];
      if (query[at] === ":") {
        // A column filter: the index has one column, `content`.
        if (word !== "content") fail(`no such column: ${word}`);
        at++;
        continue;
      }
      if (word === "AND" || word === "OR" || word === "NOT") {
        tokens.push({ kind: word.toLowerCase() as "and" | "or" | "not" });
      } else if (word === "NEAR" && query[at] === "(") {
        fail("NEAR is not supported on the shared store");
      } else {
        tokens.push({ kind: "phrase", text: word, prefix: eatStar() });
      }
    } else {
      fail(`syntax error near "${char}"`);
    }
  }
  return tokens;

  function eatStar(): boolean {
    if (query[at] !== "*") return false;
    at++;
    return true;
  }
}

/**
 * Translates a search query into the text of a PostgreSQL `tsquery`, for
 * `to_tsquery('simple', $1)` (always passed as a parameter, never spliced into SQL). Words are
 * {@link searchWords}, each single-quoted (they hold only letters and digits); a phrase is its
 * words joined by `<->`; `word*` is `'word':*`; implicit AND and `AND` are `&`, `OR` is `|`,
 * `a NOT b` is `a & !b`. Grammar as in FTS5: NOT binds tightest, then AND, then OR, and
 * implicit AND joins phrases only (`a NOT b c` is `a NOT (b c)`).
 * Throws {@link PgBadQueryError} where FTS5 reports a syntax error (or for NEAR and `^`,
 * which PostgreSQL cannot express).
 *
 * @example
 * ```ts
 * toTsquery('deploy "build failed" OR rollback*'); // "'deploy' & 'build' <-> 'failed' | 'rollback':*"
 * ```
 */
export function toTsquery(query: string): string {
  const tokens = tokenize(query);
  let at = 0;
  const fail = (detail: string): never => {
    throw new PgBadQueryError(query, detail);
  };
  const peek = () => tokens[at];
  const orExpression = (): string => {
    const parts = [andExpression()];
    while (peek()?.kind === "or") {
      at++;
      parts.push(andExpression());
    }
    return parts.length === 1 ? parts[0]! : `(${parts.join(" | ")})`;
  };
  const andExpression = (): string => {
    const parts = [notExpression()];
    while (peek()?.kind === "and") {
      at++;
      parts.push(notExpression());
    }
    return parts.length === 1 ? parts[0]! : `(${parts.join(" & ")})`;
  };
  const notExpression = (): string => {
    let left = unit();
    while (peek()?.kind === "not") {
      at++;
      left = `(${left} & !${unit()})`;
    }
    return left;
  };
  // As in FTS5's grammar, implicit AND joins phrases only: `a b NOT c d` is `(a b) NOT (c d)`,
  // and a phrase next to a parenthesis is a syntax error.
  const unit = (): string => {
    const token = tokens[at];
    if (token === undefined) return fail("syntax error: the query ends too soon");
    let result: string;
    if (token.kind === "open") {
      at++;
      result = orExpression();
      if (tokens[at++]?.kind !== "close") fail('syntax error: a "(" is not closed');
    } else {
      const phrases = [phrase()];
      while (peek()?.kind === "phrase") phrases.push(phrase());
      result = phrases.length === 1 ? phrases[0]! : `(${phrases.join(" & ")})`;
    }
    const next = peek();
    if (next?.kind === "open" || next?.kind === "phrase") {
      fail(`syntax error near "${describe(next)}"`);
    }
    return result;
  };
  const phrase = (): string => {
    const token = tokens[at++]!;
    if (token.kind !== "phrase") return fail(`syntax error near "${describe(token)}"`);
    const quoted: string[] = [];
    for (let part: Token | undefined = token;;) {
      if (part?.kind !== "phrase") return fail('syntax error: "+" must join two phrases');
      const words = searchWords(part.text);
      if (words.length === 0) return fail(`"${part.text}" holds no word to search for`);
      quoted.push(...words.map((word) => `'${word}'`));
      if (part.prefix) quoted[quoted.length - 1] += ":*";
      if (peek()?.kind !== "plus") break;
      at++;
      part = tokens[at++];
    }
    return quoted.length === 1 ? quoted[0]! : `(${quoted.join(" <-> ")})`;
  };
  if (tokens.length === 0) fail("the query is empty");
  const result = orExpression();
  if (at < tokens.length) fail(`syntax error near "${describe(tokens[at]!)}"`);
  return result;
}

function describe(token: Token): string {
  const symbols: Record<string, string> = { open: "(", close: ")", plus: "+" };
  return token.kind === "phrase" ? token.text : symbols[token.kind] ?? token.kind.toUpperCase();
}
