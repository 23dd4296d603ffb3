import { plainMark, queryTerms, snippet, visibleUnmarked } from "../../src/cli/snippet.ts";
import { assert, assertEquals } from "../_assert.ts";

const bracket = (term: string) => `[${term}]`;

Deno.test("queryTerms() keeps the words of a query, lower-cased, once each", () => {
  assertEquals(queryTerms("Checkpoint saved checkpoint"), ["checkpoint", "saved"]);
});

Deno.test("queryTerms() drops operators, quotes, column filters, prefixes and parentheses", () => {
  assertEquals(
    queryTerms('"load the session" AND (kiwi OR mango*) NOT content:^banana NEAR +x'),
    ["load", "the", "session", "kiwi", "mango", "banana", "x"],
  );
  assertEquals(queryTerms("and or"), ["and", "or"]); // lower case: words, not operators
  assertEquals(queryTerms('  ""  () '), []);
});

Deno.test("snippet() marks every occurrence of every term, whatever its case", () => {
  assertEquals(
    snippet("Kiwi and mango, then KIWI again", ["kiwi", "mango"], 80, bracket),
    "[Kiwi] and [mango], then [KIWI] again",
  );
});

Deno.test("snippet() flattens whitespace and returns short text whole, unmarked without terms", () => {
  assertEquals(snippet("  line one\n\tline two  ", [], 80, bracket), "line one line two");
});

Deno.test("snippet() cuts long text to width around the first match, with ellipses", () => {
  const text = "a".repeat(100) + " needle " + "b".repeat(100);
  const excerpt = snippet(text, ["needle"], 30, bracket);
  const plain = excerpt.replace("[needle]", "needle");
  assertEquals(plain.length, 30);
  assert(plain.startsWith("…") && plain.endsWith("…"), excerpt);
  assert(excerpt.includes("[needle]"), excerpt);
  // The match sits a third of the way in, so the reader sees what leads up to it.
  assertEquals(plain.indexOf("needle"), 10);
});

Deno.test("snippet() keeps the start when the first match is near it, and the end near the end", () => {
  const text = "needle " + "x".repeat(200);
  assertEquals(snippet(text, ["needle"], 20, bracket), "[needle] xxxxxxxxxxxx…");
  const late = "y".repeat(200) + " needle";
  const excerpt = snippet(late, ["needle"], 20, bracket);
  assertEquals(excerpt, "…yyyyyyyyyyyy [needle]");
});

Deno.test("snippet() treats terms as text, not as regular expressions", () => {
  assertEquals(snippet("cost (a+b)* or ab", ["(a+b)*"], 80, bracket), "cost [(a+b)*] or ab");
});

Deno.test("snippet() passes text and matches through show() before marking", () => {
  const shown = snippet("a\u0007b kiwi ⟦fake⟧", ["kiwi"], 80, plainMark, visibleUnmarked);
  assertEquals(shown, "a\u2407b ⟦kiwi⟧ \\u{27e6}fake\\u{27e7}");
  const upper = (text: string) => text.toUpperCase();
  assertEquals(snippet("one kiwi two", ["kiwi"], 80, bracket, upper), "ONE [KIWI] TWO");
});
