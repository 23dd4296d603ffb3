import { nextFreeSeq, OfflineSession, withDataDirLock } from "../../src/session/offline.ts";
import { DataDirBusyError, PersistError } from "../../src/errors.ts";
import { type CheckpointManifest, CheckpointStore } from "../../src/store/checkpoint_store.ts";
import { type DataDirLayout, dataDirLayout } from "../../src/store/data_dir.ts";
import { encodeRecordLine, type LogRecord } from "../../src/store/record.ts";
import { readJournal, RecoveryJournal } from "../../src/store/recovery_journal.ts";
import { listArchivedLogs } from "../../src/store/session_archive.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import {
  appendLog,
  assertSeqOrder,
  chatRecord,
  readAllLogs,
  readRecords,
  sessionRecords,
  unusualMessageRecords,
  withDataDir,
  writeLog,
} from "../log_fixtures.ts";
import { exists } from "../../src/store/file_info.ts";

const OLD = "20261125_090000_0001";
const FIRST = "20261125_133107_959e";
const SESSION_ID = /^\d{8}_\d{6}_[0-9a-f]{4}$/;

function offline<T>(layout: DataDirLayout, work: (session: OfflineSession) => Promise<T>) {
  return withDataDirLock(layout, "test", () => OfflineSession.run(layout, {}, work));
}

function checkpointOffline(layout: DataDirLayout, label: string | null = null) {
  return offline(layout, (session) => session.createCheckpoint("manual", label));
}

function loadOffline(layout: DataDirLayout, manifest: CheckpointManifest) {
  return offline(layout, (session) => session.load(manifest));
}

/** What offline `new-session` does: end the session, start none. */
function archiveOffline(layout: DataDirLayout, reason: string) {
  return offline(layout, (session) => session.rotate(reason, { kind: "none" }));
}

async function journalDurableSeq(layout: DataDirLayout, durableSeq: number): Promise<void> {
  const journal = await RecoveryJournal.open(layout.recoveryJournal);
  try {
    await journal.append({
      event: "heartbeat",
      at: new Date().toISOString(),
      pid: 1,
      durable_seq: durableSeq,
    });
  } finally {
    journal.close();
  }
}

async function messagesOf(store: CheckpointStore, manifest: CheckpointManifest) {
  const lines: Uint8Array[] = [];
  for await (const line of store.lines(manifest)) lines.push(line.slice());
  const records = lines.map((line) => {
    const text = new TextDecoder().decode(line);
    return JSON.parse(text) as LogRecord;
  });
  return records.filter((record) => record.type === "message");
}

/** Every record of every log in the data dir: archives oldest first, then the current log. */

Deno.test("OfflineSession.createCheckpoint() checkpoints the whole current log", async () => {
  await withDataDir(async (layout) => {
    const error = await assertRejects(() => checkpointOffline(layout), PersistError, "not exist");
    assertEquals(error.code, "checkpoint_empty");
    const bytes = await writeLog(
      layout.currentLog,
      sessionRecords(FIRST, { firstSeq: 1, messages: 12 }),
    );
    const manifest = await checkpointOffline(layout, "by hand");
    assertEquals(manifest.trigger, "manual");
    assertEquals(manifest.label, "by hand");
    assertEquals(manifest.bytes, bytes.length);
    assertEquals(manifest.message_count, 12);
    assertEquals(manifest.parent, { session: FIRST, checkpoint: null });
    const store = new CheckpointStore(layout.checkpointsDir);
    assertEquals((await store.get("latest")).id, manifest.id);
  });
});

