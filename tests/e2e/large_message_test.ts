import { createHash } from "node:crypto";
import { assert, assertEquals } from "../_assert.ts";
import { decodeStoredFrames, type LogRecord, type StoredFrame } from "../../src/store/record.ts";
import {
  messagesOn,
  readRecords,
  runCli,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const encoder = new TextEncoder();

function sha256(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

async function sendSmall(rig: { publisher: { send(frames: string[]): Promise<void> } }, n: number) {
  for (let i = 0; i < n; i++) {
    await rig.publisher.send(["after", JSON.stringify({ from: "tester", content: `small ${i}` })]);
  }
}

function assertSmallAfter(records: LogRecord[], big: LogRecord, n: number): void {
  const after = messagesOn(records, "after");
  assertEquals(after.length, n);
  after.forEach((record, i) => {
    assert(record.seq > big.seq, `small message ${i} recorded before the big one`);
    assertEquals(JSON.parse((record.frames as string[])[1]!).content, `small ${i}`);
  });
}

Deno.test({
  name:
    "daemon stores frames over --blob-threshold-bytes as blobs, byte-exact, and `show` prints them",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "blobs",
      { daemonArgs: ["--blob-threshold-bytes", "65536"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        const text = encoder.encode("answer:\n" + "line of a long answer\n".repeat(150_000));
        const binary = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7919) & 0xff);
        const baseline = await warmUp(publisher, dataDir);
        await publisher.send([encoder.encode("big.text"), text]);
        await publisher.send([encoder.encode("big.bin"), binary, binary]);
        await sendSmall(rig, 20);
        await waitForDurable(dataDir, baseline, 22);
        assertEquals((await rig.daemon.kill("SIGTERM")).code, 0);

        const records = await readRecords(`${dataDir}/current_session.jsonl`);
        const blobDir = `${dataDir}/blobs`;
        const [bigText] = messagesOn(records, "big.text");
        const [bigBin] = messagesOn(records, "big.bin");
        assertEquals(decodeStoredFrames(bigText!.frames as StoredFrame[], { blobDir }), [
          encoder.encode("big.text"),
          text,
        ]);
        assertEquals(
          decodeStoredFrames(bigBin!.frames as StoredFrame[], { blobDir }).map((f) => sha256(f)),
          [sha256(encoder.encode("big.bin")), sha256(binary), sha256(binary)],
        );
        assertEquals((bigText!.frames as unknown[])[1], {
          blob: sha256(text),
          bytes: text.length,
          head: new TextDecoder().decode(text.subarray(0, 4096)),
        });
        assertEquals((bigText!.meta as { format: string }).format, "text");
        const logBytes = (await Deno.stat(`${dataDir}/current_session.jsonl`)).size;
        assert(logBytes < 256 * 1024, `log is ${logBytes} bytes: the big frames went into it`);
        assertEquals((await Deno.stat(blobDir)).mode! & 0o777, 0o700);
        const blobs = [...Deno.readDirSync(blobDir)].map((entry) => entry.name).sort();
        assertEquals(blobs, [sha256(text), sha256(binary)].sort()); // the same frame stored once
        for (const name of blobs) {
          assertEquals((await Deno.stat(`${blobDir}/${name}`)).mode! & 0o777, 0o600);
        }
        assertSmallAfter(records, bigBin!, 20);

        const shown = await runCli(["show", String(bigText!.seq), "--data-dir", dataDir]);
        assertEquals(shown.code, 0, shown.stderr);
        assert(shown.stdout.includes(`blob ${sha256(text)}`), shown.stdout.slice(0, 400));
        const printed = shown.stdout.split("\n").filter((line) =>
          line === "    line of a long answer"
        );
        assertEquals(printed.length, 150_000);
        const raw = await runCli(["show", String(bigText!.seq), "--raw", "--data-dir", dataDir]);
        assertEquals(raw.code, 0, raw.stderr);
        assert(raw.stdout.length < 16 * 1024 && raw.stdout.includes(`"blob":"${sha256(text)}"`));

        await Deno.remove(`${blobDir}/${sha256(binary)}`);
        const lost = await runCli(["show", String(bigBin!.seq), "--data-dir", dataDir]);
        assertEquals(lost.code, 1, lost.stderr);
        assert(lost.stderr.includes(`Cannot read blob ${sha256(binary)}`), lost.stderr);
        assert(!lost.stderr.includes("internal error"), lost.stderr);
      },
    );
  },
});

Deno.test({
  name: "daemon records a 320 MB frame through a blob and keeps recording the messages after it",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("blob_huge", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      const huge = new Uint8Array(320 * 1024 * 1024);
      for (let i = 0; i < huge.length; i += 1000) huge[i] = (i / 1000) & 0xff;
      const expected = sha256(huge);
      const baseline = await warmUp(publisher, dataDir);
      await publisher.send([encoder.encode("huge"), huge]);
      await sendSmall(rig, 10);
      await waitForDurable(dataDir, baseline, 11, 120_000);
      assertEquals((await rig.daemon.kill("SIGTERM")).code, 0);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      const [big] = messagesOn(records, "huge");
      assertEquals((big!.frames as unknown[])[1], { blob: expected, bytes: huge.length });
      const frames = decodeStoredFrames(big!.frames as StoredFrame[], {
        blobDir: `${dataDir}/blobs`,
      });
      assertEquals(sha256(frames[1]!), expected); // decodeStoredFrames checked it too
      assertSmallAfter(records, big!, 10);
    });
  },
});

