import { OfflineSession, withDataDirLock } from "../../src/session/offline.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { PersistError } from "../../src/errors.ts";
import { sha256HexSync, writeBlobSync } from "../../src/store/blob_store.ts";
import { type CheckpointManifest, CheckpointStore } from "../../src/store/checkpoint_store.ts";
import type { DataDirLayout } from "../../src/store/data_dir.ts";
import { decodeStoredFrames, type RecordBody, type StoredFrame } from "../../src/store/record.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import {
  appendLog,
  chatRecord,
  readRecords,
  sessionStartRecord,
  withDataDir,
  writeLog,
} from "../log_fixtures.ts";

const SESSION = "20261129_230000_b10b";
const encoder = new TextEncoder();
const BIG = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);
const BIG_SHA = sha256HexSync(BIG);

/** A message whose second frame is a blob, written to the data dir's blob store as the daemon does. */
function blobMessage(layout: DataDirLayout, seq: number): RecordBody {
  const body = messageRecord([encoder.encode("big.bin"), BIG], {
    seq,
    session: SESSION,
    receivedAt: new Date(Date.UTC(2026, 10, 29, 23, 0, seq)),
  }, { blobThresholdBytes: 1024 });
  writeBlobSync(layout.blobsDir, BIG_SHA, BIG);
  return body;
}

function loadOffline(layout: DataDirLayout, manifest: CheckpointManifest) {
  return withDataDirLock(
    layout,
    "test",
    () => OfflineSession.run(layout, {}, (session) => session.load(manifest)),
  );
}

function checkpoint(layout: DataDirLayout): Promise<CheckpointManifest> {
  return withDataDirLock(
    layout,
    "test",
    () => OfflineSession.run(layout, {}, (session) => session.createCheckpoint("manual", null)),
  );
}

Deno.test("checkpoint create, verify and load carry a blob even after the data dir lost it", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, [
      sessionStartRecord(1, SESSION),
      chatRecord(2, SESSION, "before the big one"),
      blobMessage(layout, 3),
      chatRecord(4, SESSION, "after the big one"),
    ]);
    const manifest = await checkpoint(layout);
    assertEquals(manifest.blobs, [{ sha256: BIG_SHA, bytes: BIG.length }]);
    const store = new CheckpointStore(layout.checkpointsDir);
    assertEquals(await Deno.readFile(`${layout.checkpointsDir}/blobs/${BIG_SHA}`), BIG);
    assertEquals((await Deno.stat(`${layout.checkpointsDir}/blobs`)).mode! & 0o777, 0o700);
    assertEquals(await store.verify(manifest), []);

    await Deno.remove(`${layout.blobsDir}/${BIG_SHA}`);
    await loadOffline(layout, manifest);
    const restored = (await readRecords(layout.currentLog)).filter((r) => r.type === "message");
    assertEquals(restored.map((r) => r.topic), ["agent.codex", "big.bin", "agent.gemini"]);
    const frames = decodeStoredFrames(restored[1]!.frames as StoredFrame[], {
      blobDir: layout.blobsDir,
    });
    assertEquals(frames, [encoder.encode("big.bin"), BIG]);
    assertEquals((await Deno.stat(`${layout.blobsDir}/${BIG_SHA}`)).mode! & 0o777, 0o600);
  });
});

Deno.test("checkpoint verify reports a missing or altered blob, and load refuses it", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, [sessionStartRecord(1, SESSION), blobMessage(layout, 2)]);
    const manifest = await checkpoint(layout);
    const store = new CheckpointStore(layout.checkpointsDir);
    const carried = `${layout.checkpointsDir}/blobs/${BIG_SHA}`;
    const altered = BIG.slice();
    altered[5] = altered[5]! ^ 0xff;
    await Deno.remove(carried); // a hard link: replace it rather than write through it
    await Deno.writeFile(carried, altered);
    assertEquals(await store.verify(manifest), [
      `blob ${BIG_SHA.slice(0, 12)} is damaged (hash mismatch)`,
    ]);
    await Deno.remove(carried);
    assertEquals(await store.verify(manifest), [`blob ${BIG_SHA.slice(0, 12)} is missing`]);
    const error = await assertRejects(
      () => loadOffline(layout, manifest),
      PersistError,
    );
    assert(error.message.includes("is missing"), error.message);
  });
});

Deno.test("checkpoint remove keeps a blob another checkpoint refers to, then removes it", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, [sessionStartRecord(1, SESSION), blobMessage(layout, 2)]);
    const first = await checkpoint(layout);
    await appendLog(layout.currentLog, [chatRecord(3, SESSION, "more")]);
    const second = await checkpoint(layout);
    assertEquals(second.blobs, first.blobs);
    const store = new CheckpointStore(layout.checkpointsDir);
    await store.remove([first.id]);
    assertEquals(await store.verify(second), []);
    await store.remove([second.id]);
    assertEquals([...Deno.readDirSync(`${layout.checkpointsDir}/blobs`)], []);
    assertEquals(await Deno.readFile(`${layout.blobsDir}/${BIG_SHA}`), BIG); // the log's own copy
  });
});

Deno.test("checkpoint create fails clearly when a blob the session names is missing", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, [sessionStartRecord(1, SESSION), blobMessage(layout, 2)]);
    await Deno.remove(`${layout.blobsDir}/${BIG_SHA}`);
    const error = await assertRejects(() => checkpoint(layout), PersistError);
    assertEquals(error.code, "blob_missing");
    assert(error.message.includes(BIG_SHA), error.message);
  });
});
