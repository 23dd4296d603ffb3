import { DamagedDataError } from "../../src/errors.ts";
import {
  type BadLine,
  readFirstRecord,
  readLineAt,
  readLineAtSync,
  readRecordAt,
  readRecordAtSync,
  scanLog,
  scanLogHeadlines,
} from "../../src/store/log_reader.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  concatBytes,
  encodeLines,
  eventRecord,
  sessionRecords,
  unusualMessageRecords,
} from "../log_fixtures.ts";
import { tempDir } from "../_helpers.ts";

const SESSION = "20261125_133107_959e";

/** Writes lines as a log in a temp dir and runs `fn` with its path and the lines' offsets. */
async function withLog(
  lines: readonly Uint8Array[],
  fn: (path: string, offsets: number[]) => Promise<void>,
): Promise<void> {
  const dir = await tempDir("log_reader");
  try {
    const path = `${dir.path}/current_session.jsonl`;
    await Deno.writeFile(path, concatBytes(lines));
    const offsets: number[] = [];
    let at = 0;
    for (const line of lines) {
      offsets.push(at);
      at += line.length;
    }
    await fn(path, offsets);
  } finally {
    await dir.cleanup();
  }
}

/** A copy of `line` with one byte of its JSON body changed, so its checksum fails. */
function damaged(line: Uint8Array): Uint8Array {
  const copy = line.slice();
  const at = copy.indexOf(0x22, /* " */ 10) + 1;
  copy[at] = copy[at] === 0x58 ? 0x59 : 0x58; // X or Y
  return copy;
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

Deno.test("scanLog() yields every record with its offset and length, in file order", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 5 }));
  await withLog(lines, async (path, offsets) => {
    const placed = await collect(scanLog(path));
    assertEquals(placed.map((p) => p.record.seq), [1, 2, 3, 4, 5, 6]);
    assertEquals(placed.map((p) => p.offset), offsets);
    assertEquals(placed.map((p) => p.length), lines.map((line) => line.length));
    assertEquals(placed.map((p) => p.line.slice()), lines);
  });
});

Deno.test("scanLog() skips damaged lines in the middle and reports each one", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 5 }));
  lines[2] = damaged(lines[2]!);
  lines[4] = new TextEncoder().encode("a line long enough to hold a record, but not one\n");
  await withLog(lines, async (path, offsets) => {
    const bad: BadLine[] = [];
    const placed = await collect(scanLog(path, { onBadLine: (line) => bad.push(line) }));
    assertEquals(placed.map((p) => p.record.seq), [1, 2, 4, 6]);
    assertEquals(bad.map((b) => [b.offset, b.length]), [
      [offsets[2], lines[2]!.length],
      [offsets[4], lines[4]!.length],
    ]);
    assert(bad[0]!.reason.startsWith("checksum mismatch"), bad[0]!.reason);
    assertEquals(bad[1]!.reason, "line does not end with a crc field");
  });
});

Deno.test("scanLog() reads lines longer than its chunk size across chunk boundaries", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 20 }));
  await withLog(lines, async (path, offsets) => {
    const placed = await collect(scanLog(path, { chunkBytes: 7 }));
    assertEquals(placed.map((p) => p.record.seq), lines.map((_, i) => i + 1));
    assertEquals(placed.map((p) => p.offset), offsets);
  });
});

Deno.test("scanLog() starts at fromOffset and leaves out a last line without its newline", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 4 }));
  const torn = lines[4]!.subarray(0, lines[4]!.length - 1); // all but the newline
  await withLog([...lines.slice(0, 4), torn], async (path, offsets) => {
    const placed = await collect(scanLog(path, { fromOffset: offsets[2] }));
    assertEquals(placed.map((p) => p.record.seq), [3, 4]);
  });
});

