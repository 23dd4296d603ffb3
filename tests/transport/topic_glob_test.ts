import { assert, assertEquals } from "../_assert.ts";
import { globToRegExp } from "../../src/transport/topic_glob.ts";

function matches(glob: string, topic: string): boolean {
  return globToRegExp(glob).test(topic);
}

Deno.test("globToRegExp() matches the whole topic, not a part of it", () => {
  assert(matches("debug", "debug"));
  assert(!matches("debug", "debug.trace"));
  assert(!matches("debug", "x.debug"));
  assert(matches("debug.*", "debug.trace"));
  assert(!matches("debug.*", "agent.debug.trace"));
});

Deno.test("globToRegExp() takes * as any run (none included) and ? as one character", () => {
  assert(matches("a*", "a"));
  assert(matches("a*", "abc"));
  assert(matches("*.log", "x.y.log"));
  assert(matches("a?c", "abc"));
  assert(!matches("a?c", "ac"));
  assert(!matches("a?c", "abbc"));
  assert(matches("*", ""));
  // A topic with a newline is still one topic: * and ? cross it.
  assert(matches("a*b", "a\nb"));
  assert(matches("a?b", "a\nb"));
});

Deno.test("globToRegExp() takes every other character literally", () => {
  for (const literal of [".", "+", "^", "$", "{", "}", "(", ")", "|", "[", "]", "\\"]) {
    const glob = `a${literal}b`;
    assert(matches(glob, glob), glob);
    assert(!matches(glob, "aXb"), glob);
  }
  assert(!matches("a.b", "acb"), "a dot is not any character");
  assert(matches("[x]", "[x]"));
  assert(!matches("[x]", "x"));
});

Deno.test("globToRegExp() gives an anchored pattern", () => {
  assertEquals(globToRegExp("a*").source, "^a.*$");
  assertEquals(globToRegExp("a*").flags, "s");
});
