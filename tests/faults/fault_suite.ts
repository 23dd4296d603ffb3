/**
 * The fault suite (`deno task test:faults`): with stream publishers sending steadily, kill the
 * daemon and the broker, fill the disk, send malformed input, corrupt the files, run commands
 * concurrently, and after each check every invariant (`_invariants.ts`) and add up the
 * accounting. Seeded: the seed is printed at the start and again on a failure, and
 * `SHEARWATER_TEST_SEED=<seed>` replays it.
 *
 * Kept out of `deno task test` on purpose: the file name does not end in `_test.ts`, so
 * `deno test tests/` does not pick it up; `test:faults` names it.
 */
import { assert, assertEquals } from "../_assert.ts";
import {
  canMountTmpfs,
  daemonStatus,
  fillDisk,
  mountSmallTmpfs,
  runCli,
  spawnCli,
  waitFor,
} from "../_helpers.ts";
import { mulberry32, type Prng, testSeed } from "../prng.ts";
import { ExitCode } from "../../src/errors.ts";
import {
  addTotals,
  checkInvariants,
  readDataDirLogs,
  type Totals,
  zeroTotals,
} from "./_invariants.ts";
import { type FaultRig, killDaemon, sleep, withFaultRig } from "./_rig.ts";
import {
  corruptCheckpoints,
  flipBytesMidLog,
  sendMalformedInput,
  truncateIndex,
} from "./_faults.ts";
import { startStream } from "./_stream.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const SEED = testSeed("fault suite");
const TOTALS = zeroTotals();
const SCENARIO_TOTALS: [string, Totals][] = [];
let scenarioNumber = 0;

/**
 * Declares one scenario: its own PRNG (from the suite's seed and its position), its own rig,
 * the invariants checked after it, its accounting added to the suite's totals, and the seed
 * printed again when it fails.
 */
function scenario(
  name: string,
  options: {
    ignore?: boolean;
    rig?: Parameters<typeof withFaultRig>[1];
    /** The scenario outlasts the streams' outbox: written-off (explained) losses expected. */
    beyondOutbox?: boolean;
  },
  fn: (rig: FaultRig, prng: Prng) => Promise<Totals>,
): void {
  const number = ++scenarioNumber;
  Deno.test({
    name,
    ignore: options.ignore,
    ...NO_SANITIZE,
    async fn() {
      const prng = mulberry32((SEED + number * 0x9e3779b9) >>> 0);
      try {
        await withFaultRig(`s${number}`, options.rig ?? {}, async (rig) => {
          const totals = await fn(rig, prng);
          SCENARIO_TOTALS.push([name, totals]);
          addTotals(TOTALS, totals);
          console.log(`  ${formatTotals(totals)}`);
          assertEquals(totals.lost, 0, `unexplained losses in "${name}"`);
          if (options.beyondOutbox) {
            assert(totals.explained > 0, `an outage beyond the outbox is written off in "${name}"`);
          } else {
            // Every outage here is shorter than the outbox holds: nothing may be lost at all.
            assertEquals(totals.explained, 0, `losses within the outbox window in "${name}"`);
          }
        });
      } catch (error) {
        console.error(
          `FAULT SUITE FAILED in "${name}" with seed ${SEED}: replay with ` +
            `SHEARWATER_TEST_SEED=${SEED} deno task test:faults`,
        );
        throw error;
      }
    },
  });
}

function formatTotals(totals: Totals): string {
  return `published ${totals.published}, stored ${totals.stored}, refilled ${totals.refilled}, ` +
    `explained ${totals.explained}, lost ${totals.lost}, damaged on purpose ${totals.damaged}`;
}

// --- Crashes and outages ---------------------------------------------------------------------

scenario("kill -9 the daemon 20 times at random moments, restarting it each time", {}, async (
  rig,
  prng,
) => {
  for (let kill = 1; kill <= 20; kill++) {
    await sleep(prng.int(50, 1200));
    await killDaemon(rig);
    await sleep(prng.int(0, 400));
    await rig.restartDaemon();
  }
  await sleep(1000);
  return await checkInvariants(rig);
});