Deno.test("OfflineSession.load() archives the session, saves it, and restores the checkpoint", async () => {
  await withDataDir(async (layout) => {
    const store = new CheckpointStore(layout.checkpointsDir);
    await writeLog(
      `${layout.archiveDir}/session_${OLD}.jsonl`,
      sessionRecords(OLD, { firstSeq: 1, messages: 9 }),
    );
    await writeLog(layout.currentLog, [
      ...sessionRecords(FIRST, { firstSeq: 11, messages: 18 }),
      ...unusualMessageRecords(30, FIRST),
    ]);
    const loaded = await checkpointOffline(layout, "the good part"); // seqs 11..35
    await appendLog(
      layout.currentLog,
      Array.from({ length: 15 }, (_, i) => chatRecord(36 + i, FIRST, `later ${i}`)),
    );
    await journalDurableSeq(layout, 50);
    const before = await Deno.readFile(layout.currentLog);

    const result = await loadOffline(layout, loaded);

    // The previous session: archived whole, ended by a session_end, saved as a checkpoint.
    assertEquals(result.archived, `${layout.archiveDir}/session_${FIRST}.jsonl`);
    const archivedBytes = await Deno.readFile(result.archived!);
    assertEquals(archivedBytes.subarray(0, before.length), before);
    const archived = await readRecords(result.archived!);
    const end = archived.at(-1)!;
    assertEquals([end.type, end.seq, end.session], ["session_end", 51, FIRST]);
    assertEquals(end.reason, `checkpoint load ${loaded.id}`);
    assert(result.before_load !== null);
    const saved = await store.get(result.before_load);
    assert(saved.ok);
    assertEquals(saved.manifest.trigger, "before-load");
    assertEquals(saved.manifest.label, `before loading ${loaded.id}`);
    assertEquals([saved.manifest.session, saved.manifest.last_seq], [FIRST, 50]);
    assertEquals(saved.manifest.bytes, before.length);
    assertEquals(await store.verify(saved.manifest), []);

    // The new current session: a session_start naming the checkpoint, then its messages.
    assert(SESSION_ID.test(result.session) && result.session !== FIRST, result.session);
    const [start, ...messages] = await readRecords(layout.currentLog);
    assertEquals(start!.type, "session_start");
    assertEquals(start!.seq, 52);
    assertEquals(start!.session, result.session);
    assertEquals(start!.parent_checkpoint, loaded.id);
    assertEquals(start!.previous_session, FIRST);
    assertEquals(start!.archived_to, result.archived);
    assertEquals(start!.reason, `checkpoint load ${loaded.id}`);
    const originals = await messagesOf(store, loaded);
    assertEquals(messages.length, loaded.message_count);
    messages.forEach((record, i) => {
      assertEquals(record.type, "message");
      assertEquals(record.seq, 53 + i);
      assertEquals(record.session, result.session);
      assertEquals(record.frames, originals[i]!.frames);
      assertEquals(record.meta, originals[i]!.meta);
      assertEquals(record.restored_from, { session: FIRST, seq: originals[i]!.seq });
    });
    assertSeqOrder(await readAllLogs(layout));

    const journal = await readJournal(layout.recoveryJournal);
    const archivedEntry = journal.entries.find((entry) => entry.event === "session_archived");
    // Durable once the new session is written, and naming it (as the daemon's entry does).
    assertEquals(archivedEntry?.durable_seq, 52 + loaded.message_count);
    assertEquals(archivedEntry?.session, result.session);
    assertEquals(archivedEntry?.previous_session, FIRST);
    assertEquals(archivedEntry?.archived_to, result.archived);
    // The lock was given back.
    assertEquals(await withDataDirLock(layout, "test", () => Promise.resolve("free")), "free");
  });
});

Deno.test("OfflineSession.load() twice: each checkpoint names the one it came from", async () => {
  await withDataDir(async (layout) => {
    const store = new CheckpointStore(layout.checkpointsDir);
    await writeLog(layout.currentLog, sessionRecords(FIRST, { firstSeq: 1, messages: 10 }));
    const c1 = await checkpointOffline(layout, "c1");
    assertEquals(c1.parent.checkpoint, null);

    const first = await loadOffline(layout, c1);
    const r1 = first.session;
    await appendLog(layout.currentLog, [chatRecord(100, r1, "new turn after the first load")]);
    const c2 = await checkpointOffline(layout, "c2");
    assertEquals(c2.parent, { session: r1, checkpoint: c1.id });
    assertEquals(c2.message_count, 11);

    const second = await loadOffline(layout, c2);
    const r2 = second.session;
    assert(r2 !== r1);
    const beforeSecond = await store.get(second.before_load!);
    assert(beforeSecond.ok);
    assertEquals(beforeSecond.manifest.parent, { session: r1, checkpoint: c1.id });
    const [start, ...messages] = await readRecords(layout.currentLog);
    assertEquals(start!.parent_checkpoint, c2.id);
    assertEquals(start!.previous_session, r1);
    assertEquals(messages.length, 11);
    for (const message of messages) {
      assertEquals((message.restored_from as { session: string }).session, r1);
    }
    const c3 = await checkpointOffline(layout, "c3");
    assertEquals(c3.parent, { session: r2, checkpoint: c2.id });

    // Walk the lineage back from c3 through the manifests alone.
    const chain: string[] = [];
    for (let id: string | null = c3.id; id !== null;) {
      chain.push(id);
      const entry = await store.get(id);
      assert(entry.ok);
      id = entry.manifest.parent.checkpoint;
    }
    assertEquals(chain, [c3.id, c2.id, c1.id]);
    const logs = await readAllLogs(layout);
    assertEquals(logs.length, 3, "two archived sessions and the current one");
    assertSeqOrder(logs);
  });
});

