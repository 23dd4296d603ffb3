import { assert, assertEquals } from "../_assert.ts";
import { buildContext } from "../../src/conversation/context.ts";
import { selectConversation } from "../../src/conversation/select.ts";
import { renderMarkdown, transcriptEntries } from "../../src/conversation/transcript.ts";
import { tempDir } from "../_helpers.ts";
import { CODE, HOSTILE, LONG, SESSION, writeConversation } from "./_conversation_log.ts";

function messageSeqs(entries: readonly { entry: { kind: string; seq?: number } }[]): number[] {
  return entries.filter((k) => k.entry.kind === "message").map((k) => k.entry.seq!);
}

Deno.test("buildContext() shows every message oldest first, code intact, others summarised", async () => {
  const dir = await tempDir("context_all");
  try {
    const { layout } = await writeConversation(dir.path);
    const { transcript, conversation } = await buildContext(layout, { kind: "current" });
    assertEquals(conversation.session, SESSION);
    assertEquals(messageSeqs(transcript.kept), [2, 5, 6, 9, 10]);
    assertEquals(conversation.replaysLeftOut, 1);
    const md = transcript.markdown;
    assert(md.startsWith(`# Bus conversation: session ${SESSION}\n`), md);
    assert(md.includes(CODE), "code block kept as sent");
    assert(md.includes(HOSTILE));
    assert(md.includes(LONG), "no limit: the long message whole");
    assert(/claude → gemini \[agent\.claude\] #2\n/.test(md), md);
    assert(/claude → all \[ops\.deploy\] #10\n/.test(md), md);
    assert(md.includes("1 daemon event (gap); 1 presence message (codex hello)"), md);
    assert(md.includes("1 binary or empty message"), md);
    assert(!md.includes("REPLAYED"), "a replay is left out");
    assert(md.includes("1 replayed message not shown"), md);
    assert(md.indexOf("#2\n") < md.indexOf("#5\n") && md.indexOf("#5\n") < md.indexOf("#10\n"));
    const replays = await buildContext(layout, { kind: "current" }, { includeReplays: true });
    assert(replays.transcript.markdown.includes("REPLAYED"));
  } finally {
    await dir.cleanup();
  }
});

Deno.test("buildContext() keeps the newest whole, trims the next with a marker, counts the rest", async () => {
  const dir = await tempDir("context_budget");
  try {
    const { layout } = await writeConversation(dir.path);
    for (const maxChars of [1000, 1500, 2500, 4000]) {
      const { transcript } = await buildContext(layout, { kind: "current" }, { maxChars });
      const md = transcript.markdown;
      assert(md.length <= maxChars, `${md.length} > ${maxChars}`);
      const kept = messageSeqs(transcript.kept);
      assertEquals(kept.at(-1), 10, "the newest message is always there");
      assert(md.includes("deploying now") && md.includes("codex tells gemini a secret"));
      // The long message (#6) does not fit whole in these budgets: trimmed, marked, with `show`.
      const long = transcript.kept.find((k) => k.entry.kind === "message" && k.entry.seq === 6);
      if (long) {
        assertEquals(long.trimmed, true);
        assert(!md.includes("END-OF-LONG"));
        const marker = new RegExp(
          `\\[… trimmed: \\d+ of ${LONG.length} characters not shown; ` +
            "full text: `shearwater-persist show 6`\\]",
        );
        assert(marker.test(md), md);
      }
      const leftOut = 5 - kept.length;
      assertEquals(transcript.leftOutMessages, leftOut);
      if (leftOut > 0) {
        assert(md.includes(`Left out: the ${leftOut} earlier message`), md);
        assert(md.includes(`\`shearwater-persist search --session ${SESSION} --until `), md);
      }
    }
  } finally {
    await dir.cleanup();
  }
});

Deno.test("renderMarkdown() closes a code block it cuts, so the marker is not code", () => {
  const text = "intro\n```sh\n" + "echo line\n".repeat(200) + "```\nafter";
  const entries = [{
    kind: "message" as const,
    seq: 1,
    timeMs: 0,
    sender: "a",
    recipient: null,
    topic: "t",
    text,
  }];
  const { markdown, kept } = renderMarkdown(
    { session: "s", checkpoint: null, replaysLeftOut: 0 },
    entries,
    { maxChars: 800 },
  );
  assertEquals(kept[0]!.trimmed, true);
  assert(markdown.length <= 800, String(markdown.length));
  const fences = markdown.split("\n").filter((line) => line.startsWith("```")).length;
  assertEquals(fences % 2, 0, markdown);
  assert(markdown.trimEnd().endsWith("`shearwater-persist show 1`]"), markdown);
});

Deno.test("selectConversation() --agent: what NAME sent, what was addressed to NAME, and to nobody", async () => {
  const dir = await tempDir("context_agent");
  try {
    const { layout } = await writeConversation(dir.path);
    const seqsFor = async (agent: string) => {
      const conversation = await selectConversation(layout, { kind: "current" }, { agent });
      return transcriptEntries(conversation.records)
        .filter((e) => e.kind === "message").map((e) => e.kind === "message" ? e.seq : 0);
    };
    assertEquals(await seqsFor("claude"), [2, 5, 6, 10]); // not 9 (codex → gemini)
    assertEquals(await seqsFor("gemini"), [2, 5, 6, 9, 10]);
    assertEquals(await seqsFor("codex"), [6, 9, 10]); // 6 to all, 9 sent, 10 to nobody
    const topics = await selectConversation(layout, { kind: "current" }, { topics: ["ops."] });
    assertEquals(
      topics.records.filter((r) => r.record.type === "message").map((r) => r.record.seq),
      [10],
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test("selectConversation() reads a session from the archive and rejects an unknown one", async () => {
  const dir = await tempDir("context_archive");
  try {
    const { layout } = await writeConversation(dir.path);
    await Deno.rename(layout.currentLog, `${layout.archiveDir}/session_${SESSION}.jsonl`);
    const conversation = await selectConversation(layout, { kind: "session", session: SESSION });
    assertEquals(conversation.records.length, 9);
    const current = await selectConversation(layout, { kind: "current" });
    assertEquals(current.session, SESSION, "no current log: the newest archived session");
    let error: unknown;
    try {
      await selectConversation(layout, { kind: "session", session: "nope" });
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof Error && error.message.startsWith('Cannot find session "nope"'));
  } finally {
    await dir.cleanup();
  }
});

Deno.test("buildContext() with tailBytes reads the end of the log and says older ones may exist", async () => {
  const dir = await tempDir("context_tail");
  try {
    const { layout, bytes } = await writeConversation(dir.path);
    const whole = await buildContext(layout, { kind: "current" }, { tailBytes: bytes.length });
    assertEquals(whole.conversation.partial, false);
    assertEquals(whole.messageCount, 5);
    const tail = await buildContext(layout, { kind: "current" }, { tailBytes: 900 });
    assertEquals(tail.conversation.partial, true);
    assertEquals(tail.conversation.session, SESSION);
    assert(tail.messageCount < 5 && tail.messageCount > 0, String(tail.messageCount));
    const md = tail.transcript.markdown;
    assert(md.includes("Left out: any earlier messages (only the end of a long log was read)"), md);
    assert(md.includes(`\`shearwater-persist search --session ${SESSION} --until `), md);
  } finally {
    await dir.cleanup();
  }
});
