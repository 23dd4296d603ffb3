import { assert, assertEquals } from "../_assert.ts";
import { brokerEndpoints, runCli, spawnCli, tempDir, waitFor } from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name:
    "up --demo starts broker and daemon, records a demo conversation, checkpoints, stops on SIGINT",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("up_demo");
    const endpoints = brokerEndpoints();
    const dataDir = `${dir.path}/data`;
    const up = await spawnCli([
      "up",
      "--demo",
      "--data-dir",
      dataDir,
      "--frontend",
      endpoints.frontend,
      "--backend",
      endpoints.backend,
    ], `${dir.path}/up.log`);
    try {
      await waitFor("the demo checkpoint", async () => {
        const out = await Deno.readTextFile(`${dir.path}/up.log.out`).catch(() => "");
        return out.includes("Recording. Publish");
      }, 60_000);
      const out = await Deno.readTextFile(`${dir.path}/up.log.out`);
      assert(/Demo: checkpoint \S+ saved \(\d+ messages\)/.test(out), out);
      assert(!out.includes("SHEARWATER CONVERSATION RECOVERY"), "no menu without a terminal");
      const search = await runCli(["search", '"disk full"', "--data-dir", dataDir, "--json"]);
      assertEquals(search.code, 0, search.stderr);
      assert(JSON.parse(search.stdout).count >= 1);
      const status = await up.kill("SIGINT");
      assertEquals(status.code, 0);
      assert((await Deno.readTextFile(`${dir.path}/up.log.out`)).includes("Stopped."));
      const daemonLog = await Deno.readTextFile(`${dataDir}/daemon.log`);
      assert(daemonLog.includes('"event":"stopped"'), "the daemon stopped cleanly");
    } finally {
      await up.kill();
      await dir.cleanup();
    }
  },
});
