/**
 * The daemon's own robustness: fatal thread errors, a full disk at stop, the data dir deleted
 * or the log renamed under it, and file modes from birth. Real daemon processes, real files,
 * a real tmpfs where a full disk is needed.
 */
import { assert, assertEquals } from "../_assert.ts";
import { sendControlRequest } from "../../src/control/client.ts";
import { ExitCode } from "../../src/errors.ts";
import { readJournal } from "../../src/store/recovery_journal.ts";
import {
  canMountTmpfs,
  type CliProcess,
  daemonStatus,
  fillDisk,
  messagesOn,
  mountSmallTmpfs,
  readRecords,
  type RecordingRig,
  runCli,
  spawnCli,
  startTestBroker,
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

const TMPFS_OK = await canMountTmpfs();
if (!TMPFS_OK) {
  console.error(
    "ignoring the full-disk tests: mounting a tmpfs is not permitted here (needs root)",
  );
}

Deno.test({
  name: `stop on a full disk ends within its deadline, exits ${ExitCode.daemonFailed} and ` +
    "counts the received messages it could not write",
  ...NO_SANITIZE,
  ignore: !TMPFS_OK,
  async fn() {
    const tmpfs = (await mountSmallTmpfs(2))!;
    try {
      await withRecordingRig("full_disk", {
        dataDir: tmpfs.path,
        daemonArgs: ["--no-index", "--checkpoint-every", "0", "--checkpoint-minutes", "0"],
      }, async (rig) => {
        const baseline = await warmUp(rig.publisher, rig.dataDir);
        for (let i = 0; i < 20; i++) await rig.publisher.send(["kept", `kept ${i}`]);
        await waitForDurable(rig.dataDir, baseline, 20);
        await fillDisk(rig.dataDir);
        const lostCount = 200;
        for (let i = 0; i < lostCount; i++) {
          await rig.publisher.send(["lost", `lost ${i} ${"x".repeat(1000)}`]);
        }
        await waitFor("the daemon to receive everything and fail to write", async () => {
          const status = await daemonStatus(rig.dataDir);
          return (status?.received as number) >= baseline + 20 + lostCount &&
            /disk is full/.test(String(status?.last_write_error));
        }, 30_000);

        const stopping = runCli(["stop", "--data-dir", rig.dataDir]);
        // While it stops (retrying the full disk), the daemon no longer claims to be running.
        await waitFor("status to be refused while the daemon stops", async () => {
          const answer = await sendControlRequest(`${rig.dataDir}/control.sock`, {
            cmd: "status",
          }).catch(() => undefined);
          return answer?.ok === false && answer.code === "daemon_stopping";
        });
        const exit = await exitWithin(rig.daemon, 15_000);
        const stop = await stopping;
        assertEquals(exit.code, ExitCode.daemonFailed);
        assertEquals(stop.code, ExitCode.daemonFailed, `stop: ${stop.stdout}${stop.stderr}`);

        const records = await readRecords(`${rig.dataDir}/current_session.jsonl`);
        assertEquals(messagesOn(records, "kept").length, 20);
        const written = messagesOn(records, "lost").length;
        const unwritten = lostCount - written;
        assert(unwritten > 0, "the full disk left messages unwritten");
        assert(
          stop.stderr.includes(`${unwritten} received messages could not be written`),
          `stop says how many: ${stop.stderr}`,
        );
        const log = await Deno.readTextFile(rig.daemon.logPath);
        const line = log.split("\n").find((entry) => entry.includes('"messages_not_written"'));
        assert(line !== undefined, "the daemon's stderr says how many");
        assertEquals(JSON.parse(line).messages, unwritten);
      });
    } finally {
      await tmpfs.cleanup();
    }
  },
});

for (
  const change of [
    {
      what: "current_session.jsonl renamed",
      apply: (dataDir: string) =>
        Deno.rename(`${dataDir}/current_session.jsonl`, `${dataDir}/renamed.jsonl`),
      keptIn: (dataDir: string) => `${dataDir}/renamed.jsonl`,
    },
    {
      what: "data dir deleted",
      apply: (dataDir: string) => Deno.remove(dataDir, { recursive: true }),
      keptIn: undefined,
    },
  ]
) {
  Deno.test({
    name: `daemon notices the ${change.what} under it and stops with exit ${ExitCode.daemonFailed}`,
    ...NO_SANITIZE,
    async fn() {
      await withRecordingRig("moved", { daemonArgs: ["--heartbeat-ms", "200"] }, async (rig) => {
        const baseline = await warmUp(rig.publisher, rig.dataDir);
        for (let i = 0; i < 30; i++) await rig.publisher.send(["before", `before ${i}`]);
        await waitForDurable(rig.dataDir, baseline, 30);
        await change.apply(rig.dataDir);
        const exit = await exitWithin(rig.daemon, 15_000);
        assertEquals(exit.code, ExitCode.daemonFailed);
        const log = await Deno.readTextFile(rig.daemon.logPath);
        assert(log.includes('"data_dir_changed"'), "the daemon's log says why");
        if (change.keptIn) {
          const records = await readRecords(change.keptIn(rig.dataDir));
          assertEquals(messagesOn(records, "before").length, 30);
          const stop = await lastJournalStop(rig.dataDir);
          assert(/renamed|deleted/.test(String(stop?.failure)), `journal: ${stop?.failure}`);
          // A new daemon starts afresh on the path as it is now, and records on.
          await rig.restartDaemon();
          const again = await warmUp(rig.publisher, rig.dataDir);
          await rig.publisher.send(["after", "after"]);
          await waitForDurable(rig.dataDir, again, 1);
          const after = await readRecords(`${rig.dataDir}/current_session.jsonl`);
          assertEquals(messagesOn(after, "after").length, 1);
        }
      });
    },
  });
}

/** Log entries of the daemon (JSON lines on its stderr) with this `event`. */
async function logEvents(logPath: string, event: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(logPath);
  return text.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line))
    .filter((entry) => entry.event === event);
}

