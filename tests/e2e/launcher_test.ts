import * as zmq from "zeromq";
import { assert, assertEquals } from "../_assert.ts";
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
