import { assertEquals } from "../_assert.ts";
import { selectConversation } from "../../src/conversation/select.ts";
import { sessionRecords, withDataDir, writeLog } from "../log_fixtures.ts";

const START_MS = Date.parse("2026-11-25T13:31:07.000Z");

Deno.test("selectConversation() over every log narrows by seq and time across sessions and counts damaged lines", async () => {
  await withDataDir(async (layout) => {
    await writeLog(
      `${layout.archiveDir}/session_A.jsonl`,
      sessionRecords("A", { firstSeq: 1, messages: 3 }),
    );
    await writeLog(layout.currentLog, sessionRecords("B", { firstSeq: 5, messages: 3 }));
    await Deno.writeFile(layout.currentLog, new TextEncoder().encode("not a record\n"), {
      append: true,
    });

    const bySeq = await selectConversation(layout, { kind: "logs" }, { fromSeq: 3, toSeq: 6 });
    assertEquals(bySeq.records.map((r) => r.record.seq), [3, 4, 5, 6]);
    assertEquals(bySeq.session, null, "the range spans two sessions");
    assertEquals(bySeq.damagedLines, 1);
    assertEquals(bySeq.blobDir, layout.blobsDir);

    const byTime = await selectConversation(layout, { kind: "logs" }, {
      sinceMs: START_MS + 6,
      untilMs: START_MS + 7,
    });
    assertEquals(byTime.records.map((r) => r.record.seq), [6, 7]);
    assertEquals(byTime.session, "B");
  });
});