const NO_CHECKPOINTS = ["--checkpoint-every", "0", "--checkpoint-minutes", "0"];

/** Publishes `count` wordy chat messages and waits until they are all on disk. */
async function recordChat(rig: RecordingRig, from: number, count: number): Promise<void> {
  const baseline = await warmUp(rig.publisher, rig.dataDir);
  for (let i = from; i < from + count; i++) {
    const words = Array.from({ length: 60 }, (_, w) => `word${i}x${w}`).join(" ");
    await rig.publisher.send(["chat", JSON.stringify({ from: `agent${i % 7}`, text: words })]);
  }
  await waitForDurable(rig.dataDir, baseline, count);
}

/** Stops the rig's daemon with the `stop` command, which must report a clean stop. */
async function stopCleanly(rig: RecordingRig): Promise<void> {
  const stopped = await runCli(["stop", "--data-dir", rig.dataDir]);
  assertEquals(stopped.code, 0, stopped.stderr);
  await rig.daemon.kill();
}

/** Waits until the daemon's index holds everything up to (nearly) its durable seq. */
async function indexCaughtUp(dataDir: string, timeoutMs = 15_000): Promise<void> {
  const seq = (await daemonStatus(dataDir))?.durable_seq as number;
  await waitFor("the index to catch up", async () => {
    const index = (await daemonStatus(dataDir))?.index as { last_seq: number } | null;
    return (index?.last_seq ?? 0) >= seq - 5;
  }, timeoutMs);
}

for (const existingIndex of [false, true]) {
  Deno.test({
    name: `indexer on a full disk (${existingIndex ? "existing" : "new"} index) reports ` +
      "'disk full' once, backs off, keeps the index, and resumes when space is back",
    ...NO_SANITIZE,
    ignore: !TMPFS_OK,
    async fn() {
      const tmpfs = (await mountSmallTmpfs(4))!;
      try {
        await withRecordingRig("index_full", {
          dataDir: tmpfs.path,
          daemonArgs: existingIndex ? NO_CHECKPOINTS : ["--no-index", ...NO_CHECKPOINTS],
        }, async (rig) => {
          let count = 0;
          if (existingIndex) {
            // An index that exists and is up to date: then its commits are what fails.
            await recordChat(rig, 0, 50);
            await indexCaughtUp(rig.dataDir);
            count = 50;
            await stopCleanly(rig);
            await rig.restartDaemon(["--no-index", ...NO_CHECKPOINTS]);
          }
          await recordChat(rig, count, 1500);
          count += 1500;
          await stopCleanly(rig);
          // Full, but for a little room: the daemon can start and journal, the index cannot grow.
          const filler = await fillDisk(rig.dataDir);
          await Deno.truncate(filler, (await Deno.stat(filler)).size - 64 * 1024);

          const daemon = await rig.restartDaemon(["--log-level", "debug", ...NO_CHECKPOINTS]);
          await waitFor("the indexer to retry twice after 'disk full'", async () => {
            return (await logEvents(daemon.logPath, "index_disk_full_retry")).length >= 2;
          }, 30_000);
          assertEquals((await logEvents(daemon.logPath, "index_disk_full")).length, 1);
          assertEquals((await logEvents(daemon.logPath, "indexer_failed")).length, 0);
          assertEquals((await logEvents(daemon.logPath, "index_set_aside")).length, 0);
          const log = await Deno.readTextFile(daemon.logPath);
          assert(!log.includes("cannot rollback"), "no 'cannot rollback' noise");
          const index = (await daemonStatus(rig.dataDir))?.index;
          assertEquals(index?.state, "waiting");
          assert(String(index?.detail).includes("disk full"), `detail: ${index?.detail}`);

          await Deno.remove(filler);
          await indexCaughtUp(rig.dataDir, 60_000);
          await waitFor("the indexer to say it resumed", async () => {
            return (await logEvents(daemon.logPath, "index_resumed")).length > 0;
          });
          assertEquals((await logEvents(daemon.logPath, "index_disk_full")).length, 1);
          const records = await readRecords(`${rig.dataDir}/current_session.jsonl`);
          assertEquals(messagesOn(records, "chat").length, count);
        });
      } finally {
        await tmpfs.cleanup();
      }
    },
  });
}

Deno.test({
  name:
    `SIGTERM ends a daemon whose start waits on a full disk, with exit ${ExitCode.daemonFailed}`,
  ...NO_SANITIZE,
  ignore: !TMPFS_OK,
  async fn() {
    const tmpfs = (await mountSmallTmpfs(1))!;
    const { endpoints, broker } = await startTestBroker();
    let daemon: CliProcess | undefined;
    try {
      // One page left: enough for the lock file, none for the log's first records.
      const filler = await fillDisk(tmpfs.path);
      await Deno.truncate(filler, (await Deno.stat(filler)).size - 4096);
      daemon = await spawnCli(
        ["daemon", "--data-dir", tmpfs.path, "--backend", endpoints.backend],
        `${tmpfs.path}.daemon.log`,
      );
      await waitFor("the daemon to fail writing its first records", async () => {
        const log = await Deno.readTextFile(daemon!.logPath).catch(() => "");
        return log.includes('"log_write_failed"');
      });
      daemon.child.kill("SIGTERM");
      const exit = await exitWithin(daemon, 15_000);
      assertEquals(exit.code, ExitCode.daemonFailed);
    } finally {
      await daemon?.kill();
      await broker.stop();
      await tmpfs.cleanup();
    }
  },
});
