import { IndexWorkerHandle } from "../../src/indexer/index_worker_handle.ts";
import { indexPath, openIndexWriter } from "../../src/indexer/open_index.ts";
import { type Logger, silentLogger } from "../../src/logger.ts";
import { SqliteIndex } from "../../src/store/sqlite_index.ts";
import { assertEquals } from "../_assert.ts";
import { waitFor } from "../_helpers.ts";
import { appendLog, sessionRecords, withDataDir, writeLog } from "../log_fixtures.ts";
import { DataDirBusyError } from "../../src/errors.ts";

const SESSION = "20261125_100000_0002";

Deno.test("IndexWorkerHandle indexes the logs in its worker, follows appends, and stops", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 1, messages: 4 }));
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (event) => errors.push(event) };
    const handle = IndexWorkerHandle.start({ dataDir: layout.root, logLevel: "warn", logger });
    try {
      await waitFor("the worker to index seq 5", () => handle.state.lastSeq === 5);
      assertEquals(handle.state.state, "indexing");
      await appendLog(
        layout.currentLog,
        sessionRecords(SESSION, { firstSeq: 5, messages: 3 }).slice(1),
      );
      await waitFor("the worker to index seq 8", () => handle.state.lastSeq === 8);
    } finally {
      await handle.stop(10_000);
    }
    assertEquals(handle.state.state, "stopped");
    assertEquals(errors, []);
    // Stopped means the index lock is free and the index holds what was reported.
    const writer = await openIndexWriter(layout, silentLogger);
    try {
      assertEquals(writer.index.lastSeq(), 8);
    } finally {
      writer.close();
    }
  });
});

Deno.test("IndexWorkerHandle.release() lets another process take the index lock, then waits for it", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 1, messages: 2 }));
    const handle = IndexWorkerHandle.start({
      dataDir: layout.root,
      logLevel: "warn",
      logger: silentLogger,
    });
    try {
      await waitFor("the worker to index seq 3", () => handle.state.lastSeq === 3);
      handle.release();
      let writer: Awaited<ReturnType<typeof openIndexWriter>> | undefined;
      await waitFor("the index lock to be released", async () => {
        try {
          writer = await openIndexWriter(layout, silentLogger);
          return true;
        } catch (error) {
          if (error instanceof DataDirBusyError) return false;
          throw error;
        }
      });
      await appendLog(
        layout.currentLog,
        sessionRecords(SESSION, { firstSeq: 3, messages: 1 }).slice(1),
      );
      await waitFor("the worker to wait for the lock", () => handle.state.state === "waiting");
      writer!.close();
      await waitFor("the worker to index seq 4", () => handle.state.lastSeq === 4);
    } finally {
      await handle.stop(10_000);
    }
    const reader = SqliteIndex.open(indexPath(layout), { readOnly: true });
    try {
      assertEquals(reader.count(), 4);
    } finally {
      reader.close();
    }
  });
});
