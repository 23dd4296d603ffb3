import { sendControlRequest } from "../../src/control/client.ts";
import { dataDirLayout } from "../../src/store/data_dir.ts";
import type { LogRecord } from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";
import {
  runCli,
  waitFor,
  waitForDurable,
  waitForIndexed,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";
import { assertSeqOrder, readAllLogs } from "../log_fixtures.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const FIXTURES = new URL("../fixtures/import/", import.meta.url).pathname.replace(/\/$/, "");

async function allLogs(dataDir: string): Promise<LogRecord[][]> {
  return await readAllLogs(dataDirLayout(dataDir));
}

Deno.test({
  name: "import beside a running daemon takes its seqs from it, and the bus goes on after them",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("import_daemon", {}, async (rig) => {
      const baseline = await warmUp(rig.publisher, rig.dataDir);
      for (let i = 0; i < 3; i++) await rig.publisher.send(["chat", `before import ${i}`]);
      await waitForDurable(rig.dataDir, baseline, 3);

      const result = await runCli(["import", FIXTURES, "--data-dir", rig.dataDir, "--json"]);
      assertEquals(result.code, 0, result.stderr);
      const output = JSON.parse(result.stdout);
      assertEquals(output.daemon, true);
      const imported = output.files as { first_seq: number; last_seq: number }[];
      assertEquals(imported.length, 3);

      for (let i = 0; i < 3; i++) await rig.publisher.send(["chat", `after import ${i}`]);
      await waitForDurable(rig.dataDir, baseline, 6);

      const logs = await allLogs(rig.dataDir);
      assertSeqOrder(logs);
      const current = logs.at(-1)!;
      const chat = current.filter((record) => record.topic === "chat");
      const lastImported = Math.max(...imported.map((file) => file.last_seq));
      const firstImported = Math.min(...imported.map((file) => file.first_seq));
      for (const record of chat) {
        const text = (record.frames as string[])[1]!;
        if (text.startsWith("before")) assert(record.seq < firstImported, `${text} #${record.seq}`);
        else assert(record.seq > lastImported, `${text} #${record.seq} after ${lastImported}`);
      }

      // The daemon's indexer picks the archived sessions up: a tool_result word is found.
      await waitForIndexed(rig.dataDir);
      await waitFor("the imported sessions to be indexed", async () => {
        const found = await runCli(["search", "barnacle", "--data-dir", rig.dataDir, "--json"]);
        return found.code === 0 && JSON.parse(found.stdout).count === 1;
      });

      // Again, through the daemon: nothing added.
      const again = await runCli(["import", FIXTURES, "--data-dir", rig.dataDir, "--json"]);
      assertEquals(again.code, 0, again.stderr);
      assertEquals(
        (JSON.parse(again.stdout).files as { imported: number }[]).map((file) => file.imported),
        [0, 0, 0],
      );
    });
  },
});

Deno.test({
  name: "seqs reserved for an import are never reused after the daemon is killed",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("import_reserve_kill", {}, async (rig) => {
      await warmUp(rig.publisher, rig.dataDir);
      const socket = `${rig.dataDir}/control.sock`;
      const reserved = await sendControlRequest(socket, {
        cmd: "reserve-seqs",
        count: 1000,
        reason: "test",
      });
      assert(reserved.ok, JSON.stringify(reserved));
      // Killed before writing anything past the reservation: only the journal knows of it.
      await rig.daemon.kill("SIGKILL");
      await rig.restartDaemon();
      const restarted = await warmUp(rig.publisher, rig.dataDir);
      await rig.publisher.send(["chat", "after restart"]);
      await waitForDurable(rig.dataDir, restarted, 1);
      await waitFor("the message after the restart", async () => {
        const records = (await allLogs(rig.dataDir)).flat();
        return records.some((record) => record.topic === "chat");
      });
      const records = (await allLogs(rig.dataDir)).flat();
      const after = records.filter((record) => record.seq > reserved.first - 1);
      assert(after.length > 0);
      for (const record of after) {
        assert(record.seq > reserved.last, `#${record.seq} reuses a reserved seq`);
      }
    });
  },
});

Deno.test({
  name: "imports run at the same time beside a daemon add each line once",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("import_daemon_concurrent", {}, async (rig) => {
      const runs = await Promise.all(
        [1, 2, 3].map(() => runCli(["import", FIXTURES, "--data-dir", rig.dataDir, "--json"])),
      );
      assertEquals(runs.map((run) => run.code), [0, 0, 0], runs.map((run) => run.stderr).join(""));
      const imported = runs.map((run) =>
        (JSON.parse(run.stdout).files as { imported: number }[])
          .reduce((sum, file) => sum + file.imported, 0)
      );
      assertEquals(imported.sort(), [0, 0, 17]);
      const logs = await allLogs(rig.dataDir);
      assertSeqOrder(logs);
      assertEquals(
        logs.flat().filter((record) => record.topic?.toString().startsWith("import/")).length,
        17,
      );
    });
  },
});
