import { ErrorCode, PersistError } from "../../src/errors.ts";
import { CheckpointCreator } from "../../src/store/checkpoint_creator.ts";
import { CheckpointStore, SEGMENT_RECORDS } from "../../src/store/checkpoint_store.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { concatBytes, encodeLines, sessionRecords } from "../log_fixtures.ts";

const SESSION = "20261130_010000_c0de";

/** A data dir with a log of `messages` chat messages; the creator is closed afterwards. */
async function withLog(
  messages: number,
  fn: (context: { root: string; logPath: string; bytes: number }) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "shearwater_checkpoint_creator_" });
  try {
    const log = concatBytes(
      encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages })),
    );
    await Deno.writeFile(`${root}/current_session.jsonl`, log, { mode: 0o600 });
    await fn({ root, logPath: `${root}/current_session.jsonl`, bytes: log.length });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function createOf(logPath: string, endOffset: number, now: Date) {
  return { logPath, endOffset, trigger: "auto" as const, label: null, parentCheckpoint: null, now };
}

Deno.test("CheckpointCreator makes on its worker the checkpoint create() makes in process", async () => {
  await withLog(3 * SEGMENT_RECORDS + 40, async ({ root, logPath, bytes }) => {
    const now = new Date("2026-11-30T01:00:00.000Z");
    const inProcess = await new CheckpointStore(`${root}/checkpoints_a`).create(
      createOf(logPath, bytes, now),
    );
    const store = new CheckpointStore(`${root}/checkpoints_b`);
    const creator = new CheckpointCreator(store);
    try {
      const onWorker = await creator.create(createOf(logPath, bytes, now));
      assertEquals(onWorker, inProcess);
      assertEquals(await store.verify(onWorker), []);
      assertEquals((await store.list()).map((entry) => entry.id), [onWorker.id]);
      // The worker stays for the next one, which reuses the first's segments.
      const next = await creator.create(
        createOf(logPath, bytes, new Date(now.getTime() + 1000)),
      );
      assertEquals(next.segments, onWorker.segments);
    } finally {
      creator.close();
    }
  });
});

Deno.test("CheckpointCreator hands on the worker's errors as the same kind, and its repairs", async () => {
  await withLog(SEGMENT_RECORDS + 10, async ({ root, logPath, bytes }) => {
    const store = new CheckpointStore(`${root}/checkpoints`);
    const creator = new CheckpointCreator(store);
    try {
      const error = await assertRejects(
        () => creator.create(createOf(`${root}/no_such.jsonl`, 100, new Date())),
        PersistError,
      );
      assertEquals(error.code, ErrorCode.checkpointEmpty);
      const bad = await assertRejects(
        () =>
          creator.create({ ...createOf(logPath, bytes, new Date()), label: "\u001b]0;x\u0007" }),
        PersistError,
      );
      assertEquals(bad.code, ErrorCode.invalidLabel);

      const first = await creator.create(createOf(logPath, bytes - 100, new Date()));
      const segment = first.segments[0]!;
      const files = [...Deno.readDirSync(store.segmentsDir)].map((entry) => entry.name);
      const file = files.find((name) => name.startsWith(segment.sha256))!;
      await Deno.remove(`${store.segmentsDir}/${file}`);
      const repairs: string[] = [];
      const next = await creator.create({
        ...createOf(logPath, bytes, new Date(Date.now() + 1000)),
        onSegmentRepaired: ({ sha256 }) => repairs.push(sha256),
      });
      assertEquals(repairs, [segment.sha256]);
      assertEquals(await store.verify(next), []);
    } finally {
      creator.close();
    }
  });
});

Deno.test("CheckpointCreator.close() fails a checkpoint in progress; a later one starts a new worker", async () => {
  await withLog(4 * SEGMENT_RECORDS, async ({ root, logPath, bytes }) => {
    const store = new CheckpointStore(`${root}/checkpoints`);
    const creator = new CheckpointCreator(store);
    try {
      const pending = creator.create(createOf(logPath, bytes, new Date()));
      creator.close();
      await assertRejects(() => pending, Error, "closed");
      const manifest = await creator.create(createOf(logPath, bytes, new Date()));
      assert(manifest.segments.length > 0);
      assertEquals(await store.verify(manifest), []);
    } finally {
      creator.close();
    }
  });
});