scenario("kill -9 the broker and start it again, twice", {}, async (rig, prng) => {
  for (let round = 1; round <= 2; round++) {
    await sleep(prng.int(300, 1500));
    const before = (await daemonStatus(rig.dataDir))!.received;
    await rig.killBroker();
    await sleep(prng.int(100, 1500));
    await rig.restartBroker();
    await waitFor("the daemon to receive through the new broker", async () => {
      const status = await daemonStatus(rig.dataDir);
      return status !== undefined && status.received > before + 50;
    }, 30_000);
  }
  await sleep(1000);
  return await checkInvariants(rig);
});

scenario("an outage longer than the outbox holds is written off as a publisher_gap", {
  rig: { outbox: 100 },
  beyondOutbox: true,
}, async (rig, prng) => {
  await sleep(prng.int(300, 800));
  await killDaemon(rig);
  await sleep(prng.int(1500, 2500)); // 200 msg/s per stream: well over 100 messages
  await rig.restartDaemon();
  await sleep(1000);
  const totals = await checkInvariants(rig);
  const records = (await readDataDirLogs(rig.dataDir)).flatMap((file) => file.records);
  const gaps = records.filter((record) => (record.type as string) === "publisher_gap");
  assert(
    gaps.every((gap) => /outbox no longer holds it/.test(String(gap.reason))),
    `the gaps say why: ${gaps.map((gap) => gap.reason)}`,
  );
  return totals;
});

const TMPFS_OK = await canMountTmpfs();
const tmpfs = TMPFS_OK ? await mountSmallTmpfs(24) : undefined;
if (!TMPFS_OK) {
  console.error("fault suite: cannot mount a tmpfs here (needs root): disk-full skipped");
}

scenario(
  "fill the disk under the daemon, then free it",
  { ignore: !TMPFS_OK, rig: { dataDir: tmpfs ? `${tmpfs.path}/data` : undefined } },
  async (rig, prng) => {
    await sleep(prng.int(200, 1000));
    const filler = await fillDisk(tmpfs!.path);
    try {
      await waitFor("the daemon to hit the full disk", async () => {
        const status = await daemonStatus(rig.dataDir);
        return /disk is full/.test(String(status?.last_write_error));
      }, 30_000);
      await sleep(prng.int(500, 2000));
    } finally {
      await Deno.remove(filler);
    }
    await waitFor("the daemon to write again", async () => {
      const status = await daemonStatus(rig.dataDir);
      return status !== undefined && status.last_write_error === null &&
        status.durable_seq === status.seq;
    }, 30_000);
    await sleep(500);
    return await checkInvariants(rig);
  },
);

scenario(
  "a file-size limit on the daemon (writes fail with EFBIG), then a restart without it",
  { rig: { fileSizeLimitBytes: 256 * 1024 } },
  async (rig, prng) => {
    await waitFor("the daemon's writes to fail at the file-size limit", async () => {
      const status = await daemonStatus(rig.dataDir);
      return typeof status?.last_write_error === "string";
    }, 30_000);
    await sleep(prng.int(300, 1500));
    // The limit holds for the process's life: "freeing" is a kill -9 and a start without it.
    await killDaemon(rig);
    await rig.restartDaemon();
    await sleep(1000);
    return await checkInvariants(rig);
  },
);

Deno.test({
  name: "(unmount the fault suite's tmpfs)",
  ignore: !TMPFS_OK,
  ...NO_SANITIZE,
  async fn() {
    await tmpfs?.cleanup();
  },
});

// --- Malformed input -------------------------------------------------------------------------

scenario("malformed input: bad UTF-8, empty, huge, many frames, deep JSON, NUL, long topic", {
  rig: { daemonArgs: [] },
}, async (rig, prng) => {
  const sent = await sendMalformedInput(rig, prng);
  await sleep(500);
  const totals = await checkInvariants(rig);
  for (const check of sent.checks) await check();
  return totals;
});

