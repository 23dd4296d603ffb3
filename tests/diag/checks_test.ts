import { assert, assertEquals } from "../_assert.ts";
import { brokerEndpoints, startDaemon, tempDir } from "../_helpers.ts";
import { runChecks } from "../../src/diag/checks.ts";
import { ensureDataDir } from "../../src/store/data_dir.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const NAMES = [
  "daemon",
  "broker frontend",
  "broker backend",
  "log",
  "publishers",
  "index",
  "store",
  "disk",
  "checkpoints",
  "recovery",
];

Deno.test("runChecks() on an idle data dir: daemon and broker fail, the rest is ok", async () => {
  const dir = await tempDir("diag_checks");
  try {
    const layout = await ensureDataDir(`${dir.path}/data`);
    const { frontend, backend } = brokerEndpoints();
    const checks = await runChecks(layout, frontend, backend);
    assertEquals(checks.map((check) => check.name), NAMES);
    const byName = Object.fromEntries(checks.map((check) => [check.name, check]));
    assertEquals(byName.daemon!.status, "fail");
    assert(byName.daemon!.detail.startsWith(`not running on ${layout.root}`));
    assertEquals(byName["broker frontend"]!.status, "fail");
    assert(byName["broker backend"]!.detail.includes(`${backend} not reachable`));
    for (const name of ["log", "publishers", "index", "store", "checkpoints", "recovery"]) {
      assertEquals(byName[name]!.status, "ok", `${name}: ${byName[name]!.detail}`);
    }
  } finally {
    await dir.cleanup();
  }
});

Deno.test("runChecks() warns about a damaged log line, naming its offset", async () => {
  const dir = await tempDir("diag_checks");
  try {
    const layout = await ensureDataDir(`${dir.path}/data`);
    await Deno.writeTextFile(layout.currentLog, '{"not":"a record"}\n');
    const { frontend, backend } = brokerEndpoints();
    const log = (await runChecks(layout, frontend, backend)).find((check) => check.name === "log");
    assertEquals(log?.status, "warn");
    assert(
      log!.detail.includes("1 DAMAGED line(s)") && log!.detail.includes("byte 0"),
      log!.detail,
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test({
  name: "runChecks() with a daemon running reports it from its status",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("diag_checks");
    const dataDir = `${dir.path}/data`;
    const { frontend, backend } = brokerEndpoints();
    const daemon = await startDaemon(dataDir, backend);
    try {
      const layout = await ensureDataDir(dataDir);
      const checks = await runChecks(layout, frontend, backend);
      const first = checks[0]!;
      assertEquals(first.status, "ok", first.detail);
      assert(first.detail.startsWith(`running, PID ${daemon.child.pid}, up `), first.detail);
      const index = checks.find((check) => check.name === "index")!;
      assert(
        /, (catching up|idle|waiting|[a-z_]+), lag \d+ records$/.test(index.detail),
        index.detail,
      );
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});