Deno.test("scanLog() yields nothing for a missing file", async () => {
  const dir = await tempDir("log_reader_missing");
  try {
    assertEquals(await collect(scanLog(`${dir.path}/absent.jsonl`)), []);
    assertEquals(await readFirstRecord(`${dir.path}/absent.jsonl`), undefined);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("scanLogHeadlines() gives seq, type, session, topic and meta of every good line", async () => {
  const records = [
    ...sessionRecords(SESSION, { firstSeq: 1, messages: 2 }),
    ...unusualMessageRecords(4, SESSION),
    eventRecord(10, SESSION, "gap"),
  ];
  const lines = encodeLines(records);
  lines[1] = damaged(lines[1]!);
  await withLog(lines, async (path, offsets) => {
    const bad: BadLine[] = [];
    const headlines = await collect(scanLogHeadlines(path, { onBadLine: (b) => bad.push(b) }));
    const expected = records.filter((_, i) => i !== 1).map((record) => {
      const { seq, type, session, topic, meta } = record;
      return type === "message" ? { seq, type, session, topic, meta } : { seq, type, session };
    });
    assertEquals(headlines.map((h) => ({ ...h.headline })), expected);
    assertEquals(headlines.map((h) => h.offset), offsets.filter((_, i) => i !== 1));
    assertEquals(bad.map((b) => b.offset), [offsets[1]]);
  });
});

Deno.test("readRecordAt() reads and verifies the one line at an offset", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 3 }));
  await withLog(lines, async (path, offsets) => {
    const { record, line } = await readRecordAt(path, offsets[2]!, lines[2]!.length);
    assertEquals(record.seq, 3);
    assertEquals(line, lines[2]);
  });
});

Deno.test("readRecordAt() throws DamagedDataError naming the file and offset of a bad line", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 3 }));
  lines[1] = damaged(lines[1]!);
  await withLog(lines, async (path, offsets) => {
    const error = await assertRejects(
      () => readRecordAt(path, offsets[1]!, lines[1]!.length),
      DamagedDataError,
      `Cannot read the record at byte ${offsets[1]} of "${path}": checksum mismatch`,
    );
    assertEquals(error.exitCode, 65);
    // A length that cuts the line short is damage too, not a crash.
    await assertRejects(() => readRecordAt(path, offsets[2]!, 20), DamagedDataError);
  });
});

Deno.test("readLineAt() returns the bytes as they are, fewer when the file ends first", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 2 }));
  lines[1] = damaged(lines[1]!);
  await withLog(lines, async (path, offsets) => {
    assertEquals(await readLineAt(path, offsets[1]!, lines[1]!.length), lines[1]);
    const tail = await readLineAt(path, offsets[2]!, lines[2]!.length + 100);
    assertEquals(tail, lines[2]);
  });
});

Deno.test("readRecordAtSync() and readLineAtSync() read like their async twins", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 3 }));
  lines[1] = damaged(lines[1]!);
  await withLog(lines, (path, offsets) => {
    const { record, line } = readRecordAtSync(path, offsets[2]!, lines[2]!.length);
    assertEquals([record.seq, line], [3, lines[2]]);
    assertThrows(
      () => readRecordAtSync(path, offsets[1]!, lines[1]!.length),
      DamagedDataError,
      `Cannot read the record at byte ${offsets[1]} of "${path}": checksum mismatch`,
    );
    assertThrows(() => readRecordAtSync(path, offsets[2]!, 20), DamagedDataError);
    assertEquals(readLineAtSync(path, offsets[1]!, lines[1]!.length), lines[1]);
    const last = lines.length - 1; // fewer bytes when the file ends first
    assertEquals(readLineAtSync(path, offsets[last]!, lines[last]!.length + 100), lines[last]);
    return Promise.resolve();
  });
});

Deno.test("readFirstRecord() skips damaged leading lines and returns the first good record", async () => {
  const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 7, messages: 2 }));
  lines[0] = damaged(lines[0]!);
  await withLog(lines, async (path, offsets) => {
    const first = await readFirstRecord(path);
    assertEquals([first?.record.seq, first?.offset], [8, offsets[1]]);
  });
});
