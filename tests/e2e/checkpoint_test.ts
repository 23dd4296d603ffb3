import { assert, assertEquals } from "../_assert.ts";
import { sendControlRequest } from "../../src/control/client.ts";
import { ExitCode } from "../../src/errors.ts";
import { type CheckpointManifest, SEGMENT_RECORDS } from "../../src/store/checkpoint_store.ts";
import type { LogRecord } from "../../src/store/record.ts";
import {
  chatRecord,
  concatBytes,
  encodeLines,
  sessionRecords,
  withDataDir,
} from "../log_fixtures.ts";
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
        // A failure is an error on stderr (the top level prints it), never output on stdout.
        assertEquals(loadDamaged.stdout, "");
        assert(
          loadDamaged.stderr.startsWith(`error: Cannot load checkpoint ${ids[1]}: `),
          loadDamaged.stderr,
        );
        const showDamaged = await runCli(["checkpoint", "show", ids[1]!, "--data-dir", dataDir]);
        assertEquals(showDamaged.code, 1);
        assertEquals(showDamaged.stdout, "");
        assert(
          showDamaged.stderr.startsWith(`error: Checkpoint ${ids[1]} is damaged: `),
          showDamaged.stderr,
        );
        const showDamagedJson = await runCli([
          "checkpoint",
          "show",
          ids[1]!,
          "--json",
          "--data-dir",
          dataDir,
        ]);
        assertEquals(showDamagedJson.code, 1);
        assertEquals(JSON.parse(showDamagedJson.stdout).damaged, true);
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

// ---------------------------------------------------------------------------------------------
// Offline checkpoints of a data dir written here (no daemon): real CLI processes, real files.

const SESSION = "20261125_133107_959e";

/** A data dir whose current session holds `messages` chat messages. */
async function withSessionDataDir(
  messages: number,
  fn: (dataDir: string, lines: Uint8Array[]) => Promise<void>,
): Promise<void> {
  await withDataDir(async (layout) => {
    const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages }));
    await Deno.writeFile(layout.currentLog, concatBytes(lines), { mode: 0o600 });
    await fn(layout.root, lines);
  });
}

/** The file of segment `sha256`: `.jsonl.zst` as written now, or an older plain `.jsonl`. */
function segmentFileIn(dataDir: string, sha256: string): string {
  const plain = `${dataDir}/checkpoints/segments/${sha256}.jsonl`;
  try {
    Deno.statSync(`${plain}.zst`);
    return `${plain}.zst`;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return plain;
  }
}

async function flipSegmentByte(dataDir: string, sha256: string, offset: number): Promise<void> {
  const path = segmentFileIn(dataDir, sha256);
  const bytes = await Deno.readFile(path);
  bytes[offset] = bytes[offset]! ^ 0x01;
  await Deno.writeFile(path, bytes);
}

async function createJson(dataDir: string): Promise<CheckpointManifest> {
  return await cliJson([
    "checkpoint",
    "create",
    "--data-dir",
    dataDir,
  ]) as unknown as CheckpointManifest;
}

Deno.test("checkpoint create rewrites a shared segment with a flipped byte; verify then says ok", async () => {
  await withSessionDataDir(SEGMENT_RECORDS + 100, async (dataDir, lines) => {
    const first = await createJson(dataDir);
    await flipSegmentByte(dataDir, first.segments[0]!.sha256, 1000);
    const damaged = await runCli(["checkpoint", "verify", first.id, "--data-dir", dataDir]);
    assertEquals(damaged.code, 1, damaged.stdout);
    const log = `${dataDir}/current_session.jsonl`;
    await Deno.writeFile(
      log,
      concatBytes(encodeLines([chatRecord(lines.length + 1, SESSION, "one more")])),
      { append: true },
    );

    const created = await runCli(["checkpoint", "create", "--data-dir", dataDir]);
    assertEquals(created.code, 0, created.stderr);
    assert(created.stdout.includes("saved"), created.stdout);
    const verify = await runCli(["checkpoint", "verify", "--data-dir", dataDir]);
    assertEquals(verify.code, 0, verify.stdout);
    assert(verify.stdout.includes("2 checked, 0 damaged."), verify.stdout);
    assert(
      created.stderr.includes(`Rewrote segment ${first.segments[0]!.sha256.slice(0, 12)}`),
      created.stderr,
    );
  });
});

