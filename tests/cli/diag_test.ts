import { assert, assertEquals } from "../_assert.ts";
import { brokerEndpoints, runCli, spawnCli, startDaemon, tempDir } from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

interface Diag {
  healthy: boolean;
  checks: { name: string; status: string; detail: string }[];
}

async function diag(args: string[]): Promise<{ code: number; report: Diag }> {
  const result = await runCli(["diag", ...args, "--json"]);
  return { code: result.code, report: JSON.parse(result.stdout) };
}

Deno.test({
  name: "diag reports a healthy setup with exit 0 and a broken one with exit 5",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("diag");
    const endpoints = brokerEndpoints();
    const dataDir = `${dir.path}/data`;
    const flags = [
      "--data-dir",
      dataDir,
      "--frontend",
      endpoints.frontend,
      "--backend",
      endpoints.backend,
    ];
    const broker = await spawnCli(
      ["broker", "--frontend", endpoints.frontend, "--backend", endpoints.backend],
      `${dir.path}/broker.log`,
    );
    const daemon = await startDaemon(dataDir, endpoints.backend);
    try {
      const healthy = await diag(flags);
      assertEquals(healthy.code, 0, JSON.stringify(healthy.report));
      assertEquals(healthy.report.healthy, true);
      const byName = new Map(healthy.report.checks.map((check) => [check.name, check]));
      assert(byName.get("daemon")!.detail.includes(`PID ${daemon.child.pid}`));
      assertEquals(byName.get("broker backend")!.status, "ok");
      for (const name of ["log", "index", "disk", "checkpoints", "recovery"]) {
        assert(byName.has(name), `check ${name} present`);
      }

      await daemon.kill("SIGKILL");
      await broker.kill("SIGKILL");
      const broken = await diag(flags);
      assertEquals(broken.code, 5);
      assertEquals(broken.report.healthy, false);
      const failed = broken.report.checks.filter((check) => check.status === "fail").map((c) =>
        c.name
      );
      assertEquals(failed.sort(), ["broker backend", "broker frontend", "daemon"]);
      const human = await runCli(["diag", ...flags], { env: { NO_COLOR: "1" } });
      assertEquals(human.code, 5);
      assert(human.stdout.includes("FAIL  daemon"), human.stdout);
      assert(!human.stdout.includes("\x1b["), "NO_COLOR respected");
      // Piped, nothing is cut: the advice is there whole, one line per check.
      assert(
        human.stdout.includes(`not running on ${dataDir} (start: shearwater-persist daemon)`),
        human.stdout,
      );
    } finally {
      await daemon.kill();
      await broker.kill();
      await dir.cleanup();
    }
  },
});
