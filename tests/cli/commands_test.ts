import { assert, assertEquals } from "../_assert.ts";
import {
  brokerEndpoints,
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
  name: "status, new-session and stop drive a running daemon (--json)",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("cli", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      const daemon = rig.daemon;
      let baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 50; i++) await publisher.send(["first", `first ${i}`]);
      await waitForDurable(dataDir, baseline, 50);

      const status = await runCli(["status", "--data-dir", dataDir, "--json"]);
      assertEquals(status.code, 0);
      const parsed = JSON.parse(status.stdout);
      assertEquals([parsed.running, parsed.pid], [true, daemon.child.pid]);
      const firstSession = parsed.session as string;

      const rotated = await runCli(["new-session", "--data-dir", dataDir, "--json"]);
      assertEquals(rotated.code, 0, rotated.stderr);
      const answer = JSON.parse(rotated.stdout);
      assertEquals(answer.daemon, true);
      assert(answer.session !== firstSession, "a new session id");
      assert((answer.archived as string).endsWith(`archive/session_${firstSession}.jsonl`));

      baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 50; i++) await publisher.send(["second", `second ${i}`]);
      await waitForDurable(dataDir, baseline, 50);

      const stop = await runCli(["stop", "--data-dir", dataDir, "--json"]);
      assertEquals(stop.code, 0, stop.stderr);
      assertEquals(JSON.parse(stop.stdout).stopped, true);
      assertEquals((await daemon.child.status).code, 0);

      const archived = await readRecords(answer.archived);
      const current = await readRecords(`${dataDir}/current_session.jsonl`);
      assertEquals(messagesOn(archived, "first").length, 50);
      assertEquals(archived.at(-1)?.type, "session_end");
      assertEquals(current[0]?.type, "session_start");
      assertEquals(current[0]?.previous_session, firstSession);
      assertEquals(messagesOn(current, "second").length, 50);
      assert(current[0]!.seq > archived.at(-1)!.seq, "seq continues across sessions");
      assert(current.every((record) => record.session === answer.session));

      const after = await runCli(["status", "--data-dir", dataDir]);
      assertEquals(after.code, 4);
      assert(after.stdout.includes("No daemon is running"), after.stdout);
    });
  },
});

Deno.test({
  name: "new-session without a daemon archives the log and the next daemon continues the seq",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_offline");
    const endpoints = brokerEndpoints();
    const dataDir = `${dir.path}/data`;
    let daemon = await startDaemon(dataDir, endpoints.backend);
    try {
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const before = await readRecords(`${dataDir}/current_session.jsonl`);
      const rotated = await runCli(["new-session", "--data-dir", dataDir, "--json"]);
      assertEquals(rotated.code, 0, rotated.stderr);
      const answer = JSON.parse(rotated.stdout);
      assertEquals(answer.daemon, false);
      const archived = await readRecords(answer.archived);
      assertEquals(archived.length, before.length + 1);
      assertEquals(archived.at(-1)?.type, "session_end");
      await waitFor("no current log", async () => {
        try {
          await Deno.stat(`${dataDir}/current_session.jsonl`);
          return false;
        } catch {
          return true;
        }
      });
      daemon = await startDaemon(dataDir, endpoints.backend);
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const current = await readRecords(`${dataDir}/current_session.jsonl`);
      assertEquals(current[0]?.type, "session_start");
      assert(current[0]!.seq > archived.at(-1)!.seq, "seq continues after an offline archive");
      assert(current[0]!.session !== archived[0]!.session, "a new session");
      assertEquals(current.some((record) => record.type === "gap"), false, "clean stop: no gap");
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test("stop and status report exit 4 when no daemon runs", async () => {
  const dir = await tempDir("cli_none");
  try {
    const stop = await runCli(["stop", "--data-dir", dir.path, "--json"]);
    assertEquals(stop.code, 4);
    assertEquals(JSON.parse(stop.stdout), { stopped: false, running: false });
    const status = await runCli(["status", "--data-dir", dir.path, "--json"]);
    assertEquals(status.code, 4);
    assertEquals(JSON.parse(status.stdout).running, false);
  } finally {
    await dir.cleanup();
  }
});