Deno.test("checkpoint create of a log with a damaged line says so: stderr, exit 7, manifest, list, show, verify", async () => {
  await withSessionDataDir(300, async (dataDir, lines) => {
    const log = `${dataDir}/current_session.jsonl`;
    const damaged = lines[57]!.slice();
    damaged[80] = damaged[80]! ^ 0x02;
    await Deno.writeFile(log, concatBytes([...lines.slice(0, 57), damaged, ...lines.slice(58)]));

    const created = await runCli(["checkpoint", "create", "--data-dir", dataDir, "--json"]);
    assertEquals(created.code, ExitCode.incomplete, created.stderr);
    assertEquals(ExitCode.incomplete, 7);
    assert(/incomplete: 1 damaged log line left out: seq 58 /.test(created.stderr), created.stderr);
    const manifest = JSON.parse(created.stdout) as CheckpointManifest;
    assertEquals(manifest.message_count, 299);
    assertEquals(manifest.omitted?.map((line) => [line.seq, line.after_seq, line.before_seq]), [[
      58,
      57,
      59,
    ]]);

    const list = await runCli(["checkpoint", "list", "--data-dir", dataDir]);
    assert(list.stdout.includes("299 msgs, 1 LEFT OUT |"), list.stdout);
    const listed = await cliJson(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals((listed.checkpoints as { incomplete: boolean }[])[0]?.incomplete, true);
    const show = await runCli(["checkpoint", "show", manifest.id, "--data-dir", dataDir]);
    assert(show.stdout.includes("INCOMPLETE 1 damaged log line left out: seq 58"), show.stdout);
    const verify = await runCli(["checkpoint", "verify", "--data-dir", dataDir]);
    assertEquals(verify.code, ExitCode.incomplete, verify.stdout);
    assert(verify.stdout.includes(`${manifest.id}: INCOMPLETE`), verify.stdout);
    assert(verify.stdout.includes("1 checked, 0 damaged, 1 incomplete."), verify.stdout);
  });
});

Deno.test("a checkpoint with a missing segment is listed as damaged, in the menu too, and prune keeps it", async () => {
  await withSessionDataDir(40, async (dataDir, lines) => {
    const log = `${dataDir}/current_session.jsonl`;
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const seq = lines.length + round + 1;
      ids.push((await createJson(dataDir)).id);
      await Deno.writeFile(
        log,
        concatBytes(encodeLines([chatRecord(seq, SESSION, `more ${round}`)])),
        { append: true },
      );
    }
    const manifest = await createJson(dataDir);
    // The oldest checkpoint's tail segment is shared by all of them: remove it.
    const first = (await cliJson([
      "checkpoint",
      "show",
      ids[0]!,
      "--data-dir",
      dataDir,
    ])) as unknown as CheckpointManifest;
    await Deno.remove(segmentFileIn(dataDir, first.segments[0]!.sha256));

    const list = await runCli(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals(list.code, 0);
    const damagedRows = list.stdout.split("\n").filter((row) => row.includes("DAMAGED: segment"));
    assertEquals(damagedRows.length, 4, list.stdout);
    assert(list.stdout.includes("is missing"), list.stdout);
    const menu = await runCli(["menu", "--data-dir", dataDir]);
    assert(menu.stdout.includes("DAMAGED: segment"), menu.stdout);

    const prune = await runCli([
      "checkpoint",
      "prune",
      "--keep",
      "1",
      "--yes",
      "--data-dir",
      dataDir,
    ]);
    assertEquals(prune.code, 0, prune.stderr);
    const left = await cliJson(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals(
      (left.checkpoints as { id: string }[]).map((c) => c.id),
      [...ids, manifest.id].reverse(),
      "nothing deleted",
    );
  });
});

Deno.test("prune keeps a checkpoint whose segment has a flipped byte, and says so", async () => {
  await withSessionDataDir(40, async (dataDir, lines) => {
    const log = `${dataDir}/current_session.jsonl`;
    const first = await createJson(dataDir);
    await Deno.writeFile(
      log,
      concatBytes(encodeLines([chatRecord(lines.length + 1, SESSION, "more")])),
      { append: true },
    );
    const second = await createJson(dataDir);
    await flipSegmentByte(dataDir, first.segments[0]!.sha256, 10);

    const prune = await runCli([
      "checkpoint",
      "prune",
      "--keep",
      "1",
      "--yes",
      "--data-dir",
      dataDir,
    ]);
    assertEquals(prune.code, 0, prune.stderr);
    assert(prune.stderr.includes(`Kept checkpoint ${first.id}: it is damaged`), prune.stderr);
    const left = await cliJson(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals((left.checkpoints as { id: string }[]).map((c) => c.id), [second.id, first.id]);
    const listed = await cliJson(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals(listed.full_verify_due, true, "never verified");
    const verify = await runCli(["checkpoint", "verify", "--data-dir", dataDir]);
    assertEquals(verify.code, 1);
    assertEquals(
      (await cliJson(["checkpoint", "list", "--data-dir", dataDir])).full_verify_due,
      false,
    );
  });
});

Deno.test("checkpoint create refuses a label with control characters with exit 2", async () => {
  await withSessionDataDir(5, async (dataDir) => {
    for (
      const label of [
        "\u001b[31mred\u001b]0;pwned\u0007",
        "clear\u001b[2J",
        "c1\u009b2J",
        "del\u007f",
      ]
    ) {
      const result = await runCli([
        "checkpoint",
        "create",
        "--label",
        label,
        "--data-dir",
        dataDir,
      ]);
      assertEquals(result.code, 2, `${JSON.stringify(label)}: ${result.stderr}`);
      assert(result.stderr.includes("control character"), result.stderr);
    }
    const list = await cliJson(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals(list.count, 0);
  });
});

Deno.test("20 parallel offline checkpoint creates all succeed: each waits for the lock", async () => {
  await withSessionDataDir(200, async (dataDir) => {
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        () => runCli(["checkpoint", "create", "--data-dir", dataDir, "--json"]),
      ),
    );
    for (const result of results) assertEquals(result.code, 0, result.stderr);
    const ids = new Set(results.map((result) => JSON.parse(result.stdout).id as string));
    assertEquals(ids.size, 20);
    const verify = await runCli(["checkpoint", "verify", "--data-dir", dataDir]);
    assertEquals(verify.code, 0, verify.stdout);
  });
});

Deno.test({
  name:
    "the daemon's retention keeps a damaged checkpoint; its control socket refuses a control-character label",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig(
      "cp_retention",
      { daemonArgs: ["--checkpoint-every", "40", "--checkpoint-keep", "1"] },
      async (rig) => {
        const { dataDir, publisher } = rig;
        const refused = await sendControlRequest(`${dataDir}/control.sock`, {
          cmd: "checkpoint",
          label: "\u001b]0;pwned\u0007",
        });
        assertEquals(refused.ok, false);
        assert(!refused.ok && refused.code === "invalid_label", JSON.stringify(refused));

        // Two manual checkpoints of the first session (fewer than 40 messages apart: no
        // automatic one), then damage the segment both share.
        const ids: string[] = [];
        for (let round = 0; round < 2; round++) {
          const baseline = await warmUp(publisher, dataDir);
          for (let i = 0; i < 10; i++) await publisher.send(["t", `first ${round} ${i}`]);
          await waitForDurable(dataDir, baseline, 10);
          ids.push((await cliJson(["checkpoint", "create", "--data-dir", dataDir])).id as string);
        }
        const older = await cliJson(["checkpoint", "show", ids[0]!, "--data-dir", dataDir]);
        const segment = (older.segments as { sha256: string }[])[0]!.sha256;
        const path = segmentFileIn(dataDir, segment);
        const bytes = await Deno.readFile(path);
        bytes[20] = bytes[20]! ^ 0x01;
        await Deno.writeFile(path, bytes);

        // A new session, then enough messages for an automatic checkpoint and retention
        // (keep 1): the older checkpoint of the first session is beyond it, but damaged.
        const rotated = await runCli(["new-session", "--data-dir", dataDir]);
        assertEquals(rotated.code, 0, rotated.stderr);
        const baseline = await warmUp(publisher, dataDir);
        for (let i = 0; i < 60; i++) await publisher.send(["t", `second ${i}`]);
        await waitForDurable(dataDir, baseline, 60);
        const listedIds = async () =>
          ((await cliJson(["checkpoint", "list", "--data-dir", dataDir])).checkpoints as {
            id: string;
          }[]).map((c) => c.id);
        // Retention has run once the warning is logged or the older checkpoint is gone.
        await waitFor(
          "retention after an automatic checkpoint",
          async () =>
            (await Deno.readTextFile(rig.daemon.logPath)).includes("damaged_checkpoint_kept") ||
            !(await listedIds()).includes(ids[0]!),
        );
        const left = await listedIds();
        assert(left.includes(ids[0]!), `${ids[0]} was deleted: ${left.join(", ")}`);
        assert(left.includes(ids[1]!));
      },
    );
  },
});
