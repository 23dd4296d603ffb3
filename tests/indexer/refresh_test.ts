import { DatabaseSync } from "node:sqlite";
import { DataDirBusyError } from "../../src/errors.ts";
import { indexPath, openIndexWriter } from "../../src/indexer/open_index.ts";
import { indexCoversLogs, refreshIndex } from "../../src/indexer/refresh.ts";
import { silentLogger } from "../../src/logger.ts";
import { SqliteIndex } from "../../src/store/sqlite_index.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { appendLog, sessionRecords, withDataDir, writeLog } from "../log_fixtures.ts";

const SESSION = "20261125_100000_0002";

Deno.test("refreshIndex() builds a missing index from the logs, then adds only what is new", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 1, messages: 4 }));
    const first = await refreshIndex(layout, { logger: silentLogger });
    assertEquals(first, {
      records: 5,
      reindexedFiles: 0,
      badLines: 0,
      rebuiltBecause: "index.db was missing",
    });
    await appendLog(
      layout.currentLog,
      sessionRecords(SESSION, { firstSeq: 5, messages: 2 }).slice(1),
    );
    const second = await refreshIndex(layout, { logger: silentLogger });
    assertEquals([second.records, second.rebuiltBecause], [2, undefined]);
    const reader = SqliteIndex.open(indexPath(layout), { readOnly: true });
    try {
      assertEquals([reader.count(), reader.lastSeq()], [7, 7]);
    } finally {
      reader.close();
    }
  });
});

Deno.test("refreshIndex() with fresh rebuilds everything from scratch", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 1, messages: 4 }));
    await refreshIndex(layout, { logger: silentLogger });
    const rebuilt = await refreshIndex(layout, { logger: silentLogger, fresh: true });
    assertEquals([rebuilt.records, rebuilt.rebuiltBecause], [5, "reindex requested"]);
  });
});

Deno.test("refreshIndex() sets aside an index found damaged while catching up and rebuilds it", async () => {
  await withDataDir(async (layout) => {
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 1, messages: 30 }));
    await refreshIndex(layout, { logger: silentLogger });
    // Overwrite the pages of the `files` table: the index still opens, but reading it fails.
    const db = new DatabaseSync(indexPath(layout));
    const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'files'")
      .get() as { rootpage: number };
    const { page_size } = db.prepare("PRAGMA page_size").get() as { page_size: number };
    db.close();
    const file = await Deno.open(indexPath(layout), { write: true });
    await file.seek((rootpage - 1) * page_size, Deno.SeekMode.Start);
    await file.write(new Uint8Array(page_size).fill(0xa5));
    file.close();
    const result = await refreshIndex(layout, { logger: silentLogger });
    assert(
      /^index\.db is damaged: .*malformed.*; set aside as /.test(result.rebuiltBecause ?? ""),
      result.rebuiltBecause,
    );
    assertEquals(result.records, 31);
    const recovered = [...Deno.readDirSync(layout.recoveryDir)].map((entry) => entry.name);
    assertEquals(recovered.length, 1);
  });
});

Deno.test("refreshIndex() throws DataDirBusyError while another writer holds the index", async () => {
  await withDataDir(async (layout) => {
    const writer = await openIndexWriter(layout, silentLogger);
    try {
      await assertRejects(() => refreshIndex(layout, { logger: silentLogger }), DataDirBusyError);
    } finally {
      writer.close();
    }
  });
});

Deno.test("refreshIndex() drops the entries of an archived log deleted since the last refresh", async () => {
  await withDataDir(async (layout) => {
    const archived = `${layout.archiveDir}/session_20261124_090000_0001.jsonl`;
    await writeLog(archived, sessionRecords("20261124_090000_0001", { firstSeq: 1, messages: 2 }));
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 4, messages: 2 }));
    await refreshIndex(layout, { logger: silentLogger });
    await Deno.remove(archived);
    const result = await refreshIndex(layout, { logger: silentLogger });
    assertEquals([result.records, result.reindexedFiles], [0, 1]);
    const reader = SqliteIndex.open(indexPath(layout), { readOnly: true });
    try {
      assertEquals(reader.files().map((file) => file.path), ["current_session.jsonl"]);
      assertEquals(reader.search({ limit: 10 }).map((hit) => hit.seq), [6, 5]);
    } finally {
      reader.close();
    }
  });
});

/** Opens the index read-only and asks {@link indexCoversLogs}. */
async function covers(layout: Parameters<typeof indexCoversLogs>[0]): Promise<boolean> {
  const reader = SqliteIndex.open(indexPath(layout), { readOnly: true });
  try {
    return await indexCoversLogs(layout, reader);
  } finally {
    reader.close();
  }
}

Deno.test("indexCoversLogs() is true only while every log is indexed to its end", async () => {
  await withDataDir(async (layout) => {
    const archived = `${layout.archiveDir}/session_20261125_090000_0001.jsonl`;
    await Deno.mkdir(layout.archiveDir, { recursive: true });
    await writeLog(archived, sessionRecords("20261125_090000_0001", { firstSeq: 1, messages: 3 }));
    await writeLog(layout.currentLog, sessionRecords(SESSION, { firstSeq: 5, messages: 4 }));
    await refreshIndex(layout, { logger: silentLogger });
    assert(await covers(layout), "just refreshed");

    await appendLog(
      layout.currentLog,
      sessionRecords(SESSION, { firstSeq: 9, messages: 1 }).slice(1),
    );
    assert(!(await covers(layout)), "a record appended");
    await refreshIndex(layout, { logger: silentLogger });
    assert(await covers(layout));

    // Same size, other content: the last indexed record no longer reads back as indexed.
    const bytes = await Deno.readFile(layout.currentLog);
    const at = new TextDecoder().decode(bytes).lastIndexOf('"seq":10,') + '"seq":1'.length;
    bytes[at] = "1".charCodeAt(0);
    await Deno.writeFile(layout.currentLog, bytes);
    assert(!(await covers(layout)), "the log was replaced");
    await refreshIndex(layout, { logger: silentLogger });
    assert(await covers(layout));

    await Deno.remove(archived);
    assert(!(await covers(layout)), "an indexed log is gone");
    await Deno.remove(layout.currentLog);
    assert(!(await covers(layout)), "still indexed, both gone");
    await refreshIndex(layout, { logger: silentLogger });
    assert(await covers(layout), "no logs, nothing indexed");
  });
});