Deno.test({
  name: "daemon keeps a message over --max-message-bytes as an oversized record and goes on",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "oversized",
      { daemonArgs: ["--max-message-bytes", "100000"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        const payload = new Uint8Array(150_000).map((_, i) => i & 0xff);
        const topic = encoder.encode("too.big");
        const baseline = await warmUp(publisher, dataDir);
        await publisher.send([topic, payload]);
        await sendSmall(rig, 5);
        await waitForDurable(dataDir, baseline, 6);
        assertEquals((await rig.daemon.kill("SIGTERM")).code, 0);
        const records = await readRecords(`${dataDir}/current_session.jsonl`);
        const oversized = records.filter((record) => record.type === "oversized");
        assertEquals(oversized.length, 1);
        const record = oversized[0]!;
        assertEquals(record.topic, "too.big");
        assertEquals(record.bytes, 150_007);
        assertEquals(record.max_message_bytes, 100_000);
        assertEquals(record.frame_bytes, [7, 150_000]);
        assertEquals(record.sha256, sha256(topic, payload));
        const head = Uint8Array.from(atob(record.head_b64 as string), (c) => c.charCodeAt(0));
        assertEquals(head, Uint8Array.of(...topic, ...payload.subarray(0, 4096 - 7)));
        assertEquals(messagesOn(records, "too.big").length, 0);
        assertSmallAfter(records, record, 5);
      },
    );
  },
});

Deno.test({
  name: "daemon checkpoint create → verify → load carries a blob, and verify reports it altered",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("blob_cp", {
      daemonArgs: ["--blob-threshold-bytes", "4096", "--checkpoint-every", "0"],
    }, async (rig) => {
      const { dataDir, publisher } = rig;
      const big = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
      const sha = sha256(big);
      let baseline = await warmUp(publisher, dataDir);
      await publisher.send([encoder.encode("big.bin"), big]);
      await waitForDurable(dataDir, baseline, 1);
      const created = await runCli(["checkpoint", "create", "--json", "--data-dir", dataDir]);
      assertEquals(created.code, 0, created.stderr);
      const manifest = JSON.parse(created.stdout);
      assertEquals(manifest.blobs, [{ sha256: sha, bytes: big.length }]);
      const verified = await runCli(["checkpoint", "verify", manifest.id, "--data-dir", dataDir]);
      assertEquals(verified.code, 0, verified.stdout + verified.stderr);

      await Deno.remove(`${dataDir}/blobs/${sha}`); // the checkpoint's own copy must suffice
      const loaded = await runCli([
        "checkpoint",
        "load",
        manifest.id,
        "--yes",
        "--data-dir",
        dataDir,
      ]);
      assertEquals(loaded.code, 0, loaded.stderr);
      baseline = await warmUp(publisher, dataDir);
      await sendSmall(rig, 3);
      await waitForDurable(dataDir, baseline, 3);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      const [restored] = messagesOn(records, "big.bin");
      assert(restored?.restored_from !== undefined, "the big message was restored");
      const frames = decodeStoredFrames(restored.frames as StoredFrame[], {
        blobDir: `${dataDir}/blobs`,
      });
      assertEquals(sha256(frames[1]!), sha);

      const carried = `${dataDir}/checkpoints/blobs/${sha}`;
      const altered = big.slice();
      altered[0] = altered[0]! ^ 1;
      await Deno.remove(carried);
      await Deno.writeFile(carried, altered);
      const damaged = await runCli(["checkpoint", "verify", manifest.id, "--data-dir", dataDir]);
      assert(damaged.code !== 0, "verify of an altered blob must fail");
      assert(
        (damaged.stdout + damaged.stderr).includes(`blob ${sha.slice(0, 12)} is damaged`),
        damaged.stdout + damaged.stderr,
      );
    });
  },
});

Deno.test({
  name: "daemon keeps a message as oversized when its blob cannot be written, and goes on",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "blob_fail",
      { daemonArgs: ["--blob-threshold-bytes", "4096"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        await Deno.writeTextFile(`${dataDir}/blobs`, "a file where the blob folder should be");
        const big = new Uint8Array(50_000).fill(0xfe);
        const baseline = await warmUp(publisher, dataDir);
        await publisher.send([encoder.encode("big.bin"), big]);
        await sendSmall(rig, 5);
        await waitForDurable(dataDir, baseline, 6);
        assertEquals((await rig.daemon.kill("SIGTERM")).code, 0);
        const records = await readRecords(`${dataDir}/current_session.jsonl`);
        const [record] = records.filter((r) => r.type === "oversized");
        assertEquals(record?.sha256, sha256(encoder.encode("big.bin"), big));
        assert(
          (record!.reason as string).includes("could not be written as a blob"),
          String(record!.reason),
        );
        assertSmallAfter(records, record!, 5);
        assert(
          (await Deno.readTextFile(rig.daemon.logPath)).includes("blob_write_failed"),
          "the daemon logs the failure",
        );
      },
    );
  },
});
