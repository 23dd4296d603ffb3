import { messageRecord } from "../../src/enrich/mod.ts";
import { concatBytes } from "../../src/store/bytes.ts";
import {
  checkRecordLine,
  encodeMessageLine,
  encodeRecordLine,
  type RecordBody,
} from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";
import { mulberry32, type Prng, testSeed } from "../prng.ts";

const encoder = new TextEncoder();

/** Text pieces that JSON escaping and UTF-8 handling must get right. */
const PIECES = [
  '"',
  "\\",
  "\\u0000",
  "\u0000",
  "\u0001\u0008\u0009\u000a\u000b\u000c\u000d\u001f",
  "\u007f",
  "\u2028\u2029",
  "\ufeff",
  "é",
  "日本語",
  "😀",
  "</script>",
  '{"_shearwater":{"pub":"alice/1","seq":3}}',
  '"_shearwater":{"pub":"a\\"b","seq":9}',
  "plain text ",
  "x".repeat(300),
];

/** Byte sequences that are not UTF-8: stored as base64. */
const BAD_UTF8 = [
  [0xff],
  [0xc3], // cut multi-byte character
  [0xed, 0xa0, 0x80], // a lone surrogate encoded as UTF-8 (CESU)
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xc0, 0xaf], // overlong
];

function randomText(random: Prng, pieces: number): string {
  let text = "";
  for (let i = 0; i < pieces; i++) text += random.pick(PIECES);
  return text;
}

function deepJson(depth: number): string {
  return "[".repeat(depth) + '{"content":"deep \\" \\\\"}' + "]".repeat(depth);
}

function randomFrame(random: Prng): Uint8Array {
  switch (random.int(0, 9)) {
    case 0:
      return new Uint8Array(0);
    case 1:
      return random.bytes(random.int(1, 64)); // mostly not UTF-8
    case 2: {
      const text = encoder.encode(randomText(random, random.int(0, 4)));
      const bad = random.pick(BAD_UTF8);
      const at = random.int(0, text.length);
      return new Uint8Array([...text.subarray(0, at), ...bad, ...text.subarray(at)]);
    }
    case 3:
      return encoder.encode(JSON.stringify({
        sender: randomText(random, 2),
        to: [randomText(random, 1), 7, null],
        type: randomText(random, 1),
        message: { content: [{ text: randomText(random, 5) }, { image: true }] },
        _shearwater: { pub: "bob/2", seq: random.int(1, 1e6) },
      }));
    case 4:
      return encoder.encode(deepJson(random.int(1, 3000)));
    case 5:
      return encoder.encode(`topic.${random.int(0, 9)} ${randomText(random, 6)}`);
    default:
      return encoder.encode(randomText(random, random.int(0, 30)));
  }
}

function bodies(frames: Uint8Array[], seq: number, blobThresholdBytes?: number): RecordBody[] {
  const placement = { seq, session: "20261130_014903_569f", receivedAt: new Date(1.8e12 + seq) };
  const body = messageRecord(frames, placement, { blobThresholdBytes });
  const meta = body.meta as Record<string, unknown>;
  // As the writer thread marks them: replayed and refilled messages.
  return [
    body,
    { ...body, meta: { ...meta, replay_of: seq - 1 } },
    { ...body, meta: { ...meta, refilled: true } },
  ];
}

function assertSameLine(body: RecordBody, frames: Uint8Array[], what: string): void {
  const expected = encodeRecordLine(body);
  // rawFromBytes 0: every message takes the raw-bytes way, however small.
  for (
    const actual of [
      encodeMessageLine(body, frames, { rawFromBytes: 0 }),
      encodeMessageLine(body, frames),
    ]
  ) {
    assertEquals(actual.length, expected.length, what);
    assert(actual.every((byte, i) => byte === expected[i]), what);
    assert(checkRecordLine(actual).ok, what);
  }
}