Deno.test("OfflineSession.load() with no current session saves nothing and archives nothing", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(FIRST, { firstSeq: 1, messages: 4 }));
    const c1 = await checkpointOffline(layout);
    await archiveOffline(layout, "test");
    assert(!(await exists(layout.currentLog)));
    const result = await loadOffline(layout, c1);
    assertEquals(result.before_load, null);
    assertEquals(result.archived, undefined);
    const [start, ...messages] = await readRecords(layout.currentLog);
    assertEquals(start!.seq, 7, "above the archived session_end (6)");
    assertEquals(start!.previous_session, null);
    assertEquals(start!.archived_to, null);
    assertEquals(messages.map((m) => m.seq), [8, 9, 10, 11]);
    assertEquals((await new CheckpointStore(layout.checkpointsDir).list()).length, 1);
  });
});

Deno.test("OfflineSession.rotate() numbers session_end above the journal and the archive", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(FIRST, { firstSeq: 1, messages: 30 }));
    await journalDurableSeq(layout, 1000);
    const first = await archiveOffline(layout, "new-session command");
    assertEquals(first, {
      archived: `${layout.archiveDir}/session_${FIRST}.jsonl`,
      previousSession: FIRST,
      session: null,
      lastSeq: 1001,
    });
    const end = (await readRecords(first.archived!)).at(-1)!;
    assertEquals([end.type, end.seq, end.reason], ["session_end", 1001, "new-session command"]);
    // No session starts until the next daemon start: the entry names none, durable at the end.
    const entry = (await readJournal(layout.recoveryJournal)).entries.at(-1)!;
    assertEquals(
      [entry.event, entry.session, entry.previous_session, entry.archived_to, entry.durable_seq],
      ["session_archived", undefined, FIRST, first.archived, 1001],
    );

    // The archive now holds seq 1001; a later session with lower seqs still ends above it.
    const second = "20261125_140000_0002";
    await writeLog(layout.currentLog, sessionRecords(second, { firstSeq: 500, messages: 3 }));
    const result = await archiveOffline(layout, "x");
    assertEquals([result.previousSession, result.lastSeq], [second, 1002]);
    assertEquals((await readRecords(result.archived!)).at(-1)!.seq, 1002);

    // No current log: nothing to archive, and the next seq is still above everything.
    const none = await archiveOffline(layout, "x");
    assertEquals(none, {
      archived: undefined,
      previousSession: null,
      session: null,
      lastSeq: 1002,
    });
  });
});

Deno.test("OfflineSession.rotate() archives a log with no good record as session_unknown", async () => {
  await withDataDir(async (layout) => {
    await writeLog(`${layout.archiveDir}/session_${OLD}.jsonl`, [
      ...sessionRecords(OLD, { firstSeq: 1, messages: 6 }),
    ]);
    await Deno.writeTextFile(layout.currentLog, '{"v":1,"seq":8,"type":"mess');
    const result = await archiveOffline(layout, "x");
    assertEquals(result, {
      archived: `${layout.archiveDir}/session_unknown.jsonl`,
      previousSession: null,
      session: null,
      lastSeq: 7,
    });
    assertEquals(await Deno.readTextFile(result.archived!), "", "the torn bytes were cut off…");
    const setAside = [...Deno.readDirSync(layout.recoveryDir)].filter((e) =>
      e.name.startsWith("torn_tail_")
    );
    assertEquals(setAside.length, 1);
    assertEquals(
      await Deno.readTextFile(`${layout.recoveryDir}/${setAside[0]!.name}`),
      '{"v":1,"seq":8,"type":"mess',
      "…and kept in recovery/ for inspection",
    );
  });
});

