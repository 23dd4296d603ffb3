import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { brokerEndpoints, startDaemon, tempDir } from "./_helpers.ts";
import { ControlServer } from "../src/control/server.ts";
import {
  daemonArguments,
  endpointAcceptsConnections,
  stopDaemon,
  waitForDaemon,
  waitForLockRelease,
} from "../src/daemon_process.ts";
import { DaemonNotRunningError } from "../src/errors.ts";
import { createJsonLogger } from "../src/logger.ts";
import { ensureDataDir } from "../src/store/data_dir.ts";
import { DataDirLock, isLockHeld } from "../src/store/data_dir_lock.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const QUIET = createJsonLogger({ component: "test", level: "error", write: () => {} });

Deno.test("endpointAcceptsConnections() tells a listening TCP endpoint from a closed one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepting = (async () => {
    for await (const connection of listener) connection.close();
  })();
  try {
    assert(await endpointAcceptsConnections(`tcp://127.0.0.1:${port}`));
    assert(await endpointAcceptsConnections(`tcp://*:${port}`), "* means this machine");
  } finally {
    listener.close();
    await accepting.catch(() => undefined);
  }
  assertEquals(await endpointAcceptsConnections(`tcp://127.0.0.1:${port}`), false);
  assertEquals(await endpointAcceptsConnections("ipc:///tmp/x"), false, "not a tcp endpoint");
});

Deno.test("waitForLockRelease() waits for the holder to let go, or says it did not", async () => {
  const dir = await tempDir("daemon_process");
  try {
    const layout = await ensureDataDir(`${dir.path}/data`);
    assert(await waitForLockRelease(layout, { timeoutMs: 0 }), "no lock file: released");
    const lock = await DataDirLock.acquire(layout.lockFile, "test");
    assertEquals(await waitForLockRelease(layout, { timeoutMs: 100 }), false);
    setTimeout(() => lock.release(), 50);
    assert(await waitForLockRelease(layout, { timeoutMs: 10_000 }));
    assertEquals(await isLockHeld(layout.lockFile), false);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("waitForDaemon() waits until the control socket answers status", async () => {
  const dir = await tempDir("daemon_process");
  try {
    const layout = await ensureDataDir(`${dir.path}/data`);
    await assertRejects(
      () => waitForDaemon(layout, { timeoutMs: 200 }),
      DaemonNotRunningError,
    );
    let server: ControlServer | undefined;
    const starting = new Promise<void>((resolve) =>
      setTimeout(async () => {
        server = await ControlServer.start(
          layout.controlSocket,
          (request) =>
            Promise.resolve(
              request.cmd === "status"
                ? { ok: true, status: { pid: 4242 } as never }
                : { ok: false, error: "no" },
            ),
          QUIET,
        );
        resolve();
      }, 150)
    );
    try {
      const status = await waitForDaemon(layout, { timeoutMs: 10_000 });
      assertEquals(status.pid, 4242);
    } finally {
      await starting;
      await server?.close();
    }
  } finally {
    await dir.cleanup();
  }
});

Deno.test({
  name: "stopDaemon() stops a real daemon and returns once it released the data dir",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("daemon_process");
    const dataDir = `${dir.path}/data`;
    const daemon = await startDaemon(dataDir, brokerEndpoints().backend);
    try {
      const layout = await ensureDataDir(dataDir);
      const status = await waitForDaemon(layout, { timeoutMs: 10_000 });
      assertEquals(status.pid, daemon.child.pid);
      const { answer, released } = await stopDaemon(layout, { wait: true, timeoutMs: 10_000 });
      assert(released);
      assertEquals(answer, {
        ok: true,
        pid: daemon.child.pid,
        exit_code: 0,
        unwritten_messages: 0,
        failure: null,
      });
      assertEquals((await daemon.child.status).code, 0);
      await assertRejects(
        () => stopDaemon(layout, { wait: false, timeoutMs: 1000 }),
        DaemonNotRunningError,
      );
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test("daemonArguments() runs the daemon on the data dir with its log file there", () => {
  assertEquals(daemonArguments("/d", "tcp://127.0.0.1:5560"), [
    "daemon",
    "--data-dir",
    "/d",
    "--backend",
    "tcp://127.0.0.1:5560",
    "--log-file",
    "/d/daemon.log",
  ]);
});
