import { ParsingWorker } from "../../src/indexer/entry_source.ts";
import { type CatchUpProgress, LogIndexer } from "../../src/indexer/log_indexer.ts";
import { indexPath } from "../../src/indexer/open_index.ts";
import type { Logger } from "../../src/logger.ts";
import type { DataDirLayout } from "../../src/store/data_dir.ts";
import { archiveCurrentLog } from "../../src/store/session_archive.ts";
import { SqliteIndex } from "../../src/store/sqlite_index.ts";
import { assert, assertEquals } from "../_assert.ts";
import {
  appendLog,
  concatBytes,
  encodeLines,
  sessionRecords,
  withDataDir,
  writeLog,
} from "../log_fixtures.ts";

const OLD = "20261124_090000_0001";
const NEW = "20261125_100000_0002";

/** A logger that keeps warnings by event name. */
function recordingLogger(): Logger & { warnings: { event: string; fields?: unknown }[] } {
  const warnings: { event: string; fields?: unknown }[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(event, fields) {
      warnings.push({ event, fields });
    },
    error(event, fields) {
      warnings.push({ event, fields });
    },
  };
}

/** Runs `fn` with a data dir and a writable index in it, closed afterwards. */
function withIndex(
  fn: (layout: DataDirLayout, index: SqliteIndex) => Promise<void>,
): Promise<void> {
  return withDataDir(async (layout) => {
    const index = SqliteIndex.open(indexPath(layout), { readOnly: false });
    try {
      await fn(layout, index);
    } finally {
      index.close();
    }
  });
}

/** An archived session (seq 1-4) and a current one (seq 5-10), as the daemon leaves them. */
async function twoSessions(layout: DataDirLayout): Promise<string> {
  const archived = `${layout.archiveDir}/session_${OLD}.jsonl`;
  await writeLog(archived, sessionRecords(OLD, { firstSeq: 1, messages: 3 }));
  await writeLog(layout.currentLog, sessionRecords(NEW, { firstSeq: 5, messages: 5 }));
  return archived;
}

Deno.test("LogIndexer.catchUp() indexes the archive and the current log into the index", async () => {
  await withIndex(async (layout, index) => {
    await twoSessions(layout);
    const result = await new LogIndexer(layout, index, { logger: recordingLogger() }).catchUp();
    assertEquals(result, { records: 10, reindexedFiles: 0, badLines: 0 });
    assertEquals(index.count(), 10);
    assertEquals(index.lastSeq(), 10);
    const currentSize = (await Deno.stat(layout.currentLog)).size;
    assertEquals(
      index.files().map((file) => [file.firstSeq, file.path, file.session, file.lastSeq]),
      [[1, `archive/session_${OLD}.jsonl`, OLD, 4], [5, "current_session.jsonl", NEW, 10]],
    );
    assertEquals(index.files()[1]?.indexedBytes, currentSize);
    const [hit] = index.search({ text: "message 3", limit: 5 });
    assertEquals([hit?.seq, hit?.file], [3, `archive/session_${OLD}.jsonl`]);
    assertEquals(index.sessions().map((s) => [s.session, s.messages]), [[OLD, 3], [NEW, 5]]);
  });
});

Deno.test("LogIndexer.catchUp() reads only what was appended since the last pass", async () => {
  await withIndex(async (layout, index) => {
    await twoSessions(layout);
    const indexer = new LogIndexer(layout, index, { logger: recordingLogger() });
    await indexer.catchUp();
    assertEquals((await indexer.catchUp()).records, 0);
    const more = sessionRecords(NEW, { firstSeq: 10, messages: 3 }).slice(1); // seq 11-13
    await appendLog(layout.currentLog, more);
    assertEquals(await indexer.catchUp(), { records: 3, reindexedFiles: 0, badLines: 0 });
    assertEquals(index.lastSeq(), 13);
    // A new indexer (a restarted daemon) resumes from the index's progress, not from byte 0.
    await appendLog(layout.currentLog, sessionRecords(NEW, { firstSeq: 13, messages: 1 }).slice(1));
    const restarted = new LogIndexer(layout, index, { logger: recordingLogger() });
    assertEquals((await restarted.catchUp()).records, 1);
    assertEquals(index.count(), 14);
  });
});

