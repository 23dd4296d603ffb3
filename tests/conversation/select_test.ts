import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { ErrorCode, ExitCode, PersistError } from "../../src/errors.ts";
import { buildContext } from "../../src/conversation/context.ts";
import { selectConversation } from "../../src/conversation/select.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { sha256HexSync, writeBlobSync } from "../../src/store/blob_store.ts";
import { CheckpointStore } from "../../src/store/checkpoint_store.ts";
import { sessionRecords, sessionStartRecord, withDataDir, writeLog } from "../log_fixtures.ts";

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

Deno.test("a checkpoint's conversation reads its blobs from the checkpoint, not the data dir", async () => {
  await withDataDir(async (layout) => {
    const big = JSON.stringify({ from: "claude", content: `design ${"y".repeat(4000)} END` });
    const bigBytes = new TextEncoder().encode(big);
    const message = messageRecord([new TextEncoder().encode("agent.claude"), bigBytes], {
      seq: 2,
      session: "C",
      receivedAt: new Date(START_MS + 2),
    }, { blobThresholdBytes: 1024 });
    writeBlobSync(layout.blobsDir, sha256HexSync(bigBytes), bigBytes);
    const log = await writeLog(layout.currentLog, [sessionStartRecord(1, "C"), message]);
    const store = new CheckpointStore(layout.checkpointsDir, { dataBlobsDir: layout.blobsDir });
    await store.create({
      logPath: layout.currentLog,
      endOffset: log.length,
      trigger: "manual",
      label: "with a blob",
      parentCheckpoint: null,
    });
    // The data dir loses its blobs (removed by hand, or the checkpoint copied elsewhere).
    await Deno.remove(layout.blobsDir, { recursive: true });

    const source = { kind: "checkpoint", checkpoint: "latest" } as const;
    const conversation = await selectConversation(layout, source);
    assertEquals(conversation.blobDir, store.blobsDir);
    const { transcript } = await buildContext(layout, source);
    assert(transcript.markdown.includes(" END"), transcript.markdown.slice(0, 600));
    assert(!transcript.markdown.includes("not readable"));
  });
});

Deno.test("a damaged checkpoint is an error with the damaged-data exit code, for every command", async () => {
  await withDataDir(async (layout) => {
    const log = await writeLog(
      layout.currentLog,
      sessionRecords("D", { firstSeq: 1, messages: 5 }),
    );
    const store = new CheckpointStore(layout.checkpointsDir, { dataBlobsDir: layout.blobsDir });
    const manifest = await store.create({
      logPath: layout.currentLog,
      endOffset: log.length,
      trigger: "manual",
      label: "to damage",
      parentCheckpoint: null,
    });
    // The manifest's label changed without its checksum: the checkpoint lists as damaged.
    for await (const entry of Deno.readDir(layout.checkpointsDir)) {
      if (!entry.name.startsWith("checkpoint_") || !entry.name.endsWith(".json")) continue;
      const path = `${layout.checkpointsDir}/${entry.name}`;
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.replace("to damage", "to damagf"));
    }
    for (const action of ["read", "replay"] as const) {
      const source = { kind: "checkpoint", checkpoint: manifest.id } as const;
      const error = await assertRejects(
        () => selectConversation(layout, source, { action }),
        PersistError,
        `Cannot ${action} checkpoint `,
      );
      assertEquals(
        [error.code, error.exitCode],
        [ErrorCode.checkpointDamaged, ExitCode.damaged],
        error.message,
      );
    }
  });
});
