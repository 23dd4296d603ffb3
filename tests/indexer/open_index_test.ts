import { DatabaseSync } from "node:sqlite";
import { DataDirBusyError } from "../../src/errors.ts";
import {
  indexLockPath,
  indexPath,
  isCorruptionError,
  openIndexWriter,
} from "../../src/indexer/open_index.ts";
import { silentLogger } from "../../src/logger.ts";
import type { DataDirLayout } from "../../src/store/data_dir.ts";
import { SqliteIndex } from "../../src/store/sqlite_index.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { withDataDir } from "../log_fixtures.ts";

/** Names of the files in the data dir's recovery folder. */
async function recoveryFiles(layout: DataDirLayout): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(layout.recoveryDir)) names.push(entry.name);
  return names.sort();
}

Deno.test("openIndexWriter() creates a missing index (mode 0600) and says why it starts empty", async () => {
  await withDataDir(async (layout) => {
    const writer = await openIndexWriter(layout, silentLogger);
    try {
      assertEquals(writer.rebuiltBecause, "index.db was missing");
      assertEquals(writer.index.count(), 0);
      assertEquals((await Deno.stat(indexPath(layout))).mode! & 0o777, 0o600);
    } finally {
      writer.close();
    }
    const again = await openIndexWriter(layout, silentLogger);
    again.close();
    assertEquals(again.rebuiltBecause, undefined);
  });
});

Deno.test("openIndexWriter() sets a file that is not SQLite aside in recovery/ and starts afresh", async () => {
  await withDataDir(async (layout) => {
    const garbage = new TextEncoder().encode("this is not a database ".repeat(300));
    await Deno.writeFile(indexPath(layout), garbage);
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (event: string) => warnings.push(event) };
    const writer = await openIndexWriter(layout, logger);
    try {
      assert(writer.rebuiltBecause?.includes("set aside as "), writer.rebuiltBecause);
      assertEquals(writer.index.count(), 0);
    } finally {
      writer.close();
    }
    const [setAside] = await recoveryFiles(layout);
    assert(/^index_unusable_.*\.db$/.test(setAside ?? ""), `set aside as ${setAside}`);
    assert(writer.rebuiltBecause!.endsWith(`${layout.recoveryDir}/${setAside}`));
    assertEquals(await Deno.readFile(`${layout.recoveryDir}/${setAside}`), garbage);
    assertEquals(warnings, ["index_set_aside"]);
  });
});

Deno.test("openIndexWriter() sets aside an index of another schema version", async () => {
  await withDataDir(async (layout) => {
    SqliteIndex.open(indexPath(layout), { readOnly: false }).close();
    const db = new DatabaseSync(indexPath(layout));
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    db.close();
    const writer = await openIndexWriter(layout, silentLogger);
    writer.close();
    assert(writer.rebuiltBecause?.includes("schema version 99, expected 2"), writer.rebuiltBecause);
    assertEquals((await recoveryFiles(layout)).length, 1);
  });
});

Deno.test("openIndexWriter() with setAsideBecause moves the index and its WAL files aside", async () => {
  await withDataDir(async (layout) => {
    (await openIndexWriter(layout, silentLogger)).close();
    // As a crashed writer leaves them (a clean close removes them).
    await Deno.writeTextFile(`${indexPath(layout)}-wal`, "wal");
    await Deno.writeTextFile(`${indexPath(layout)}-shm`, "shm");
    const writer = await openIndexWriter(layout, silentLogger, { setAsideBecause: "it lied" });
    writer.close();
    assert(writer.rebuiltBecause?.startsWith("it lied; set aside as "), writer.rebuiltBecause);
    const names = await recoveryFiles(layout);
    assertEquals(names.map((name) => name.replace(/^.*\.db/, ".db")), [
      ".db",
      ".db-shm",
      ".db-wal",
    ]);
    const setAside = writer.rebuiltBecause!.slice("it lied; set aside as ".length);
    assertEquals(await Deno.readTextFile(`${setAside}-wal`), "wal");
    await Deno.stat(indexPath(layout)); // a new, empty index took its place
  });
});

Deno.test("openIndexWriter() with fresh deletes the index and starts empty", async () => {
  await withDataDir(async (layout) => {
    const writer = await openIndexWriter(layout, silentLogger);
    writer.index.applyBatch({
      firstSeq: 1,
      path: "current_session.jsonl",
      session: "s",
      indexedBytes: 10,
      lastSeq: 1,
      lastOffset: 0,
      lastLength: 10,
    }, []);
    writer.close();
    const fresh = await openIndexWriter(layout, silentLogger, { fresh: true });
    fresh.close();
    assertEquals(fresh.rebuiltBecause, "reindex requested");
    const reader = SqliteIndex.open(indexPath(layout), { readOnly: true });
    assertEquals(reader.files(), []);
    reader.close();
    assertEquals((await recoveryFiles(layout)).length, 0);
  });
});

Deno.test("openIndexWriter() throws DataDirBusyError while the index lock is held", async () => {
  await withDataDir(async (layout) => {
    const writer = await openIndexWriter(layout, silentLogger);
    try {
      await assertRejects(
        () => openIndexWriter(layout, silentLogger),
        DataDirBusyError,
        `in use by indexer PID ${Deno.pid}`,
      );
    } finally {
      writer.close();
    }
    const after = await openIndexWriter(layout, silentLogger);
    after.close();
    const holder = JSON.parse(await Deno.readTextFile(indexLockPath(layout)));
    assertEquals([holder.pid, holder.role], [Deno.pid, "indexer"]);
  });
});

Deno.test("isCorruptionError() tells SQLite's damage messages from other errors", () => {
  assert(isCorruptionError(new Error("database disk image is malformed")));
  assert(isCorruptionError(new Error("file is not a database")));
  assert(!isCorruptionError(new Error("database or disk is full")));
  assert(!isCorruptionError(new Error("database is locked")));
  assert(!isCorruptionError(undefined));
});
