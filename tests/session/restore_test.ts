import { restoredRecords } from "../../src/session/restore.ts";
import {
  checkRecordLine,
  decodeStoredFrames,
  encodeRecordLine,
  type LogRecord,
  type RecordBody,
  type StoredFrame,
} from "../../src/store/record.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  chatRecord,
  encodeLines,
  eventRecord,
  sessionStartRecord,
  unusualFrameSets,
  unusualMessageRecords,
} from "../log_fixtures.ts";

const OLD = "20261125_133107_959e";
const NEW = "20261125_150000_f00d";
const decoder = new TextDecoder();

/** session_start, unusual messages, a gap, chat messages, shutdown: seqs 41.. */
function originalRecords(): RecordBody[] {
  const unusual = unusualMessageRecords(42, OLD);
  const afterUnusual = 42 + unusual.length;
  return [
    sessionStartRecord(41, OLD),
    ...unusual,
    eventRecord(afterUnusual, OLD, "gap"),
    chatRecord(afterUnusual + 1, OLD, "back again"),
    chatRecord(afterUnusual + 2, OLD, "and again"),
    eventRecord(afterUnusual + 3, OLD, "shutdown"),
  ];
}

function parse(line: Uint8Array): LogRecord {
  const check = checkRecordLine(line);
  if (!check.ok) throw new Error(check.reason);
  return check.record;
}

/** The text of a line from its `topic` field to the field after `meta`: frames and meta verbatim. */
function payloadText(line: Uint8Array, endField: string): string {
  const text = decoder.decode(line);
  const start = text.indexOf(',"topic":');
  const end = text.indexOf(`,"${endField}":`);
  assert(start > 0 && end > start, `no topic..${endField} in ${text}`);
  return text.slice(start, end);
}

Deno.test("restoredRecords() keeps only messages, renumbered into the new session", () => {
  const originals = originalRecords();
  const restored = [...restoredRecords(encodeLines(originals), { session: NEW, firstSeq: 500 })];
  const messages = originals.filter((record) => record.type === "message");
  assertEquals(restored.length, messages.length);
  restored.forEach((record, i) => {
    assertEquals(record.type, "message");
    assertEquals(record.seq, 500 + i);
    assertEquals(record.session, NEW);
    assertEquals(record.received_at, messages[i]!.received_at);
    assertEquals(record.restored_from, { session: OLD, seq: messages[i]!.seq });
    assertEquals(Object.keys(record).slice(0, 5), ["v", "seq", "type", "session", "received_at"]);
    assertEquals(Object.keys(record).at(-1), "restored_from");
    assert(!("crc" in record), "the old checksum is not carried over");
  });
});

Deno.test("restoredRecords() keeps frames and meta byte-identical to the originals", () => {
  const originals = originalRecords();
  const lines = encodeLines(originals);
  const restored = [...restoredRecords(lines, { session: NEW, firstSeq: 7 })];
  const originalMessageLines = lines.filter((line) => parse(line).type === "message");
  const busFrames = unusualFrameSets();
  restored.forEach((record, i) => {
    const newLine = encodeRecordLine(record);
    const reread = parse(newLine);
    const original = parse(originalMessageLines[i]!);
    assertEquals(
      payloadText(newLine, "restored_from"),
      payloadText(originalMessageLines[i]!, "crc"),
    );
    assertEquals(reread.frames, original.frames);
    assertEquals(reread.meta, original.meta);
    assertEquals(reread.topic, original.topic);
    if (i < busFrames.length) {
      assertEquals(decodeStoredFrames(reread.frames as StoredFrame[]), busFrames[i]);
    }
  });
});

Deno.test("restoredRecords() of a restored session points at the session it read from", () => {
  const first = [
    ...restoredRecords(encodeLines(originalRecords()), { session: NEW, firstSeq: 100 }),
  ];
  const again = "20261125_160000_beef";
  const second = [...restoredRecords(encodeLines(first), { session: again, firstSeq: 300 })];
  assertEquals(second.length, first.length);
  second.forEach((record, i) => {
    assertEquals(record.restored_from, { session: NEW, seq: 100 + i });
    assertEquals(Object.keys(record).slice(0, 5), ["v", "seq", "type", "session", "received_at"]);
    assertEquals(record.frames, first[i]!.frames);
  });
});

Deno.test("restoredRecords() throws on a line that fails its checksum", () => {
  const lines = encodeLines(originalRecords());
  const damaged = lines[3]!.slice();
  damaged[30] = damaged[30]! ^ 0x02;
  lines[3] = damaged;
  const restoring = restoredRecords(lines, { session: NEW, firstSeq: 1 });
  assertThrows(() => [...restoring], Error, "checkpoint line failed verification");
});

Deno.test("restoredRecords() of only daemon events yields nothing", () => {
  const lines = encodeLines([sessionStartRecord(1, OLD), eventRecord(2, OLD, "shutdown")]);
  assertEquals([...restoredRecords(lines, { session: NEW, firstSeq: 1 })], []);
});
