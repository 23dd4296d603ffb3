import { createHash } from "node:crypto";
import { decodeFrame, messageRecord, oversizedRecord } from "../../src/enrich/mod.ts";
import { checkRecordLine, encodeRecordLine } from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();
const PLACEMENT = {
  seq: 9,
  session: "20261129_231500_b10b",
  receivedAt: new Date("2026-11-29T23:15:00.000Z"),
};

function sha256(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

Deno.test("decodeFrame() and encodeRecordLine() handle a 410 MB binary frame as a small blob reference", () => {
  // Before blobs: base64 of this frame passed V8's string limit ("buffer exceeds maximum
  // length") and killed the writer thread.
  const frame = new Uint8Array(410 * 1024 * 1024);
  for (let i = 0; i < frame.length; i += 4096) frame[i] = 0xff; // not UTF-8
  const decoded = decodeFrame(frame);
  assertEquals(decoded.stored, { blob: sha256(frame), bytes: frame.length });
  assertEquals(decoded.text, null);
  assertEquals(decoded.blob, true);
  const line = encodeRecordLine(messageRecord([encoder.encode("big.bin"), frame], PLACEMENT));
  assert(line.length < 4096, `log line of ${line.length} bytes`);
  const check = checkRecordLine(line);
  assert(check.ok);
  assertEquals(check.record.frames, ["big.bin", { blob: sha256(frame), bytes: frame.length }]);
  assertEquals((check.record.meta as { format: string; bytes: number }).format, "binary");
  assertEquals((check.record.meta as { bytes: number }).bytes, frame.length + 7);
});

Deno.test("decodeFrame() keeps frames up to the threshold inline and blobs the ones above it", () => {
  const text = encoder.encode("x".repeat(100));
  assertEquals(decodeFrame(text, { blobThresholdBytes: 100 }).stored, "x".repeat(100));
  const above = decodeFrame(encoder.encode("y".repeat(101)), { blobThresholdBytes: 100 });
  assertEquals(above.stored, {
    blob: sha256(encoder.encode("y".repeat(101))),
    bytes: 101,
    head: "y".repeat(101),
  });
});

Deno.test("decodeFrame() keeps the first 4 KiB of a text blob as its head, never splitting a character", () => {
  const payload = JSON.stringify({ from: "claude", content: "é".repeat(3_000_000) });
  const frame = encoder.encode(payload);
  const decoded = decodeFrame(frame);
  const head = (decoded.stored as { head: string }).head;
  assert(head.length > 2000 && encoder.encode(head).length <= 4096, `head of ${head.length}`);
  assert(payload.startsWith(head));
  const body = messageRecord([encoder.encode("agent.claude"), frame], PLACEMENT);
  const meta = body.meta as { format: string; tokens: number; preview: string; note: string };
  assertEquals(meta.format, "text");
  assertEquals(meta.tokens, Math.ceil((frame.length + 12) / 4));
  assert(meta.preview.startsWith('{"from":"claude"'), meta.preview);
  assert(meta.note.includes("blob"), meta.note);
});

Deno.test("oversizedRecord() keeps size, frame sizes, the SHA-256 of all frames and the first bytes", () => {
  const frames = [
    encoder.encode("huge.topic"),
    new Uint8Array(10_000).fill(7),
    encoder.encode("z"),
  ];
  const body = oversizedRecord(frames, PLACEMENT, { maxMessageBytes: 5000 });
  assertEquals(body.type, "oversized");
  assertEquals(body.topic, "huge.topic");
  assertEquals(body.bytes, 10_011);
  assertEquals(body.max_message_bytes, 5000);
  assertEquals(body.frame_bytes, [10, 10_000, 1]);
  assertEquals(body.sha256, sha256(...frames));
  const head = Uint8Array.from(atob(body.head_b64 as string), (c) => c.charCodeAt(0));
  assertEquals(head.length, 4096);
  assertEquals(head.subarray(0, 10), frames[0]);
  assertEquals(head[4095], 7);
  assert(checkRecordLine(encodeRecordLine(body)).ok);
});

Deno.test("messageRecord() blobs the largest frames of a 420 MB message made of 1 MiB frames", () => {
  // No frame is over the threshold, but inline they would make a line past V8's string limit.
  const frame = new Uint8Array(1024 * 1024);
  for (let i = 0; i < frame.length; i += 512) frame[i] = 0xff; // not UTF-8
  const frames = [encoder.encode("many.frames"), ...Array.from({ length: 420 }, () => frame)];
  const body = messageRecord(frames, PLACEMENT);
  const line = encodeRecordLine(body); // before: JSON.stringify past V8's string limit
  assert(line.length < 100 * 1024 * 1024, `log line of ${line.length} bytes`);
  const stored = body.frames as unknown[];
  const blobbed: unknown[] = stored.filter((item) => typeof item === "object" && "blob" in item!);
  assertEquals(blobbed.length, 420 - 63); // inline: the topic and 63 MiB, under 64 MiB
  assertEquals(stored[0], "many.frames");
  assertEquals(blobbed[0], { blob: sha256(frame), bytes: frame.length });
  assert(checkRecordLine(line).ok);
});
