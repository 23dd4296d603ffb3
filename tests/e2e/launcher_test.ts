import * as zmq from "zeromq";
import { assert, assertEquals } from "../_assert.ts";
import { ExitCode } from "../../src/errors.ts";
import { readJournal } from "../../src/store/recovery_journal.ts";
import {
  connectPublisher,
  daemonStatus,
  killLockHolder,
  readRecords,
  runCli,
  spawnCli,
  startTestBroker,
  tempDir,
  waitFor,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name: "launch starts the daemon on an agent, restarts it when killed, checkpoints and stops it",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("launch");
    const { endpoints, broker } = await startTestBroker();
    const dataDir = `${dir.path}/data`;
    const launcher = await spawnCli([
      "launch",
      "--data-dir",
      dataDir,
      "--frontend",
      endpoints.frontend,
      "--backend",
      endpoints.backend,
      "--grace-ms",
      "300",
      "--once",
      "--no-menu",
    ], `${dir.path}/launch.log`);
    const agent = new zmq.Subscriber({ linger: 0 });
    const publisher = connectPublisher(endpoints.frontend);
    try {
      await waitFor("the launcher to watch", async () => {
        return (await Deno.readTextFile(`${dir.path}/launch.log.out`).catch(() => ""))
          .includes("Watching");
      });
      assertEquals(await daemonStatus(dataDir), undefined, "no daemon before an agent");
      agent.subscribe("agent.test");
      agent.connect(endpoints.backend);
      await waitFor("the launcher to start the daemon", async () => {
        return (await daemonStatus(dataDir)) !== undefined;
      });
      const first = await daemonStatus(dataDir);
      await waitFor("messages to be recorded", async () => {
        await publisher.send(["agent.test", JSON.stringify({ from: "tester", content: "hi" })]);
        return ((await daemonStatus(dataDir))?.received as number) > 0;
      });

      Deno.kill(first!.pid as number, "SIGKILL");
      await waitFor("the supervisor to restart the daemon", async () => {
        const status = await daemonStatus(dataDir);
        return status !== undefined && status.pid !== first!.pid;
      }, 20_000);

      agent.unsubscribe("agent.test"); // the agent leaves
      const exit = await launcher.child.status;
      assertEquals(exit.code, 0, "launch --once exits after the session ended");
      assertEquals(await daemonStatus(dataDir), undefined, "the daemon was stopped");
      const list = await runCli(["checkpoint", "list", "--data-dir", dataDir, "--json"]);
      const triggers = (JSON.parse(list.stdout).checkpoints as { trigger: string }[])
        .map((c) => c.trigger);
      assertEquals(triggers[0], "session-end");
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      assert(records.some((r) => r.type === "gap"), "the restart recorded the gap");
      assertEquals(records.at(-1)?.type, "shutdown");
      const output = await Deno.readTextFile(`${dir.path}/launch.log.out`);
      for (
        const line of [
          "Agent detected",
          "Daemon started",
          "restarting it",
          "Session saved",
          "stopped gracefully",
        ]
      ) {
        assert(output.includes(line), `launcher said "${line}":\n${output}`);
      }
    } finally {
      publisher.close();
      await launcher.kill();
      await killLockHolder(`${dataDir}/daemon.lock`);
      await broker.stop();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "launch restarts a daemon that ended itself with a non-zero exit after a fatal error",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("launch_fatal");
    const { endpoints, broker } = await startTestBroker();
    const dataDir = `${dir.path}/data`;
    // The daemons the launcher spawns inherit its environment, the debug fault included.
    const launcher = await spawnCli(
      [
        "launch",
        "--data-dir",
        dataDir,
        "--frontend",
        endpoints.frontend,
        "--backend",
        endpoints.backend,
        "--no-menu",
      ],
      `${dir.path}/launch.log`,
      { env: { SHEARWATER_DEBUG_FAULT: "writer:boom" } },
    );
    const agent = new zmq.Subscriber({ linger: 0 });
    const publisher = connectPublisher(endpoints.frontend);
    try {
      agent.subscribe("agent.test");
      agent.connect(endpoints.backend);
      await waitFor("the launcher to start the daemon", async () => {
        return (await daemonStatus(dataDir)) !== undefined;
      }, 20_000);
      const first = await daemonStatus(dataDir);
      await waitFor("messages to be recorded", async () => {
        await publisher.send(["agent.test", JSON.stringify({ from: "tester", content: "hi" })]);
        return ((await daemonStatus(dataDir))?.received as number) > 0;
      });
      await publisher.send(["boom", "makes the writer thread fail"]);
      await waitFor("the supervisor to restart the failed daemon", async () => {
        const status = await daemonStatus(dataDir);
        return status !== undefined && status.pid !== first!.pid;
      }, 30_000);
      const journal = await readJournal(`${dataDir}/recovery/crash_recovery.jsonl`);
      const stop = journal.entries.find((entry) => entry.event === "stop");
      assertEquals(stop?.pid, first!.pid);
      assertEquals(stop?.exit_code, ExitCode.daemonFailed);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      const gap = records.find((record) => record.type === "gap");
      assert(String(gap?.reason).startsWith("daemon stopped after a failure"), `${gap?.reason}`);
    } finally {
      agent.close();
      publisher.close();
      await launcher.kill();
      await killLockHolder(`${dataDir}/daemon.lock`);
      await broker.stop();
      await dir.cleanup();
    }
  },
});
