import { assert } from "../_assert.ts";
import { daemonStatus, waitFor, waitForDurable, warmUp, withRecordingRig } from "../_helpers.ts";
import { readOrigin } from "../../src/pgstore/origin.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";
import { assertStoreMatchesLogs, waitForShipped } from "./_ship_checks.ts";

function chat(i: number): string[] {
  return [
    "agent.gemini",
    JSON.stringify({ from: "gemini", to: "all", content: `fault note ${i} ${"x".repeat(200)}` }),
  ];
}

Deno.test({
  name: "kill -9 of the PostgreSQL server mid-stream, then a restart: exactly the logs' records",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  try {
    await withRecordingRig(
      "ship-pg-kill",
      { daemonArgs: ["--store", cluster.url] },
      async (rig) => {
        const baseline = await warmUp(rig.publisher, rig.dataDir);
        let sent = 0;
        const burst = async (count: number) => {
          for (let i = 0; i < count; i++) await rig.publisher.send(chat(sent++));
        };
        await burst(3000);
        // Kill the server while the shipper is still behind (or right after): a crash, not a stop.
        await waitFor("the shipper to start shipping", async () => {
          return ((await daemonStatus(rig.dataDir))?.store?.shipped_seq ?? 0) > 0;
        });
        await cluster.kill9();
        await burst(2000);
        await waitForDurable(rig.dataDir, baseline, sent);
        await waitFor("status to say the store is unreachable", async () => {
          const store = (await daemonStatus(rig.dataDir))?.store;
          return store?.reachable === false && store.state === "unreachable";
        }, 60_000);
        await burst(1000);
        await waitForDurable(rig.dataDir, baseline, sent);
        await cluster.restart();
        await waitForShipped(rig.dataDir);
        const origin = (await readOrigin(rig.dataDir))!;
        const count = await assertStoreMatchesLogs(cluster.url, origin, rig.dataDir);
        assert(count >= 6000, `${count} records`);
        const log = await Deno.readTextFile(rig.daemon.logPath);
        assert(log.includes('"store_unreachable"'), "the outage is logged");
        assert(log.includes('"store_reachable_again"'), "the recovery is logged");
      },
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test({
  name: "kill -9 of the daemon mid-batch, then a restart: exactly the logs' records",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  try {
    await withRecordingRig(
      "ship-daemon-kill",
      { daemonArgs: ["--store", cluster.url] },
      async (rig) => {
        const baseline = await warmUp(rig.publisher, rig.dataDir);
        for (let i = 0; i < 8000; i++) await rig.publisher.send(chat(i));
        await waitFor("the shipper to be mid-stream", async () => {
          const status = await daemonStatus(rig.dataDir);
          const shipped = status?.store?.shipped_seq ?? 0;
          return shipped > 0 || (status?.received ?? 0) >= baseline + 8000;
        }, 60_000);
        await rig.daemon.kill("SIGKILL");
        await rig.restartDaemon(["--store", cluster.url]);
        const again = await warmUp(rig.publisher, rig.dataDir);
        for (let i = 8000; i < 9000; i++) await rig.publisher.send(chat(i));
        await waitForDurable(rig.dataDir, again, 1000);
        await waitForShipped(rig.dataDir);
        const origin = (await readOrigin(rig.dataDir))!;
        const count = await assertStoreMatchesLogs(cluster.url, origin, rig.dataDir);
        assert(count >= 1000, `${count} records`);
      },
    );
  } finally {
    await cluster.stop();
  }
});
