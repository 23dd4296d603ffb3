import { assert, assertEquals } from "../_assert.ts";
import { visible, visibleLine } from "../../src/cli/visible.ts";
import { plainMark, snippet, visibleUnmarked } from "../../src/cli/snippet.ts";
import { fit } from "../../src/cli/render.ts";

Deno.test("visible() shows C0, DEL, C1, separators and bidi controls and keeps everything else", () => {
  assertEquals(visible("\u001b[31mred\u001b]0;t\u0007"), "␛[31mred␛]0;t␇");
  assertEquals(visible("a\u0000b\rc\u007fd"), "a␀b␍c␡d");
  assertEquals(visible("\u009b2J\u0085"), "\\u{9b}2J\\u{85}");
  assertEquals(
    visible("\u202eabc\u202c\u2066x\u2069\u2028"),
    "\\u{202e}abc\\u{202c}\\u{2066}x\\u{2069}\\u{2028}",
  );
  assertEquals(visible("tab\tnl\n"), "tab␉nl␊");
  assertEquals(visible("tab\tnl\n\u001b", { keepLayout: true }), "tab\tnl\n␛");
  assertEquals(visible("héllo wörld ✓ 日本 🙂"), "héllo wörld ✓ 日本 🙂");
});

Deno.test("visible() leaves nothing a terminal acts on, for every code unit, and is idempotent", () => {
  const all = Array.from({ length: 0x2100 }, (_, i) => String.fromCharCode(i)).join("");
  const shown = visible(all);
  // deno-lint-ignore no-control-regex
  assert(!/[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/.test(shown));
  assertEquals(visible(shown), shown);
  assertEquals(visibleLine("two\n\tlines\u001b"), "two lines␛");
});

Deno.test("fit() makes data safe before cutting it to width", () => {
  assertEquals(fit("\u001b[2Jclear", 20), "␛[2Jclear");
  assertEquals(fit("\u0000".repeat(30), 10), "␀".repeat(9) + "…");
});

Deno.test("snippet() with visibleUnmarked: marks cannot be forged and data cannot drive the terminal", () => {
  const text = "kiwi ⟦fake⟧ \u001b[1mbold\u001b[0m kiwi";
  const shown = snippet(text, ["kiwi"], 80, plainMark, visibleUnmarked);
  assertEquals(shown, "⟦kiwi⟧ \\u{27e6}fake\\u{27e7} ␛[1mbold␛[0m ⟦kiwi⟧");
  assertEquals(
    snippet("the checkpoint was saved", ["checkpoint"], 40, (t) => `[${t}]`),
    "the [checkpoint] was saved",
  );
});
