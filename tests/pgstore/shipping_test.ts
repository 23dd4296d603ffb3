import { assert, assertEquals } from "../_assert.ts";
import {
  daemonStatus,
  freePort,
  runCli,
  waitFor,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";
import { sendControlRequest } from "../../src/control/client.ts";
import { readOrigin } from "../../src/pgstore/origin.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";
import { assertStoreMatchesLogs, procFile, waitForShipped } from "./_ship_checks.ts";

async function publishChat(
  publisher: { send(frames: string[]): Promise<void> },
  from: number,
  count: number,
): Promise<void> {
  for (let i = from; i < from + count; i++) {
    await publisher.send([
      "agent.claude",
      JSON.stringify({ from: "claude", to: "all", content: `shipping note ${i} deploy` }),
    ]);
  }
}

Deno.test({
  name: "the daemon ships every durable record live, across a session rotation: rows = the logs",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  try {
    await withRecordingRig("ship-live", { daemonArgs: ["--store", cluster.url] }, async (rig) => {
      const baseline = await warmUp(rig.publisher, rig.dataDir);
      await publishChat(rig.publisher, 0, 200);
      await waitForDurable(rig.dataDir, baseline, 200);
      const rotated = await sendControlRequest(`${rig.dataDir}/control.sock`, {
        cmd: "new-session",
      });
      assert(rotated.ok, "new-session");
      await publishChat(rig.publisher, 200, 200);
      await waitForDurable(rig.dataDir, baseline, 400);
      await waitForShipped(rig.dataDir);
      const origin = await readOrigin(rig.dataDir);
      assert(origin !== undefined, "the daemon created the origin");
      const status = await daemonStatus(rig.dataDir);
      assertEquals(status?.origin, origin);
      assertEquals(status?.store?.url, cluster.url);
      const count = await assertStoreMatchesLogs(cluster.url, origin, rig.dataDir);
      assert(count >= 400, `${count} records`);
      // `ship` while the daemon runs: same origin, nothing new to add, rows unchanged.
      const backfill = await runCli([
        "ship",
        "--data-dir",
        rig.dataDir,
        "--store",
        cluster.url,
        "--json",
      ]);
      assertEquals(backfill.code, 0, backfill.stderr);
      assertEquals(JSON.parse(backfill.stdout).origin, origin);
      assertEquals(JSON.parse(backfill.stdout).added, 0);
      assertEquals(await assertStoreMatchesLogs(cluster.url, origin, rig.dataDir), count);
      const human = await runCli(["status", "--data-dir", rig.dataDir]);
      assert(human.stdout.includes(`Origin      ${origin}`), human.stdout);
      assert(
        /Store .*reachable.*shipped up to seq \d+ \(lag 0 records/.test(human.stdout),
        human.stdout,
      );
      // The rows are searchable with the simple configuration.
      const hits = await cluster.psql(
        `SELECT count(*) FROM shearwater.records WHERE origin = '${origin}' AND search @@ to_tsquery('simple', 'deploy')`,
      );
      assertEquals(hits, "400");
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test({
  name: "an unreachable store leaves the recorder alone; status says so, without the password",
  ignore: !pgAvailable,
}, async () => {
  const url = `postgres://ship:hunter2secret@127.0.0.1:${freePort()}/team`;
  await withRecordingRig(
    "ship-unreachable",
    { daemonEnv: { SHEARWATER_STORE: url } },
    async (rig) => {
      const baseline = await warmUp(rig.publisher, rig.dataDir);
      await publishChat(rig.publisher, 0, 300);
      await waitForDurable(rig.dataDir, baseline, 300);
      await waitFor("status to say the store is unreachable", async () => {
        const status = await daemonStatus(rig.dataDir);
        return status?.store?.state === "unreachable" && status.store.last_error !== null;
      });
      const status = await daemonStatus(rig.dataDir);
      assertEquals(status?.store?.reachable, false);
      assert((status?.store?.lag_records ?? 0) >= 300, JSON.stringify(status?.store));
      assertEquals(status?.store?.url, url.replace("hunter2secret", "***"));
      const outputs = [
        JSON.stringify(status),
        (await runCli(["status", "--data-dir", rig.dataDir])).stdout,
        (await runCli(["status", "--json", "--data-dir", rig.dataDir])).stdout,
        (await runCli(["diag", "--data-dir", rig.dataDir])).stdout,
        (await runCli(["diag", "--json", "--data-dir", rig.dataDir])).stdout,
        await Deno.readTextFile(rig.daemon.logPath),
      ];
      for (const text of outputs) assert(!text.includes("hunter2secret"), text);
      assert(outputs[1]!.includes("not reachable"), outputs[1]);
      assert(outputs[3]!.includes("ship:***@"), outputs[3]);
      // The daemon's process arguments do not hold the URL either (it came from the environment).
      const cmdline = await procFile(rig.daemon.child.pid, "cmdline");
      assert(!cmdline.includes("hunter2secret"), cmdline);
    },
  );
});
