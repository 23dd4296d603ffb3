import { packBatch, type PackItem, unpackBatch } from "../../src/recording/_batch_codec.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();
const ITEM_HEADER_BYTES = 1 + 8 + 8 + 4; // kind, seq, receivedAtMs, part count
const PART_HEADER_BYTES = 8; // length as a float64

Deno.test("unpackBatch() gives back what packBatch() packed, in order, parts byte for byte", () => {
  const items: PackItem[] = [
    { kind: 0, seq: 1, parts: [encoder.encode('{"v":1,"seq":1}\n')] },
    {
      kind: 1,
      seq: 2,
      receivedAtMs: Date.parse("2026-11-25T13:00:00.123Z"),
      parts: [encoder.encode("agent.claude"), new Uint8Array([0, 255, 10, 13])],
    },
    { kind: 1, seq: 3, receivedAtMs: 1.5, parts: [new Uint8Array(0), new Uint8Array(0)] },
    { kind: 1, seq: 2 ** 40 + 7, receivedAtMs: 0, parts: [] },
    { kind: 0, seq: Number.MAX_SAFE_INTEGER, parts: [new Uint8Array(70_000).fill(7)] },
  ];
  const unpacked = unpackBatch(packBatch(items));
  assertEquals(
    unpacked.map((item) => ({ ...item, parts: item.parts.map((part) => part.slice()) })),
    items.map((item) => ({
      kind: item.kind,
      seq: item.seq,
      receivedAtMs: item.kind === 1 ? item.receivedAtMs : 0,
      parts: item.parts.map((part) => part.slice()),
    })),
  );
});

Deno.test("packBatch() of nothing is an empty buffer, and unpacks to nothing", () => {
  const buffer = packBatch([]);
  assertEquals(buffer.byteLength, 0);
  assertEquals(unpackBatch(buffer), []);
});

Deno.test("unpackBatch() returns views into the batch buffer, not copies", () => {
  const buffer = packBatch([{ kind: 1, seq: 1, receivedAtMs: 0, parts: [encoder.encode("ab")] }]);
  const [item] = unpackBatch(buffer);
  assert(item!.parts[0]!.buffer === buffer, "the part is a view of the batch");
  assertEquals(item!.parts[0]!.byteOffset, ITEM_HEADER_BYTES + PART_HEADER_BYTES);
});

Deno.test("packBatch() writes each part's length as a 64-bit number, not a u32", () => {
  const part = new Uint8Array(300);
  const view = new DataView(packBatch([{ kind: 1, seq: 9, receivedAtMs: 0, parts: [part] }]));
  assertEquals(view.getFloat64(ITEM_HEADER_BYTES), 300);
});

Deno.test("unpackBatch() reads a part over 4 GiB whole: its length is not cut to 32 bits", () => {
  // The batch is built by hand: packing a 4 GiB frame would copy 4 GiB. The buffer's pages are
  // zero until written, so only the few bytes set here take memory.
  const partBytes = 2 ** 32 + 3;
  const buffer = new ArrayBuffer(ITEM_HEADER_BYTES + PART_HEADER_BYTES + partBytes);
  const view = new DataView(buffer);
  view.setUint8(0, 1);
  view.setFloat64(1, 42);
  view.setFloat64(9, 1234.5);
  view.setUint32(17, 1);
  view.setFloat64(ITEM_HEADER_BYTES, partBytes);
  const bytes = new Uint8Array(buffer);
  const start = ITEM_HEADER_BYTES + PART_HEADER_BYTES;
  bytes[start] = 0x11;
  bytes[start + partBytes - 1] = 0x22;
  const [item, ...rest] = unpackBatch(buffer);
  assertEquals(rest, []);
  assertEquals([item!.kind, item!.seq, item!.receivedAtMs], [1, 42, 1234.5]);
  const [part] = item!.parts;
  assertEquals(part!.length, partBytes);
  assertEquals([part![0], part![partBytes - 1]], [0x11, 0x22]);
});
