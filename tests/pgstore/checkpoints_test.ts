import { assert, assertEquals } from "../_assert.ts";
import { runCli } from "../_helpers.ts";
import { appendLog, sessionRecords, writeLog } from "../log_fixtures.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import { migrate } from "../../src/pgstore/migrations.ts";
import { pullCheckpoint, pushCheckpoint } from "../../src/pgstore/checkpoints.ts";
import { CheckpointStore } from "../../src/store/checkpoint_store.ts";
import { sha256HexSync, writeBlobSync } from "../../src/store/blob_store.ts";
import { ensureDataDir } from "../../src/store/data_dir.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";

const SESSION = "20261129_230000_c0de";
const encoder = new TextEncoder();
const BIG = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
const BIG_SHA = sha256HexSync(BIG);

async function cli(args: string[]) {
  const result = await runCli(args, { env: { NO_COLOR: "1" } });
  return { ...result, json: () => JSON.parse(result.stdout) };
}

Deno.test({
  name: "checkpoint push on one data dir, pull, verify and load on another (blobs, lineage)",
  ignore: !pgAvailable,
}, async () => {
  const root = await Deno.makeTempDir({ prefix: "shearwater_ckpt_share_" });
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    await migrate(store, { extraMonths: ["2026-11"] });
    const url = cluster.url;
    const a = await ensureDataDir(`${root}/a`);
    const b = await ensureDataDir(`${root}/b`);
    // Data dir A: a session with a blob frame, two checkpoints (the second shares segments).
    const blobMessage = messageRecord([encoder.encode("big.bin"), BIG], {
      seq: 30,
      session: SESSION,
      receivedAt: new Date(Date.UTC(2026, 10, 29, 23, 0, 30)),
    }, { blobThresholdBytes: 1024 });
    writeBlobSync(a.blobsDir, BIG_SHA, BIG);
    await writeLog(a.currentLog, [...sessionRecords(SESSION, { firstSeq: 1, messages: 28 })]);
    await appendLog(a.currentLog, [blobMessage]);
    const first = await cli(["checkpoint", "create", "--data-dir", a.root, "--json"]);
    assertEquals(first.code, 0, first.stderr);
    const firstId = first.json().id as string;

    // Nothing to push without a store: a usage error.
    const noStore = await cli(["checkpoint", "push", firstId, "--data-dir", a.root]);
    assertEquals(noStore.code, 2, noStore.stderr);

    const pushed = await cli([
      "checkpoint",
      "push",
      firstId,
      "--data-dir",
      a.root,
      "--store",
      url,
      "--json",
    ]);
    assertEquals(pushed.code, 0, pushed.stderr);
    assertEquals(pushed.json().segmentsSent >= 1, true);
    assertEquals(pushed.json().blobsSent, 1);
    const again = await cli([
      "checkpoint",
      "push",
      firstId,
      "--data-dir",
      a.root,
      "--store",
      url,
      "--json",
    ]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.json().alreadyThere, true);

    // Data dir B pulls it, verifies it, loads it: a new session forked from it.
    const pulled = await cli([
      "checkpoint",
      "pull",
      firstId,
      "--data-dir",
      b.root,
      "--store",
      url,
      "--json",
    ]);
    assertEquals(pulled.code, 0, pulled.stderr);
    assertEquals(pulled.json().blobsWritten, 1);
    const verify = await cli(["checkpoint", "verify", firstId, "--data-dir", b.root]);
    assertEquals(verify.code, 0, verify.stdout + verify.stderr);
    const manifestA = await Deno.readTextFile(`${a.checkpointsDir}/checkpoint_${firstId}.json`);
    const manifestB = await Deno.readTextFile(`${b.checkpointsDir}/checkpoint_${firstId}.json`);
    assertEquals(manifestB, manifestA);
    assertEquals(
      (await Deno.stat(`${b.checkpointsDir}/checkpoint_${firstId}.json`)).mode! & 0o777,
      0o600,
    );
    const load = await cli(["checkpoint", "load", firstId, "--yes", "--data-dir", b.root]);
    assertEquals(load.code, 0, load.stdout + load.stderr);
    // The loaded session holds the checkpoint's messages, the blob frame included.
    const shown = await cli([
      "export",
      "--checkpoint",
      firstId,
      "--format",
      "jsonl",
      "--data-dir",
      b.root,
    ]);
    assertEquals(shown.code, 0, shown.stderr);
    const local = await cli([
      "export",
      "--checkpoint",
      firstId,
      "--format",
      "jsonl",
      "--data-dir",
      a.root,
    ]);
    assertEquals(shown.stdout, local.stdout);
    const search = await cli(["search", "message", "--data-dir", b.root, "--json"]);
    assertEquals(search.code, 0, search.stderr);

    // A second checkpoint of A shares the first one's segments: only the new tail is sent.
    await appendLog(a.currentLog, sessionRecords(SESSION, { firstSeq: 31, messages: 5 }).slice(1));
    const second = await cli(["checkpoint", "create", "--data-dir", a.root, "--json"]);
    const secondId = second.json().id as string;
    const pushedSecond = await cli([
      "checkpoint",
      "push",
      secondId,
      "--data-dir",
      a.root,
      "--store",
      url,
      "--json",
    ]);
    assertEquals(pushedSecond.code, 0, pushedSecond.stderr);
    assert(pushedSecond.json().segmentsShared >= 1, pushedSecond.stdout);
    assertEquals(pushedSecond.json().blobsSent, 0);

    const listed = await cli(["checkpoint", "list", "--store", url, "--json"]);
    assertEquals(listed.code, 0, listed.stderr);
    assertEquals(listed.json().checkpoints.map((c: { id: string }) => c.id), [secondId, firstId]);
    const listedText = await cli(["checkpoint", "list", "--store", url]);
    assert(listedText.stdout.includes("origin "), listedText.stdout);

    // "latest" pulls the newest; pulling again finds it already here.
    const latest = await cli([
      "checkpoint",
      "pull",
      "latest",
      "--data-dir",
      b.root,
      "--store",
      url,
      "--json",
    ]);
    assertEquals(latest.code, 0, latest.stderr);
    assertEquals(latest.json().id, secondId);
    assert(latest.json().segmentsPresent >= 1, latest.stdout);
    const twice = await cli([
      "checkpoint",
      "pull",
      secondId,
      "--data-dir",
      b.root,
      "--store",
      url,
      "--json",
    ]);
    assertEquals(twice.json().alreadyHere, true);
    // Lineage: a checkpoint of the loaded session names the pulled one as its parent.
    const forked = await cli(["checkpoint", "create", "--data-dir", b.root, "--json"]);
    assertEquals(forked.code, 0, forked.stderr);
    assertEquals(forked.json().parent.checkpoint, firstId);
    const shownFork = await cli([
      "checkpoint",
      "show",
      forked.json().id,
      "--data-dir",
      b.root,
      "--json",
    ]);
    assertEquals(shownFork.json().lineage[0], firstId);

    // A segment altered in the store is caught before anything is written.
    const third = await ensureDataDir(`${root}/c`);
    await cluster.psql(
      "UPDATE shearwater.segments SET data = overlay(data placing '\\x00'::bytea from 20 for 1)",
    );
    const bad = await cli([
      "checkpoint",
      "pull",
      firstId,
      "--data-dir",
      third.root,
      "--store",
      url,
    ]);
    assertEquals(bad.code, 65, bad.stdout + bad.stderr);
    const left = [...Deno.readDirSync(third.checkpointsDir)].filter((e) =>
      e.name.endsWith(".json")
    );
    assertEquals(left, []);
    assertEquals([...Deno.readDirSync(`${third.checkpointsDir}/segments`)], []);
  } finally {
    await store.close();
    await cluster.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "checkpoint pull holds the checkpoint store's lock: it waits for a prune or create in progress",
  ignore: !pgAvailable,
}, async () => {
  // Before: pull wrote segments without the lock, so a prune running meanwhile could delete a
  // segment written before its manifest (unreferenced at that moment).
  const root = await Deno.makeTempDir({ prefix: "shearwater_ckpt_pull_lock_" });
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    await migrate(store, { extraMonths: ["2026-11"] });
    const a = await ensureDataDir(`${root}/a`);
    const b = await ensureDataDir(`${root}/b`);
    await writeLog(a.currentLog, [...sessionRecords(SESSION, { firstSeq: 1, messages: 40 })]);
    const storeA = new CheckpointStore(a.checkpointsDir);
    const created = await storeA.create({
      logPath: a.currentLog,
      endOffset: (await Deno.stat(a.currentLog)).size,
      trigger: "manual",
      label: null,
      parentCheckpoint: null,
    });
    await pushCheckpoint(store, storeA, "origin-a", created.id);

    const storeB = new CheckpointStore(b.checkpointsDir);
    let release!: () => void;
    let held!: () => void;
    const lockHeld = new Promise<void>((resolve) => held = resolve);
    const holding = storeB.withLock(() => {
      held();
      return new Promise<void>((resolve) => release = resolve);
    });
    await lockHeld;
    let pullDone = false;
    const pulling = pullCheckpoint(store, storeB, created.id).then((result) => {
      pullDone = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assertEquals(pullDone, false, "pull went on while another holder had the store lock");
    const segmentFiles = await Array.fromAsync(Deno.readDir(storeB.segmentsDir)).catch(
      (error) => error instanceof Deno.errors.NotFound ? [] : Promise.reject(error),
    );
    assertEquals(segmentFiles.length, 0, "pull wrote segments under another holder's lock");
    release();
    await holding;
    const pulled = await pulling;
    assertEquals(pulled.id, created.id);
    assertEquals(await storeB.verify(pulled.manifest), []);
  } finally {
    await store.close();
    await cluster.stop();
    await Deno.remove(root, { recursive: true });
  }
});
