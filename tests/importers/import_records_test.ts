import { importedRecords } from "../../src/importers/import_records.ts";
import { readTranscript } from "../../src/importers/read_transcript.ts";
import { checkRecordLine, encodeRecordLine } from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();
const IMPORTED_AT = new Date("2026-11-30T00:00:00.000Z");
const placement = { firstSeq: 100, session: "20261122_080000_abcd", importedAt: IMPORTED_AT };

Deno.test("importedRecords() frames a session around the lines, each line kept byte for byte", async () => {
  const text = '{"text":"no time yet"}\r\n{"ts":"2026-11-22T08:00:00Z","from":"a","text":"one"}\n' +
    '{"text":"after it"}\n{"ts":1795334400,"from":"b","text":"epoch seconds"}\n';
  const transcript = await readTranscript(encoder.encode(text), "jsonl");
  const records = importedRecords(
    transcript.lines,
    { path: "/t/chat.jsonl", format: "jsonl" },
    placement,
  );
  assertEquals(records.map((record) => [record.seq, record.type]), [
    [100, "session_start"],
    [101, "message"],
    [102, "message"],
    [103, "message"],
    [104, "message"],
    [105, "session_end"],
  ]);
  // A line without a time takes the one before it; leading ones the first time found.
  const epoch = new Date(1795334400 * 1000).toISOString();
  assertEquals(records.map((record) => record.received_at), [
    "2026-11-22T08:00:00.000Z", // session_start: the first time found
    "2026-11-22T08:00:00.000Z",
    "2026-11-22T08:00:00.000Z",
    "2026-11-22T08:00:00.000Z",
    epoch,
    epoch, // session_end: the last time
  ]);
  const lines = text.split("\n");
  assertEquals((records[1]!.frames as string[])[1], lines[0], "the CR of a CRLF line is kept");
  assertEquals(records[1]!.topic, "import/jsonl");
  for (const record of records) {
    const check = checkRecordLine(encodeRecordLine(record));
    assert(check.ok, `${record.seq} encodes as a valid v1 line`);
  }
  const meta = records[2]!.meta as Record<string, unknown>;
  assertEquals(meta.sender, "a");
  assertEquals(meta.imported_at, IMPORTED_AT.toISOString());
  assertEquals((meta.imported_from as { line: number }).line, 2);
});

Deno.test("importedRecords() uses the import time for a transcript without any times", async () => {
  const transcript = await readTranscript(encoder.encode('{"text":"a"}\n{"text":"b"}\n'), "jsonl");
  const records = importedRecords(
    transcript.lines,
    { path: "/t/x.jsonl", format: "jsonl" },
    placement,
  );
  assert(records.every((record) => record.received_at === IMPORTED_AT.toISOString()));
});
