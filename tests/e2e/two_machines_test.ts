import { assert, assertEquals } from "../_assert.ts";
import {
  daemonStatus,
  runCli,
  waitFor,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";
import { pgAvailable, startPgCluster } from "../pgstore/_pg_cluster.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const MESSAGES = 40;

async function cliJson(args: string[]): Promise<Record<string, unknown>> {
  const result = await runCli([...args, "--json"]);
  assertEquals(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Waits until the daemon on `dataDir` has shipped everything it made durable. */
async function waitShipped(dataDir: string): Promise<string> {
  let origin = "";
  await waitFor("the daemon to ship every durable record", async () => {
    const status = await daemonStatus(dataDir) as
      | { origin?: string; durable_seq: number; store: { shipped_seq: number } | null }
      | undefined;
    origin = status?.origin ?? "";
    return status?.store?.shipped_seq === status?.durable_seq;
  }, 60_000);
  return origin;
}

Deno.test({
  name: "two machines (two brokers, two daemons) ship into one store: search --store finds " +
    "both, --origin narrows, a checkpoint pushed on one is pulled and loaded on the other",
  ignore: !pgAvailable,
  ...NO_SANITIZE,
  async fn() {
    const cluster = await startPgCluster();
    const url = cluster.url;
    try {
      const migrated = await runCli(["store", "migrate", "--store", url]);
      assertEquals(migrated.code, 0, migrated.stderr);
      const daemonArgs = ["--store", url, "--checkpoint-every", "0"];
      await withRecordingRig("machine_a", { daemonArgs }, async (a) => {
        await withRecordingRig("machine_b", { daemonArgs }, async (b) => {
          // Each machine's agents talk on their own bus.
          for (const [rig, word] of [[a, "alphahost"], [b, "bravohost"]] as const) {
            const baseline = await warmUp(rig.publisher, rig.dataDir);
            for (let i = 0; i < MESSAGES; i++) {
              const payload = JSON.stringify({
                from: `${word}-agent`,
                to: "all",
                content: `${word} deploys build ${i}`,
              });
              await rig.publisher.send(["agents", payload]);
            }
            await waitForDurable(rig.dataDir, baseline, MESSAGES);
          }
          const originA = await waitShipped(a.dataDir);
          const originB = await waitShipped(b.dataDir);
          assert(originA !== "" && originB !== "" && originA !== originB, `${originA} ${originB}`);

          // One search over the shared history finds both machines' messages.
          const both = await cliJson(["search", "deploys", "--store", url, "-n", "1000"]);
          const results = both.results as { origin: string; sender: string }[];
          assertEquals(results.length, 2 * MESSAGES);
          assertEquals(new Set(results.map((r) => r.origin)), new Set([originA, originB]));
          const onlyB = await cliJson([
            "search",
            "deploys",
            "--store",
            url,
            "--origin",
            originB,
            "-n",
            "1000",
          ]);
          assertEquals(onlyB.count, MESSAGES);
          const senders = new Set((onlyB.results as { sender: string }[]).map((r) => r.sender));
          assertEquals([...senders], ["bravohost-agent"]);
          const none = await runCli(["search", "alphahost", "--store", url, "--origin", originB]);
          assertEquals(none.code, 1, none.stderr);
          const sessions = await cliJson(["sessions", "--store", url]);
          assert((sessions.count as number) >= 2, JSON.stringify(sessions));

          // A checkpoint of machine A moves to machine B through the store and loads there.
          const created = await cliJson(["checkpoint", "create", "--data-dir", a.dataDir]);
          const id = created.id as string;
          const pushed = await cliJson([
            "checkpoint",
            "push",
            id,
            "--data-dir",
            a.dataDir,
            "--store",
            url,
          ]);
          assertEquals(pushed.origin, originA);
          const pulled = await cliJson([
            "checkpoint",
            "pull",
            id,
            "--data-dir",
            b.dataDir,
            "--store",
            url,
          ]);
          assertEquals(pulled.origin, originA);
          const loaded = await cliJson([
            "checkpoint",
            "load",
            id,
            "--yes",
            "--data-dir",
            b.dataDir,
          ]);
          assertEquals(loaded.daemon, true);
          // B's current session now holds A's conversation, found by B's own index.
          await waitFor("machine B's index to hold machine A's messages", async () => {
            const found = await runCli([
              "search",
              "alphahost",
              "-n",
              "1000",
              "--data-dir",
              b.dataDir,
              "--json",
            ]);
            return found.code === 0 && JSON.parse(found.stdout).count === MESSAGES;
          }, 30_000);
          const context = await runCli(["context", "--data-dir", b.dataDir]);
          assertEquals(context.code, 0, context.stderr);
          assert(context.stdout.includes("alphahost deploys build 39"), context.stdout);
        });
      });
    } finally {
      await cluster.stop();
    }
  },
});
