/**
 * The daemon's own robustness: fatal thread errors, a full disk at stop, the data dir deleted
 * or the log renamed under it, and file modes from birth. Real daemon processes, real files,
 * a real tmpfs where a full disk is needed.
 */
import { assert, assertEquals } from "../_assert.ts";
import { ExitCode } from "../../src/errors.ts";
import { readJournal } from "../../src/store/recovery_journal.ts";
import {
  type CliProcess,
  daemonStatus,
  messagesOn,
  readRecords,
  waitFor,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";

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

/** Waits for a process to exit (failing the test after `timeoutMs`) and returns its status. */
async function exitWithin(
  process: CliProcess,
  timeoutMs: number,
): Promise<Deno.CommandStatus> {
  let status: Deno.CommandStatus | undefined;
  process.child.status.then((done) => status = done);
  await waitFor("the daemon to exit by itself", () => status !== undefined, timeoutMs);
  return await process.kill(); // already exited: collects its output
}

async function lastJournalStop(dataDir: string): Promise<Record<string, unknown> | undefined> {
  const journal = await readJournal(`${dataDir}/recovery/crash_recovery.jsonl`);
  return journal.entries.findLast((entry) => entry.event === "stop");
}

for (
  const fault of [
    { thread: "writer", expect: "record writer thread failed" },
    { thread: "receive", expect: "receive loop failed" },
  ]
) {
  Deno.test({
    name: `daemon exits ${ExitCode.daemonFailed} after a fatal ${fault.thread} error, ` +
      "keeping what it recorded before and journaling why",
    ...NO_SANITIZE,
    async fn() {
      await withRecordingRig(`fatal_${fault.thread}`, {
        daemonEnv: { SHEARWATER_DEBUG_FAULT: `${fault.thread}:boom` },
      }, async (rig) => {
        const baseline = await warmUp(rig.publisher, rig.dataDir);
        for (let i = 0; i < 50; i++) await rig.publisher.send(["before", `before ${i}`]);
        await waitForDurable(rig.dataDir, baseline, 50);
        await rig.publisher.send(["boom", "this message makes a daemon thread fail"]);
        const status = await exitWithin(rig.daemon, 20_000);
        assertEquals(status.code, ExitCode.daemonFailed);

        const records = await readRecords(`${rig.dataDir}/current_session.jsonl`);
        assertEquals(messagesOn(records, "before").length, 50);
        const stop = await lastJournalStop(rig.dataDir);
        assert(stop !== undefined, "the journal has the stop");
        assertEquals(stop.exit_code, ExitCode.daemonFailed);
        assert(String(stop.failure).includes(fault.expect), `journal says why: ${stop.failure}`);
        const log = await Deno.readTextFile(rig.daemon.logPath);
        assert(log.includes('"fatal"'), "the daemon's log has the fatal error");

        // The next start (as a supervisor does) records the failure as a gap, and records on.
        await rig.restartDaemon();
        const again = await warmUp(rig.publisher, rig.dataDir);
        await rig.publisher.send(["after", "after the restart"]);
        await waitForDurable(rig.dataDir, again, 1);
        const after = await readRecords(`${rig.dataDir}/current_session.jsonl`);
        const gap = after.find((record) => record.type === "gap");
        assert(
          String(gap?.reason).startsWith("daemon stopped after a failure"),
          `gap: ${gap?.reason}`,
        );
        assertEquals(messagesOn(after, "after").length, 1);
        assertEquals((await rig.daemon.kill("SIGTERM")).code, 0);
      });
    },
  });
}
