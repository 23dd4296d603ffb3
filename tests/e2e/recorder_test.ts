import { assert, assertEquals } from "../_assert.ts";
import { decodeStoredFrames, type StoredFrame } from "../../src/store/record.ts";
import { messagesOn, readRecords, waitForDurable, warmUp, withRecordingRig } from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name: "daemon records 10,000 messages exactly and in order",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("order", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      const daemon = rig.daemon;
      const baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 10_000; i++) {
        await publisher.send(["bulk", JSON.stringify({ from: "tester", n: i, content: `m${i}` })]);
      }
      await waitForDurable(dataDir, baseline, 10_000);
      const status = await daemon.kill("SIGTERM");
      assertEquals(status.code, 0);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      const bulk = messagesOn(records, "bulk");
      assertEquals(bulk.length, 10_000);
      bulk.forEach((record, i) => {
        const payload = JSON.parse((record.frames as string[])[1]!);
        assertEquals(payload.n, i);
        assertEquals((record.meta as { sender: string }).sender, "tester");
      });
      for (let i = 1; i < records.length; i++) {
        assert(records[i]!.seq > records[i - 1]!.seq, `seq not increasing at line ${i}`);
      }
    });
  },
});

Deno.test({
  name: "daemon records binary, non-JSON, empty, 8 MB and 50-frame messages losslessly",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("lossless", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      const daemon = rig.daemon;
      const big = new Uint8Array(8 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff; // not valid UTF-8
      const bom = new TextEncoder().encode("\uFEFFtext with a BOM");
      const sent: Uint8Array[][] = [
        [bytes("odd"), new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3])],
        [bytes("odd"), bytes("plain text, not JSON { at all")],
        [bytes("odd"), new Uint8Array(0)],
        [bytes("odd")],
        [bytes("odd"), big],
        [bytes("odd"), ...Array.from({ length: 49 }, (_, i) => bytes(`frame ${i}`))],
        [bytes("odd"), bom],
        [bytes("odd"), bytes('{"broken json": ')],
        [bytes("odd"), bytes("emoji 🐦 and \u0000 nul")],
      ];
      const baseline = await warmUp(publisher, dataDir);
      for (const frames of sent) await publisher.send(frames);
      await waitForDurable(dataDir, baseline, sent.length);
      await daemon.kill("SIGTERM");
      const odd = messagesOn(await readRecords(`${dataDir}/current_session.jsonl`), "odd");
      assertEquals(odd.length, sent.length);
      odd.forEach((record, i) => {
        const frames = decodeStoredFrames(record.frames as StoredFrame[], {
          blobDir: `${dataDir}/blobs`,
        });
        assertEquals(frames.length, sent[i]!.length, `frame count of message ${i}`);
        frames.forEach((frame, f) =>
          assert(equalBytes(frame, sent[i]![f]!), `message ${i} frame ${f}`)
        );
      });
      assertEquals((odd[0]!.frames as unknown[])[1], { b64: "//4AgMM=" });
      assertEquals(((odd[4]!.frames as unknown[])[1] as { bytes: number }).bytes, big.length);
      assertEquals((odd[0]!.meta as { format: string }).format, "binary");
      assertEquals((odd[1]!.meta as { format: string }).format, "text");
    });
  },
});

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test({
  name: "daemon records only --topic prefixes and skips --exclude globs",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("topics", {
      daemonArgs: ["--topic", "agent.", "--topic", "warmup", "--exclude", "agent.noise*"],
    }, async (rig) => {
      const { dataDir, publisher } = rig;
      const daemon = rig.daemon;
      const baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 10; i++) {
        await publisher.send(["agent.claude", `keep ${i}`]);
        await publisher.send(["agent.noise.tick", `drop ${i}`]);
        await publisher.send(["other", `not subscribed ${i}`]);
      }
      await publisher.send(["agent.done", "last"]);
      await waitForDurable(dataDir, baseline, 11);
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      const topics = new Set(records.filter((r) => r.type === "message").map((r) => r.topic));
      assertEquals([...topics].sort(), ["agent.claude", "agent.done", "warmup"]);
      assertEquals(messagesOn(records, "agent.claude").length, 10);
      const shutdown = records.at(-1)!;
      assertEquals(shutdown.excluded, 10);
    });
  },
});