Deno.test("OfflineSession.rotate() after a crash sets the torn tail aside before session_end", async () => {
  // A daemon killed mid-write leaves a torn last line; only the daemon's start repairs it. The
  // offline `new-session` and `checkpoint load` append session_end right after the torn bytes,
  // so it fuses with them into one line that fails its checksum: the session_end is lost.
  await withDataDir(async (layout) => {
    const records = sessionRecords(FIRST, { firstSeq: 1, messages: 10 });
    await writeLog(layout.currentLog, records);
    const torn = encodeRecordLine(chatRecord(12, FIRST, "cut short by kill -9")).subarray(0, 40);
    await Deno.writeFile(layout.currentLog, torn, { append: true });
    const result = await archiveOffline(layout, "x");
    assertEquals(result.lastSeq, 12);
    const bytes = await Deno.readFile(result.archived!);
    const lastLine = bytes.subarray(bytes.lastIndexOf(0x0a, bytes.length - 2) + 1);
    const text = new TextDecoder().decode(lastLine);
    assert(text.startsWith('{"v":1,"seq":12,"type":"session_end"'), `last line: ${text}`);
  });
});

Deno.test("OfflineSession.load() of a damaged checkpoint fails before changing anything", async () => {
  // The checkpoint is read only after the current session was ended and archived, so a load
  // that cannot work still rotates the session away. The CLI and daemon verify first, which
  // narrows this to damage or a prune between their verify and the load.
  await withDataDir(async (layout) => {
    const store = new CheckpointStore(layout.checkpointsDir);
    const otherLog = `${layout.root}/other.jsonl`;
    const other = await writeLog(otherLog, sessionRecords(OLD, { firstSeq: 1, messages: 5 }));
    const damaged = await store.create({
      logPath: otherLog,
      endOffset: other.length,
      trigger: "manual",
      label: null,
      parentCheckpoint: null,
    });
    const segment = store.segmentFilePath(damaged.segments[0]!);
    const bytes = await Deno.readFile(segment);
    bytes[10] = bytes[10]! ^ 0x01;
    await Deno.writeFile(segment, bytes);
    const current = await writeLog(
      layout.currentLog,
      sessionRecords(FIRST, { firstSeq: 10, messages: 5 }),
    );

    await assertRejects(() => loadOffline(layout, damaged), PersistError, "damaged");
    assertEquals(await listArchivedLogs(layout), []);
    assert(await exists(layout.currentLog), "the current session is still current");
    assertEquals(await Deno.readFile(layout.currentLog), current);
  });
});

Deno.test("withDataDirLock() creates the data dir, holds the lock for the work, then frees it", async () => {
  const root = await Deno.makeTempDir({ prefix: "shearwater_lock_" });
  try {
    const layout = dataDirLayout(`${root}/fresh`);
    const inner = await withDataDirLock(layout, "outer", async () => {
      assertEquals((await Deno.stat(layout.checkpointsDir)).mode! & 0o777, 0o700);
      const busy = await assertRejects(
        () => withDataDirLock(layout, "inner", () => Promise.resolve(1)),
        DataDirBusyError,
        `PID ${Deno.pid}`,
      );
      return busy.exitCode;
    });
    assertEquals(inner, 3);
    await assertRejects(
      () => withDataDirLock(layout, "thrower", () => Promise.reject(new Error("work failed"))),
      Error,
      "work failed",
    );
    assertEquals(await withDataDirLock(layout, "after", () => Promise.resolve("free")), "free");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("nextFreeSeq() is above seqs a daemon reserved for an import before it died", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(FIRST, { firstSeq: 5, messages: 3 }));
    const journal = await RecoveryJournal.open(layout.recoveryJournal);
    try {
      await journal.append({
        event: "seqs_reserved",
        at: new Date().toISOString(),
        pid: 1,
        reserved_seq: 500,
      });
    } finally {
      journal.close();
    }
    assertEquals(await withDataDirLock(layout, "test", () => nextFreeSeq(layout)), 501);
  });
});
