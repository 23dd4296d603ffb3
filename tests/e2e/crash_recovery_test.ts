import { assert, assertEquals } from "../_assert.ts";
import type { LogRecord } from "../../src/store/record.ts";
import { readJournal } from "../../src/store/recovery_journal.ts";
import {
  brokerEndpoints,
  daemonStatus,
  messagesOn,
  readRecords,
  runCli,
  startDaemon,
  tempDir,
  waitFor,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name: "kill -9 during a burst, then restart: lines valid, seq increasing, gap and torn tail kept",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("crash", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      let daemon = rig.daemon;
      const logPath = `${dataDir}/current_session.jsonl`;
      await warmUp(publisher, dataDir);
      const payload = "x".repeat(2000);
      let killedAt = 0;
      const publishing = (async () => {
        for (let n = 0; n < 200_000 && killedAt === 0; n++) {
          await publisher.send(["burst", `${n} ${payload}`]);
        }
      })();
      await waitFor("the burst to be under way", async () => {
        const status = await daemonStatus(dataDir);
        return typeof status?.received === "number" && status.received > 2000;
      });
      const killed = await daemon.kill("SIGKILL");
      killedAt = Date.now();
      assertEquals(killed.signal, "SIGKILL");
      await publishing;
      const sizeAfterKill = (await Deno.stat(logPath)).size;
      // Make the tail torn for certain: half of a record, as a crash mid-write leaves it.
      const torn = new TextEncoder().encode('{"v":1,"seq":999999999,"type":"message","sess');
      await Deno.writeFile(logPath, torn, { append: true });

      daemon = await rig.restartDaemon();
      const baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 100; i++) await publisher.send(["after", `after ${i}`]);
      await waitForDurable(dataDir, baseline, 100);
      assertEquals((await daemon.kill("SIGTERM")).code, 0);

      const records = await readRecords(logPath); // throws on any invalid line
      for (let i = 1; i < records.length; i++) {
        assert(records[i]!.seq > records[i - 1]!.seq, `seq not increasing at record ${i}`);
      }
      const gaps = records.filter((record) => record.type === "gap");
      assertEquals(gaps.length, 1);
      const gap = gaps[0]!;
      assertEquals(gap.reason, "daemon stopped without a clean shutdown");
      assert(Date.parse(gap.from as string) <= Date.parse(gap.to as string), "gap window ordered");
      const setAside = gap.set_aside as { path: string; bytes: number };
      assert(setAside.bytes >= torn.length, "the torn bytes were set aside");
      const kept = await Deno.readFile(setAside.path);
      assertEquals(kept.length, setAside.bytes);
      assertEquals([...kept.subarray(kept.length - torn.length)], [...torn]);
      assertEquals(setAside.path.startsWith(`${dataDir}/recovery/`), true);
      assert(sizeAfterKill - (setAside.bytes - torn.length) > 0, "recorded data kept");
      assertEquals(messagesOn(records, "after").length, 100);
      // Before the crash every burst message is there, in order. After the restart, messages
      // still queued in the publisher and broker arrive too: in order, with the crash's gap.
      const gapSeq = gap.seq;
      const burstNumber = (r: LogRecord) => Number((r.frames as string[])[1]!.split(" ")[0]);
      const beforeCrash = messagesOn(records, "burst").filter((r) => r.seq < gapSeq).map(
        burstNumber,
      );
      beforeCrash.forEach((n, i) =>
        assertEquals(n, i, `burst message ${i} recorded before the crash`)
      );
      const afterCrash = messagesOn(records, "burst").filter((r) => r.seq > gapSeq).map(
        burstNumber,
      );
      for (let i = 1; i < afterCrash.length; i++) {
        assert(afterCrash[i]! > afterCrash[i - 1]!, "burst messages after the restart in order");
      }
      assert(
        afterCrash.length === 0 || afterCrash[0]! > beforeCrash.at(-1)!,
        "nothing recorded twice",
      );
      const { entries } = await readJournal(`${dataDir}/recovery/crash_recovery.jsonl`);
      assert(entries.some((entry) => entry.event === "recovered"), "journal notes the recovery");
      assertEquals(entries.at(-1)?.event, "stop");
    });
  },
});

Deno.test({
  name: "a corrupted last record is detected by checksum, set aside and truncated",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("bitflip", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      let daemon = rig.daemon;
      const logPath = `${dataDir}/current_session.jsonl`;
      const baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 10; i++) await publisher.send(["t", `message ${i}`]);
      await waitForDurable(dataDir, baseline, 10);
      await daemon.kill("SIGKILL");
      const bytes = await Deno.readFile(logPath);
      const lastLineStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
      bytes[lastLineStart + 20] = bytes[lastLineStart + 20]! ^ 0x01; // one flipped bit
      await Deno.writeFile(logPath, bytes);

      daemon = await rig.restartDaemon();
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const records = await readRecords(logPath);
      const gap = records.find((record) => record.type === "gap")!;
      const setAside = gap.set_aside as { path: string; bytes: number; reason: string };
      assert(setAside.reason.includes("checksum mismatch"), setAside.reason);
      assertEquals(setAside.bytes, bytes.length - lastLineStart);
      assertEquals([...await Deno.readFile(setAside.path)], [...bytes.subarray(lastLineStart)]);
    });
  },
});

Deno.test({
  name: "a second daemon on the same data dir is refused with the running one's PID",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("lock");
    const endpoints = brokerEndpoints();
    const dataDir = `${dir.path}/data`;
    const daemon = await startDaemon(dataDir, endpoints.backend);
    try {
      const second = await runCli([
        "daemon",
        "--data-dir",
        dataDir,
        "--backend",
        endpoints.backend,
      ]);
      assertEquals(second.code, 3);
      assert(
        second.stderr.includes(`daemon PID ${daemon.child.pid}`),
        `stderr names the PID: ${second.stderr}`,
      );
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "SIGTERM stops the daemon cleanly within 2 s, with everything flushed",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("sigterm", { daemonArgs: ["--sync-ms", "1000"] }, async (rig) => {
      const { dataDir, publisher } = rig;
      const daemon = rig.daemon;
      const baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 500; i++) await publisher.send(["t", `message ${i}`]);
      await waitFor("500 messages received", async () => {
        const status = await daemonStatus(dataDir);
        return (status?.received as number) >= baseline + 500;
      });
      const deadline = setTimeout(() => daemon.child.kill("SIGKILL"), 2000);
      const status = await daemon.kill("SIGTERM");
      clearTimeout(deadline);
      assertEquals(status.code, 0, "exited by itself with 0 before the 2 s deadline");
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      assertEquals(messagesOn(records, "t").length, 500);
      assertEquals(records.at(-1)?.type, "shutdown");
      const { entries } = await readJournal(`${dataDir}/recovery/crash_recovery.jsonl`);
      assertEquals(entries.at(-1)?.event, "stop");
      assertEquals(entries.at(-1)?.durable_seq, records.at(-1)?.seq);
      const modes = [dataDir, `${dataDir}/recovery`, `${dataDir}/current_session.jsonl`]
        .map((path) => Deno.statSync(path).mode! & 0o777);
      assertEquals(modes, [0o700, 0o700, 0o600]);
    });
  },
});
