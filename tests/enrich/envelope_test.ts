import { assertEquals } from "../_assert.ts";
import { findEnvelope } from "../../src/enrich/envelope.ts";
import { messageRecord } from "../../src/enrich/mod.ts";

const encoder = new TextEncoder();
const frames = (...texts: string[]) => texts.map((text) => encoder.encode(text));

Deno.test("findEnvelope() reads pub and seq from the payload, in either key order", () => {
  assertEquals(
    findEnvelope(frames("t", '{"a":1,"_shearwater":{"pub":"alice/7f3a9c","seq":12}}')),
    { pub: "alice/7f3a9c", seq: 12 },
  );
  assertEquals(
    findEnvelope(frames("t", '{"_shearwater" : { "seq": 3, "pub": "b/1" }, "x": "}"}')),
    { pub: "b/1", seq: 3 },
  );
  assertEquals(findEnvelope(frames('topic {"_shearwater":{"pub":"c/2","seq":1}}')), {
    pub: "c/2",
    seq: 1,
  });
});

Deno.test("findEnvelope() ignores payloads without a valid envelope", () => {
  assertEquals(findEnvelope(frames("t", '{"content":"hello"}')), undefined);
  assertEquals(findEnvelope(frames("t", '{"_shearwater":{"pub":"","seq":1}}')), undefined);
  assertEquals(findEnvelope(frames("t", '{"_shearwater":{"pub":"a","seq":0}}')), undefined);
  assertEquals(findEnvelope(frames("t", '{"_shearwater":{"pub":"a","seq":1.5}}')), undefined);
  assertEquals(findEnvelope(frames("t", '{"_shearwater":{"pub":"a","seq":{"n":1}}}')), undefined);
  assertEquals(findEnvelope(frames("t", '{"_shearwater":"a"}')), undefined);
  // Quoted inside a string value, the marker is escaped and does not match.
  assertEquals(
    findEnvelope(frames("t", JSON.stringify({ text: '"_shearwater":{"pub":"a","seq":1}' }))),
    undefined,
  );
  assertEquals(findEnvelope([new Uint8Array([0xff, 0xfe])]), undefined);
  assertEquals(findEnvelope([]), undefined);
});

Deno.test("messageRecord() puts the envelope in meta.pub and meta.pub_seq, large payloads too", () => {
  const placement = { seq: 1, session: "s", receivedAt: new Date(0) };
  const small = messageRecord(
    frames("t", '{"from":"a","content":"hi","_shearwater":{"pub":"a/1","seq":4}}'),
    placement,
  );
  const smallMeta = small.meta as Record<string, unknown>;
  assertEquals([smallMeta.pub, smallMeta.pub_seq, smallMeta.sender], ["a/1", 4, "a"]);
  const big = JSON.stringify({
    content: "x".repeat(2 * 1024 * 1024),
    _shearwater: { pub: "b/2", seq: 9 },
  });
  const bigMeta = messageRecord(frames("t", big), placement).meta as Record<string, unknown>;
  assertEquals([bigMeta.pub, bigMeta.pub_seq], ["b/2", 9]);
  assertEquals(
    (messageRecord(frames("t", "{}"), placement).meta as Record<string, unknown>).pub,
    undefined,
  );
});
