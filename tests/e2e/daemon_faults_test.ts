/**
 * The daemon's own robustness: fatal thread errors, a full disk at stop, the data dir deleted
 * or the log renamed under it, and file modes from birth. Real daemon processes, real files,
 * a real tmpfs where a full disk is needed.
 */
import { assert, assertEquals } from "../_assert.ts";
import { daemonStatus, waitFor, waitForDurable, warmUp, withRecordingRig } from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  name: "daemon creates index.db-wal and index.db-shm 0600 (process umask), whatever the umask",
  ...NO_SANITIZE,
  async fn() {
    // The test process keeps the usual 022 umask, which the daemon inherits.
    const previous = Deno.umask(0o022);
    try {
      await withRecordingRig("umask", {}, async (rig) => {
        const baseline = await warmUp(rig.publisher, rig.dataDir);
        for (let i = 0; i < 20; i++) await rig.publisher.send(["modes", `secret ${i}`]);
        await waitForDurable(rig.dataDir, baseline, 20);
        const seq = (await daemonStatus(rig.dataDir))?.seq as number;
        await waitFor("the index to catch up", async () => {
          const index = (await daemonStatus(rig.dataDir))?.index as { last_seq: number } | null;
          return (index?.last_seq ?? 0) >= seq - 1;
        });
        for (const name of ["index.db", "index.db-wal", "index.db-shm"]) {
          const info = await Deno.stat(`${rig.dataDir}/metadata_index/${name}`);
          assertEquals((info.mode! & 0o777).toString(8), "600", `mode of ${name}`);
        }
        const log = await Deno.stat(`${rig.dataDir}/current_session.jsonl`);
        assert((log.mode! & 0o077) === 0, "log is private");
      });
    } finally {
      Deno.umask(previous);
    }
  },
});
