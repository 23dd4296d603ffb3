import { assert, assertEquals } from "../_assert.ts";
import type { LogRecord } from "../../src/store/record.ts";
import {
  daemonStatus,
  messagesOn,
  readRecords,
  runCli,
  waitFor,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

async function cliJson(args: string[]): Promise<Record<string, unknown>> {
  const result = await runCli([...args, "--json"]);
  assertEquals(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function payloadsOf(records: LogRecord[]): string[] {
  return records.map((record) => (record.frames as string[])[1]!);
}

Deno.test({
  name: "checkpoint create → load round trip is byte-exact, while the daemon keeps recording",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "cp_roundtrip",
      { daemonArgs: ["--checkpoint-every", "0"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        const daemon = rig.daemon;
        let baseline = await warmUp(publisher, dataDir);
        const firstPayloads: string[] = [];
        for (let i = 0; i < 300; i++) {
          const payload = JSON.stringify({ from: "claude", content: `first ${i} 🐦` });
          firstPayloads.push(payload);
          await publisher.send(["conv", payload]);
        }
        await publisher.send(["conv.bin", new Uint8Array([0xff, 0x00, 0xfe])]);
        await waitForDurable(dataDir, baseline, 301);
        const created = await cliJson([
          "checkpoint",
          "create",
          "--label",
          "first part",
          "--data-dir",
          dataDir,
        ]);
        const id = created.id as string;
        assertEquals(created.trigger, "manual");
        assertEquals(created.label, "first part");

        // More messages after the checkpoint, published while the load happens.
        const publishing = (async () => {
          for (let i = 0; i < 300; i++) await publisher.send(["later", `later ${i}`]);
        })();
        const loaded = await cliJson(["checkpoint", "load", id, "--yes", "--data-dir", dataDir]);
        await publishing;
        assertEquals(loaded.daemon, true);
        baseline = await warmUp(publisher, dataDir);
        for (let i = 0; i < 50; i++) await publisher.send(["after", `after ${i}`]);
        await waitForDurable(dataDir, baseline, 50);
        assertEquals((await daemon.kill("SIGTERM")).code, 0);

        const current = await readRecords(`${dataDir}/current_session.jsonl`);
        assertEquals(current[0]?.type, "session_start");
        assertEquals(current[0]?.parent_checkpoint, id);
        const originals = await readRecords(loaded.archived as string);
        const originalConv = messagesOn(originals, "conv");
        const restoredConv = messagesOn(current, "conv");
        assertEquals(payloadsOf(restoredConv), firstPayloads, "restored frames are byte-exact");
        restoredConv.forEach((record, i) => {
          assertEquals(record.meta, originalConv[i]!.meta);
          assertEquals(record.restored_from, {
            session: originals[0]!.session,
            seq: originalConv[i]!.seq,
          });
        });
        assertEquals(
          messagesOn(current, "conv.bin")[0]?.frames,
          messagesOn(originals, "conv.bin")[0]?.frames,
        );
        assertEquals(
          messagesOn(current, "after").length,
          50,
          "recording goes on into the restored session",
        );
        for (let i = 1; i < current.length; i++) assert(current[i]!.seq > current[i - 1]!.seq);
        assert(current[0]!.seq > originals.at(-1)!.seq, "seq continues across the fork");
        // Nothing published during the load is lost: it is in the old or the new session.
        const later = [...messagesOn(originals, "later"), ...messagesOn(current, "later")];
        assertEquals(later.length, 300);

        const before = await cliJson([
          "checkpoint",
          "show",
          loaded.before_load as string,
          "--data-dir",
          dataDir,
        ]);
        assertEquals(before.trigger, "before-load");
        assertEquals(before.session, originals[0]!.session);
      },
    );
  },
});

Deno.test({
  name:
    "automatic checkpoints by count, an emergency checkpoint on SIGTERM, lineage over two loads",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "cp_auto",
      { daemonArgs: ["--checkpoint-every", "100"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        let daemon = rig.daemon;
        const baseline = await warmUp(publisher, dataDir);
        for (let i = 0; i < 250; i++) await publisher.send(["t", `message ${i}`]);
        await waitForDurable(dataDir, baseline, 250);
        await waitFor("an automatic checkpoint", async () => {
          const list = await cliJson(["checkpoint", "list", "--data-dir", dataDir]);
          const autos = (list.checkpoints as { trigger: string }[]).filter((c) =>
            c.trigger === "auto"
          );
          return autos.length >= 1;
        });
        const moreBaseline = await warmUp(publisher, dataDir);
        for (let i = 0; i < 10; i++) await publisher.send(["t", `after the auto checkpoint ${i}`]);
        await waitForDurable(dataDir, moreBaseline, 10);
        assertEquals((await daemon.kill("SIGTERM")).code, 0);
        let list = (await cliJson(["checkpoint", "list", "--data-dir", dataDir])).checkpoints as {
          id: string;
          trigger: string;
          message_count: number;
        }[];
        assertEquals(list[0]?.trigger, "emergency", "the newest checkpoint is the emergency one");
        assert(list[0]!.message_count >= 250);

        // Lineage: load A, checkpoint B of the restored session, load B, checkpoint C.
        const a = list[0]!.id;
        await cliJson(["checkpoint", "load", a, "--yes", "--data-dir", dataDir]);
        const b = (await cliJson(["checkpoint", "create", "--data-dir", dataDir])).id as string;
        await cliJson(["checkpoint", "load", b, "--yes", "--data-dir", dataDir]);
        daemon = await rig.restartDaemon();
        const c = (await cliJson(["checkpoint", "create", "--data-dir", dataDir])).id as string;
        const shown = await cliJson(["checkpoint", "show", c, "--data-dir", dataDir]);
        assertEquals(shown.lineage, [b, a]);
        assertEquals((shown.last_messages as unknown[]).length, 5);
        list = (await cliJson(["checkpoint", "list", "--data-dir", dataDir]))
          .checkpoints as typeof list;
        assertEquals(list[0]?.id, c);
        const status = await daemonStatus(dataDir);
        assert(status !== undefined);
      },
    );
  },
});

Deno.test({
  name: "a damaged checkpoint is reported and the others still load; prune keeps the rules",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "cp_damage",
      { daemonArgs: ["--checkpoint-every", "0"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        const daemon = rig.daemon;
        const ids: string[] = [];
        for (let round = 0; round < 4; round++) {
          const baseline = await warmUp(publisher, dataDir);
          for (let i = 0; i < 20; i++) await publisher.send(["t", `round ${round} message ${i}`]);
          await waitForDurable(dataDir, baseline, 20);
          ids.push((await cliJson(["checkpoint", "create", "--data-dir", dataDir])).id as string);
        }
        assertEquals((await daemon.kill("SIGTERM")).code, 0);
        const victim = `${dataDir}/checkpoints/checkpoint_${ids[1]}.json`;
        const text = await Deno.readTextFile(victim);
        await Deno.writeTextFile(
          victim,
          text.replace(/"message_count": \d+/, '"message_count": 999999'),
        );

        const list = (await cliJson(["checkpoint", "list", "--data-dir", dataDir])).checkpoints as {
          id: string;
          damaged: boolean;
          reason?: string;
        }[];
        assertEquals(list.find((c) => c.id === ids[1])?.damaged, true);
        assert(list.find((c) => c.id === ids[1])?.reason?.includes("checksum"));
        const human = await runCli(["checkpoint", "list", "--data-dir", dataDir]);
        assert(human.stdout.includes("DAMAGED"), human.stdout);

        const verify = await runCli(["checkpoint", "verify", "--data-dir", dataDir, "--json"]);
        assertEquals(verify.code, 1);
        assertEquals(JSON.parse(verify.stdout).damaged, 1);
        const verifyOne = await runCli(["checkpoint", "verify", ids[2]!, "--data-dir", dataDir]);
        assertEquals(verifyOne.code, 0);
        const loadDamaged = await runCli([
          "checkpoint",
          "load",
          ids[1]!,
          "--yes",
          "--data-dir",
          dataDir,
        ]);
        assertEquals(loadDamaged.code, 1);
        const loadGood = await cliJson([
          "checkpoint",
          "load",
          ids[0]!,
          "--yes",
          "--data-dir",
          dataDir,
        ]);
        assertEquals(loadGood.loaded, ids[0]);

        const refused = await runCli(["checkpoint", "prune", "--keep", "1", "--data-dir", dataDir]);
        assertEquals(refused.code, 2, "no terminal and no --yes: refused");
        assert(refused.stderr.includes("--yes"), refused.stderr);
        const dry = await cliJson([
          "checkpoint",
          "prune",
          "--keep",
          "1",
          "--dry-run",
          "--data-dir",
          dataDir,
        ]);
        const wouldDelete = dry.would_delete as string[];
        const pruned = await cliJson([
          "checkpoint",
          "prune",
          "--keep",
          "1",
          "--yes",
          "--data-dir",
          dataDir,
        ]);
        assertEquals(pruned.deleted, wouldDelete);
        const left = (await cliJson(["checkpoint", "list", "--data-dir", dataDir])).checkpoints as {
          id: string;
          session: string;
          damaged: boolean;
        }[];
        const kept = left.filter((c) => !c.damaged);
        assertEquals(kept.length, 1, "only the newest (before-load) checkpoint is kept");
        assertEquals(kept[0]!.id, loadGood.before_load);
        assertEquals([...wouldDelete].sort(), [ids[0]!, ids[2]!, ids[3]!].sort());
        assert(left.some((c) => c.id === ids[1] && c.damaged), "damaged ones are never pruned");
      },
    );
  },
});
