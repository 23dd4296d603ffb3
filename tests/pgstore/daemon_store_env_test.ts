import { assert, assertEquals } from "../_assert.ts";
import { brokerEndpoints, freePort, killLockHolder, spawnCli, tempDir } from "../_helpers.ts";
import { waitForDaemon } from "../../src/daemon_process.ts";
import { dataDirLayout } from "../../src/store/data_dir.ts";
import { procFile } from "./_ship_checks.ts";

Deno.test("up --store gives the daemon it starts the URL in its environment, not its arguments", async () => {
  const dir = await tempDir("daemon-store-env");
  const layout = dataDirLayout(`${dir.path}/data`);
  const port = freePort();
  const url = `postgres://ship:Pa55-in-env@127.0.0.1:${port}/team`;
  const { frontend, backend } = brokerEndpoints();
  const up = await spawnCli(
    [
      "up",
      "--no-menu",
      "--data-dir",
      layout.root,
      "--frontend",
      frontend,
      "--backend",
      backend,
      "--store",
      url,
    ],
    `${dir.path}/up.log`,
  );
  try {
    const status = await waitForDaemon(layout, { timeoutMs: 30_000 });
    assertEquals(status.store?.url, `postgres://ship:***@127.0.0.1:${port}/team`);
    const cmdline = await procFile(status.pid, "cmdline");
    assert(!cmdline.includes("Pa55-in-env"), cmdline);
    assert(!cmdline.includes("postgres://"), cmdline);
    const environ = await procFile(status.pid, "environ");
    assert(
      environ.split("\0").includes(`SHEARWATER_STORE=${url}`),
      "the URL is in its environment",
    );
  } finally {
    await up.kill("SIGTERM");
    await killLockHolder(layout.lockFile);
    await dir.cleanup();
  }
});
