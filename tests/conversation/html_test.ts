import { assert, assertEquals } from "../_assert.ts";
import { escapeHtml, renderHtml, senderHues } from "../../src/conversation/html.ts";
import { selectConversation } from "../../src/conversation/select.ts";
import { transcriptEntries } from "../../src/conversation/transcript.ts";
import { runCli, tempDir } from "../_helpers.ts";
import { HOSTILE, SESSION, writeConversation } from "./_conversation_log.ts";

Deno.test("escapeHtml() escapes the five characters that matter in content and attributes", () => {
  assertEquals(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
  );
});

Deno.test("renderHtml(): every recorded string escaped, code blocks as <pre>, long ones folded", async () => {
  const dir = await tempDir("html_render");
  try {
    const { layout } = await writeConversation(dir.path);
    const conversation = await selectConversation(layout, { kind: "current" });
    // A sender name and topic that try to break out too.
    const page = renderHtml(conversation, [
      ...transcriptEntries(conversation.records),
      {
        kind: "message",
        seq: 99,
        timeMs: 0,
        sender: `"><script>alert(1)</script>`,
        recipient: "<b>bold</b>",
        topic: "</style><script>x()</script>",
        text: "plain",
      },
    ]);
    assert(!/<script/i.test(page), "no script element anywhere");
    assert(!/<img/i.test(page), "no img element");
    assert(page.includes(escapeHtml(HOSTILE)), "the hostile message as text");
    assert(page.includes("<pre><code>if (a &lt; b &amp;&amp; c &gt; d) return `x`;</code></pre>"));
    assert(/<details><summary>The full design/.test(page), "the long message folded");
    assert(page.includes(`content="default-src 'none'; style-src 'unsafe-inline'"`));
    assert(!/<[^>]*\s(src|href)=/i.test(page), "no element that fetches anything");
    const hues = senderHues(["gemini", "claude", "codex", "claude"]);
    assertEquals(hues.size, 3);
    assertEquals(new Set(hues.values()).size, 3, "a colour per sender");
  } finally {
    await dir.cleanup();
  }
});

/** Chromium from Debian (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = "chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function chromium(args: string[], profile: string): Promise<string> {
  let output;
  try {
    output = await new Deno.Command(CHROMIUM, {
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error("chromium is not installed: apt-get install -y chromium (.ci/run does)");
  }
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

Deno.test({
  name: "export --format html: chromium renders the page; hostile messages are text, nothing ran",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await tempDir("html_browser");
    try {
      const { layout } = await writeConversation(dir.path);
      const page = `${dir.path}/conversation.html`;
      const exported = await runCli([
        "export",
        "--data-dir",
        layout.root,
        "--session",
        SESSION,
        "--format",
        "html",
        "--output",
        page,
      ]);
      assertEquals(exported.code, 0, exported.stderr);
      assertEquals((await Deno.stat(page)).mode! & 0o777, 0o600);
      const dom = await chromium(["--dump-dom", `file://${page}`], `${dir.path}/profile`);
      // The script would have renamed the page: the title is still the one written.
      const title = /<title>([^<]*)<\/title>/.exec(dom)?.[1];
      assertEquals(title, `Bus conversation: Session ${SESSION}`);
      assert(!/<script/i.test(dom), "no script element in the rendered DOM");
      assert(!/<img/i.test(dom), "no img element in the rendered DOM");
      // The hostile message is a text node: serialised back, its < and > are entities again.
      assert(dom.includes('Careful: &lt;script&gt;document.title = "pwned"&lt;/script&gt;'), dom);
      assert(dom.includes("&lt;img src=x onerror=\"document.title = 'pwned-img'\"&gt;"), dom);
      const articles = dom.match(/<article /g) ?? [];
      assertEquals(articles.length, 5, "one article per message (replay left out)");
      assert(dom.includes("<pre><code>if (a &lt; b &amp;&amp; c &gt; d) return `x`;</code></pre>"));
      const shot = `${dir.path}/page.png`;
      await chromium(
        [`--screenshot=${shot}`, "--window-size=1000,1400", `file://${page}`],
        `${dir.path}/profile2`,
      );
      const png = await Deno.readFile(shot);
      assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG screenshot");
    } finally {
      await dir.cleanup();
    }
  },
});
