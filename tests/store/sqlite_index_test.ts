import { assertEquals } from "../_assert.ts";
import { SqliteIndex } from "../../src/store/sqlite_index.ts";
import type { PlacedEntry } from "../../src/store/message_index.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("SqliteIndex keeps text after a NUL: hits, sessions' agents and stats read it whole", async () => {
  const dir = await tempDir("index_nul");
  const index = SqliteIndex.open(`${dir.path}/index.db`, { readOnly: false });
  try {
    const entry: PlacedEntry = {
      seq: 1,
      type: "message",
      session: "s1",
      receivedAtMs: Date.parse("2026-11-25T10:00:00Z"),
      topic: "nul\u0000topic",
      sender: "ann\u0000ie",
      recipient: "bo\u0000b",
      kind: "no\u0000te",
      bytes: 10,
      tokens: 3,
      preview: "before\u0000after",
      content: "before\u0000afterword",
      offset: 0,
      length: 100,
    };
    index.applyBatch({
      firstSeq: 1,
      path: "current_session.jsonl",
      session: "s1",
      indexedBytes: 100,
      lastSeq: 1,
      lastOffset: 0,
      lastLength: 100,
    }, [entry]);
    const [hit] = index.search({ text: "afterword", limit: 5 });
    assertEquals(
      [hit?.topic, hit?.sender, hit?.recipient, hit?.kind, hit?.preview],
      ["nul\u0000topic", "ann\u0000ie", "bo\u0000b", "no\u0000te", "before\u0000after"],
    );
    assertEquals(index.search({ sender: "ann\u0000ie", limit: 5 }).length, 1);
    assertEquals(index.locate(1)?.topic, "nul\u0000topic");
    assertEquals(index.sessions()[0]?.agents, ["ann\u0000ie"]);
    const stats = index.stats({}, 5);
    assertEquals(stats.bySender[0]?.key, "ann\u0000ie");
    assertEquals(stats.byTopic[0]?.key, "nul\u0000topic");
    assertEquals(stats.byHour[0]?.key, "2026-11-25T10:00:00.000Z");
  } finally {
    index.close();
    await dir.cleanup();
  }
});