Deno.test("LogIndexer.catchUp() follows an archived log by its first seq: path updated, nothing re-read", async () => {
  await withIndex(async (layout, index) => {
    await twoSessions(layout);
    const indexer = new LogIndexer(layout, index, { logger: recordingLogger() });
    await indexer.catchUp();
    const archived = await archiveCurrentLog(layout, NEW);
    assert(archived, "the current log was archived");
    assertEquals(await indexer.catchUp(), { records: 0, reindexedFiles: 0, badLines: 0 });
    assertEquals(index.locate(7)?.file, `archive/session_${NEW}.jsonl`);
    assertEquals(index.count(), 10);
  });
});

Deno.test("LogIndexer.catchUp() skips damaged lines, logs them, and indexes the rest", async () => {
  await withIndex(async (layout, index) => {
    const lines = encodeLines(sessionRecords(NEW, { firstSeq: 1, messages: 5 }));
    const at = lines[3]!.indexOf(0x22, 10) + 1;
    lines[3]![at] = lines[3]![at]! ^ 0x01;
    await Deno.writeFile(layout.currentLog, concatBytes(lines));
    const logger = recordingLogger();
    const result = await new LogIndexer(layout, index, { logger }).catchUp();
    assertEquals(result, { records: 5, reindexedFiles: 0, badLines: 1 });
    assertEquals(index.locate(4), undefined);
    assertEquals(index.lastSeq(), 6);
    assertEquals(logger.warnings.map((w) => w.event), ["index_skipped_bad_line"]);
    // The bad line counts as indexed: the next pass does not report it again.
    assertEquals((await new LogIndexer(layout, index, { logger }).catchUp()).badLines, 0);
  });
});

Deno.test("LogIndexer.catchUp() leaves a line being written for the next pass", async () => {
  await withIndex(async (layout, index) => {
    const lines = encodeLines(sessionRecords(NEW, { firstSeq: 1, messages: 3 }));
    const last = lines.pop()!;
    await Deno.writeFile(layout.currentLog, concatBytes([...lines, last.subarray(0, 30)]));
    const indexer = new LogIndexer(layout, index, { logger: recordingLogger() });
    assertEquals((await indexer.catchUp()).records, 3);
    await Deno.writeFile(layout.currentLog, last.subarray(30), { append: true });
    assertEquals((await indexer.catchUp()).records, 1);
    assertEquals(index.lastSeq(), 4);
  });
});

Deno.test("LogIndexer.catchUp() re-indexes from scratch a file that no longer holds what was indexed", async () => {
  await withIndex(async (layout, index) => {
    await writeLog(layout.currentLog, sessionRecords(NEW, { firstSeq: 1, messages: 6 }));
    const logger = recordingLogger();
    const indexer = new LogIndexer(layout, index, { logger });
    await indexer.catchUp();
    // Tail repair cut the file back, then other records were written after the cut.
    await writeLog(layout.currentLog, sessionRecords(NEW, { firstSeq: 1, messages: 2 }));
    assertEquals(await indexer.catchUp(), { records: 3, reindexedFiles: 1, badLines: 0 });
    assertEquals(index.count(), 3);
    assertEquals(index.locate(5), undefined);
    assertEquals(logger.warnings.map((w) => w.event), ["index_file_changed"]);
  });
});

