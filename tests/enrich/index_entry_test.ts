import { indexEntryOf } from "../../src/enrich/index_entry.ts";
import { messageRecord, oversizedRecord } from "../../src/enrich/mod.ts";
import { checkRecordLine, encodeRecordLine, type LogRecord } from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();
const PLACEMENT = { seq: 3, session: "20261129_232000_b10b", receivedAt: new Date(0) };

function logged(body: ReturnType<typeof messageRecord>): LogRecord {
  const check = checkRecordLine(encodeRecordLine(body));
  assert(check.ok);
  return check.record;
}

Deno.test("indexEntryOf() searches a blob frame by its head and keeps the full size", () => {
  const text = "needle at the start, then " + "hay ".repeat(2_000_000);
  const record = logged(
    messageRecord([encoder.encode("big.text"), encoder.encode(text)], PLACEMENT),
  );
  const entry = indexEntryOf(record);
  assert(entry.content !== null && entry.content.startsWith("needle at the start"));
  assert(entry.content.length <= 4096, `indexed ${entry.content.length} characters`);
  assertEquals(entry.bytes, text.length + 8);
  assert(entry.preview!.startsWith("needle at the start"));
});

Deno.test("indexEntryOf() indexes an oversized record with its size, topic and reason", () => {
  const frames = [encoder.encode("too.big"), new Uint8Array(1000)];
  const record = logged(oversizedRecord(frames, PLACEMENT, { maxMessageBytes: 500 }));
  const entry = indexEntryOf(record);
  assertEquals([entry.type, entry.kind, entry.topic, entry.bytes], [
    "oversized",
    "oversized",
    "too.big",
    1007,
  ]);
  assert(entry.preview!.includes("over max-message-bytes"), entry.preview!);
  assertEquals(entry.content, null);
});
