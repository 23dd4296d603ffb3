import { parentCheckpointOf, restoredSessionRecords } from "../../src/session/session_core.ts";
import { CheckpointStore } from "../../src/store/checkpoint_store.ts";
import { assertEquals } from "../_assert.ts";
import {
  chatRecord,
  eventRecord,
  sessionRecords,
  sessionStartRecord,
  unusualMessageRecords,
  withDataDir,
  writeLog,
} from "../log_fixtures.ts";

const SESSION = "20261125_133107_959e";
const NEW = "20261125_150000_f00d";

Deno.test("parentCheckpointOf() reads parent_checkpoint from the session_start record", async () => {
  await withDataDir(async (layout) => {
    const log = layout.currentLog;
    assertEquals(await parentCheckpointOf(log), null, "no log yet");
    await writeLog(log, sessionRecords(SESSION, { firstSeq: 1, messages: 2 }));
    assertEquals(await parentCheckpointOf(log), null, "a session started by the daemon");
    await writeLog(log, [
      { ...sessionStartRecord(1, SESSION), parent_checkpoint: "20261125_120000" },
      chatRecord(2, SESSION, "hi"),
    ]);
    assertEquals(await parentCheckpointOf(log), "20261125_120000");
    await writeLog(log, [
      chatRecord(1, SESSION, "no session_start"),
      { ...sessionStartRecord(2, SESSION), parent_checkpoint: "20261125_120000" },
    ]);
    assertEquals(await parentCheckpointOf(log), null, "only the first record counts");
  });
});

Deno.test("restoredSessionRecords() opens the new session, then restores the messages", async () => {
  await withDataDir(async (layout) => {
    const records = [
      ...sessionRecords(SESSION, { firstSeq: 10, messages: 5 }),
      eventRecord(16, SESSION, "gap"),
      ...unusualMessageRecords(17, SESSION),
    ];
    const bytes = await writeLog(layout.currentLog, records);
    const store = new CheckpointStore(layout.checkpointsDir);
    const manifest = await store.create({
      logPath: layout.currentLog,
      endOffset: bytes.length,
      trigger: "manual",
      label: null,
      parentCheckpoint: null,
    });
    const restored = await restoredSessionRecords(store, manifest, {
      session: NEW,
      firstSeq: 100,
      previousSession: SESSION,
      archivedTo: "archive/session_x.jsonl",
    });
    const [start, ...messages] = restored;
    const { received_at: _, ...startFields } = start!;
    assertEquals(startFields, {
      v: 1,
      seq: 100,
      type: "session_start",
      session: NEW,
      reason: `checkpoint load ${manifest.id}`,
      parent_checkpoint: manifest.id,
      previous_session: SESSION,
      archived_to: "archive/session_x.jsonl",
    });
    assertEquals(messages.length, manifest.message_count);
    const originals = records.filter((record) => record.type === "message");
    messages.forEach((record, i) => {
      assertEquals(record.seq, 101 + i);
      assertEquals(record.session, NEW);
      assertEquals(record.frames, originals[i]!.frames);
      assertEquals(record.restored_from, { session: SESSION, seq: originals[i]!.seq });
    });
  });
});