// --- Corruption ------------------------------------------------------------------------------

scenario("bytes flipped in the middle of the log; the index truncated", {}, async (rig, prng) => {
  await sleep(prng.int(1000, 2000));
  await killDaemon(rig);
  const damaged = await flipBytesMidLog(rig.dataDir, prng);
  await truncateIndex(rig.dataDir, prng);
  await rig.restartDaemon();
  await sleep(prng.int(500, 1500));
  // The flipped line is found by the next full read: reindex skips and reports it.
  const reindex = await runCli(["reindex", "--data-dir", rig.dataDir]);
  assertEquals(reindex.code, 0, `reindex: ${reindex.stderr}`);
  assert(/1 damaged lines? skipped/.test(reindex.stdout + reindex.stderr), reindex.stdout);
  return await checkInvariants(rig, { damagedLines: 1, damagedMessages: damaged });
});

scenario("a checkpoint manifest damaged, a segment deleted, another manifest deleted", {}, async (
  rig,
  prng,
) => {
  await corruptCheckpoints(rig, prng);
  return await checkInvariants(rig);
});

// --- Concurrency -----------------------------------------------------------------------------

scenario("two daemons on one data dir", {}, async (rig) => {
  const second = await spawnCli(
    ["daemon", "--data-dir", rig.dataDir, "--backend", rig.endpoints.backend],
    `${rig.dir}/second_daemon.log`,
  );
  const exit = await second.child.status;
  await second.kill();
  assertEquals(exit.code, ExitCode.busy, "the second daemon is refused: the data dir is locked");
  const log = await Deno.readTextFile(second.logPath);
  assert(log.includes(String(rig.daemon.child.pid)), `the refusal names the holder: ${log}`);
  await sleep(500);
  return await checkInvariants(rig);
});

scenario("20 parallel checkpoint create while publishing", {}, async (rig) => {
  const runs = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) =>
        runCli([
          "checkpoint",
          "create",
          "--data-dir",
          rig.dataDir,
          "--label",
          `parallel ${i}`,
          "--json",
        ]),
    ),
  );
  const ids = runs.map((run, i) => {
    assertEquals(run.code, 0, `checkpoint create ${i}: ${run.stderr}`);
    return JSON.parse(run.stdout).id as string;
  });
  assertEquals(new Set(ids).size, 20, `20 distinct checkpoints: ${ids}`);
  const verify = await runCli(["checkpoint", "verify", "--data-dir", rig.dataDir]);
  assertEquals(verify.code, 0, `checkpoint verify: ${verify.stdout}${verify.stderr}`);
  return await checkInvariants(rig);
});

scenario("new-session and reindex during a burst", {}, async (rig, prng) => {
  const burst = await startStream({
    frontend: rig.endpoints.frontend,
    name: "burst",
    ratePerSecond: 3000,
  });
  rig.streams.push(burst);
  await sleep(prng.int(300, 800));
  const runs = await Promise.all([
    runCli(["new-session", "--data-dir", rig.dataDir]),
    sleep(prng.int(0, 300)).then(() => runCli(["reindex", "--data-dir", rig.dataDir])),
    sleep(prng.int(300, 900)).then(() => runCli(["new-session", "--data-dir", rig.dataDir])),
  ]);
  for (const run of runs) assertEquals(run.code, 0, `${run.stdout}${run.stderr}`);
  await sleep(prng.int(300, 800));
  return await checkInvariants(rig);
});

Deno.test({
  name: "fault suite totals",
  ...NO_SANITIZE,
  fn() {
    console.log(`fault suite (seed ${SEED}):`);
    for (const [name, totals] of SCENARIO_TOTALS) console.log(`  ${name}: ${formatTotals(totals)}`);
    console.log(`  TOTAL: ${formatTotals(TOTALS)}`);
  },
});