Deno.test("LogIndexer.catchUp() drops the entries of a deleted log after two passes without it", async () => {
  await withIndex(async (layout, index) => {
    const archived = await twoSessions(layout);
    const logger = recordingLogger();
    const indexer = new LogIndexer(layout, index, { logger });
    await indexer.catchUp();
    await Deno.remove(archived);
    assertEquals((await indexer.catchUp()).reindexedFiles, 0); // maybe mid-rename: wait
    assertEquals(index.count(), 10);
    assertEquals((await indexer.catchUp()).reindexedFiles, 1);
    assertEquals(index.count(), 6);
    assertEquals(index.files().map((file) => file.firstSeq), [5]);
    assertEquals(logger.warnings.map((w) => w.event), ["index_file_vanished"]);
  });
});

Deno.test("LogIndexer.catchUp() stops between batches when asked and the next pass resumes", async () => {
  await withIndex(async (layout, index) => {
    await writeLog(layout.currentLog, sessionRecords(NEW, { firstSeq: 1, messages: 9 }));
    let stop = true;
    const batches: number[] = [];
    const indexer = new LogIndexer(layout, index, {
      logger: recordingLogger(),
      batchSize: 4,
      shouldStop: () => stop && batches.length > 0,
      onBatch: (lastSeq) => batches.push(lastSeq),
    });
    assertEquals((await indexer.catchUp()).records, 4);
    assertEquals(index.lastSeq(), 4);
    stop = false;
    assertEquals((await indexer.catchUp()).records, 6);
    assertEquals(batches, [4, 8, 10]);
  });
});

Deno.test("LogIndexer.catchUp() reports progress up to the bytes it had to read", async () => {
  await withIndex(async (layout, index) => {
    await twoSessions(layout);
    const progress: CatchUpProgress[] = [];
    const indexer = new LogIndexer(layout, index, {
      logger: recordingLogger(),
      batchSize: 3,
      onProgress: (step) => progress.push(step),
    });
    await indexer.catchUp();
    const archiveSize = (await Deno.stat(`${layout.archiveDir}/session_${OLD}.jsonl`)).size;
    const total = archiveSize + (await Deno.stat(layout.currentLog)).size;
    assert(progress.length >= 4, `${progress.length} progress reports`);
    assert(progress.every((step) => step.bytesTotal === total), "one total for the whole pass");
    assert(
      progress.every((step, i) => i === 0 || step.bytesDone >= progress[i - 1]!.bytesDone),
      "bytes done never go back",
    );
    assertEquals(progress.at(-1), { bytesDone: total, bytesTotal: total, records: 10 });
  });
});

Deno.test("LogIndexer.catchUp() parses a backlog in a ParsingWorker: same entries, same bad lines", async () => {
  await withIndex(async (layout, index) => {
    const lines = encodeLines(sessionRecords(NEW, { firstSeq: 1, messages: 12 }));
    const at = lines[3]!.indexOf(0x22, 10) + 1;
    lines[3]![at] = lines[3]![at]! ^ 0x01;
    await Deno.writeFile(layout.currentLog, concatBytes(lines));
    const parser = ParsingWorker.start();
    const logger = recordingLogger();
    try {
      const indexer = new LogIndexer(layout, index, {
        logger,
        batchSize: 5,
        backlogSource: { source: () => parser.source, fromBytes: 2000 },
      });
      assertEquals(await indexer.catchUp(), { records: 12, reindexedFiles: 0, badLines: 1 });
      // Appended afterwards, below the backlog size: read on this thread.
      await appendLog(
        layout.currentLog,
        sessionRecords(NEW, { firstSeq: 13, messages: 2 }).slice(1),
      );
      assertEquals(await indexer.catchUp(), { records: 2, reindexedFiles: 0, badLines: 0 });
    } finally {
      parser.close();
    }
    assertEquals(index.locate(4), undefined);
    assertEquals([index.count(), index.lastSeq()], [14, 15]);
    assertEquals(index.search({ text: "message 9", limit: 5 }).map((hit) => hit.seq), [9]);
    assertEquals(logger.warnings.map((w) => w.event), ["index_skipped_bad_line"]);
  });
});
