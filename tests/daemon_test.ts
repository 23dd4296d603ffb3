import { assert, assertEquals } from "./_assert.ts";
import { sendRawControlRequest } from "../src/control/client.ts";
import { brokerEndpoints, startDaemon, tempDir } from "./_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name: "the control socket's unknown-command error lists every command it accepts",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("daemon_control");
    const dataDir = `${dir.path}/data`;
    const daemon = await startDaemon(dataDir, brokerEndpoints().backend);
    try {
      const socket = `${dataDir}/control.sock`;
      const unknown = await sendRawControlRequest(socket, { cmd: "frobnicate" });
      assertEquals(unknown.ok, false);
      const error = (unknown as { error: string }).error;
      assert(error.startsWith('Unknown control command "frobnicate": use '), error);
      const listed = error.slice(error.indexOf(": use ") + 6).split(", ");
      // Written out here, not imported, so that a command dropped from the list is noticed.
      const accepted = [
        "status",
        "new-session",
        "flush",
        "checkpoint",
        "load-checkpoint",
        "index-release",
        "reserve-seqs",
        "expect-replays",
        "durable-times",
        "stop",
      ];
      assertEquals([...listed].sort(), [...accepted].sort(), error);
      // Each listed command is one the daemon dispatches (not "unknown"); `stop` comes last.
      for (const cmd of ["status", "flush", "checkpoint", "index-release", "new-session"]) {
        const answer = await sendRawControlRequest(socket, { cmd });
        assert(answer.ok, `${cmd}: ${JSON.stringify(answer)}`);
      }
      const marks = [{ digest: "0".repeat(64), replay_of: 1 }];
      const expect = await sendRawControlRequest(socket, {
        cmd: "expect-replays",
        marks,
        ttl_ms: 1000,
      });
      assert(expect.ok, JSON.stringify(expect));
      const load = await sendRawControlRequest(socket, { cmd: "load-checkpoint", id: "no-such" });
      assert(!JSON.stringify(load).includes("Unknown control command"), JSON.stringify(load));
      assert((await sendRawControlRequest(socket, { cmd: "stop" })).ok);
      assertEquals((await daemon.child.status).code, 0);
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});