Deno.test("encodeMessageLine() writes the same bytes as encodeRecordLine() for hostile messages", () => {
  const seed = testSeed("encodeMessageLine hostile");
  const random = mulberry32(seed);
  for (let seq = 1; seq <= 3000; seq++) {
    const frames = Array.from({ length: random.int(0, 5) }, () => randomFrame(random));
    for (const body of bodies(frames, seq)) {
      assertSameLine(body, frames, `seed ${seed}, seq ${seq}`);
    }
  }
});

Deno.test("encodeMessageLine() matches encodeRecordLine() for every byte value, alone and in text", () => {
  for (let byte = 0; byte < 256; byte++) {
    for (
      const frames of [[new Uint8Array([byte])], [
        encoder.encode("t"),
        new Uint8Array([0x61, byte, 0x62]),
      ]]
    ) {
      for (const body of bodies(frames, byte + 1)) assertSameLine(body, frames, `byte ${byte}`);
    }
  }
});

Deno.test("encodeMessageLine() matches encodeRecordLine() for many, big and blob frames", () => {
  const random = mulberry32(7);
  const many = Array.from({ length: 300 }, () => randomFrame(random));
  for (const body of bodies(many, 1)) assertSameLine(body, many, "300 frames");
  // Over the raw-bytes limit (4 MiB of text frames): the stringify path, the same bytes.
  const big = [encoder.encode("big"), encoder.encode('"\\\n'.repeat(1_500_000))];
  for (const body of bodies(big, 2, 16 * 1024 * 1024)) assertSameLine(body, big, "big");
  const nearLimit = [encoder.encode("t"), encoder.encode("é\u0000".repeat(1_300_000))];
  for (const body of bodies(nearLimit, 3, 16 * 1024 * 1024)) {
    assertSameLine(body, nearLimit, "escapes growing past the scratch buffer");
  }
  // Frames over the blob threshold are blob references in the line.
  const blobbed = [encoder.encode("t"), encoder.encode("x".repeat(5000)), random.bytes(3000)];
  for (const body of bodies(blobbed, 4, 1024)) assertSameLine(body, blobbed, "blob frames");
});

Deno.test("encodeMessageLine() matches encodeRecordLine() for non-message bodies and odd keys", () => {
  const frames = [encoder.encode("t"), encoder.encode("x")];
  const body = messageRecord(frames, { seq: 5, session: "s", receivedAt: new Date(0) });
  const odd = { ...body, skipped: undefined, extra: { nested: ["\u2028", 1.5, null] } };
  assertSameLine(odd as RecordBody, frames, "undefined and extra fields");
  assertSameLine({ ...body, frames: [] } as RecordBody, frames, "frames not matching the bytes");
  const event = { v: 1, seq: 6, type: "broker_up", session: "s", received_at: "t", address: "x" };
  assertSameLine(event as RecordBody, [], "an event without frames");
});

Deno.test("encodeMessageLine() lines follow one another in memory: a batch is joined without a copy", () => {
  const frames = [encoder.encode("t"), encoder.encode('{"content":"hi"}')];
  const lines = [1, 2, 3].map((seq) =>
    encodeMessageLine(
      messageRecord(frames, { seq, session: "s", receivedAt: new Date(seq) }),
      frames,
    )
  );
  const joined = concatBytes(lines);
  assertEquals(joined.buffer, lines[0]!.buffer);
  const copied = new Uint8Array(lines.reduce((sum, line) => sum + line.length, 0));
  let at = 0;
  for (const line of lines) {
    copied.set(line, at);
    at += line.length;
  }
  assertEquals([...joined], [...copied]);
  // Lines from elsewhere are copied as before.
  const apart = concatBytes([
    lines[0]!,
    encodeRecordLine(messageRecord(frames, { seq: 9, session: "s", receivedAt: new Date(9) })),
  ]);
  assert(apart.buffer !== lines[0]!.buffer);
});
