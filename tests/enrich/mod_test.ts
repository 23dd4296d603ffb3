import {
  decodeFrame,
  enrichFrames,
  estimateTokens,
  extractFields,
  messageRecord,
  type RecordPlacement,
  splitMessage,
} from "../../src/enrich/mod.ts";
import {
  checkRecordLine,
  decodeStoredFrames,
  encodeRecordLine,
  type StoredFrame,
} from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";
import { mulberry32, type Prng, testSeed } from "../prng.ts";

const encoder = new TextEncoder();

const PLACEMENT: RecordPlacement = {
  seq: 4,
  session: "20261125_133107_959e",
  receivedAt: new Date("2026-11-25T13:31:10.777Z"),
};

Deno.test("mod.ts exports the enrichment functions", () => {
  for (const fn of [decodeFrame, enrichFrames, estimateTokens, extractFields, splitMessage]) {
    assertEquals(typeof fn, "function");
  }
});

Deno.test("messageRecord() builds the README's example record", async () => {
  const payload = '{"from":"claude","to":"gemini","type":"chat","content":"hello"}';
  const body = messageRecord([encoder.encode("agent.claude"), encoder.encode(payload)], PLACEMENT);
  assertEquals(body, {
    v: 1,
    seq: 4,
    type: "message",
    session: "20261125_133107_959e",
    received_at: "2026-11-25T13:31:10.777Z",
    topic: "agent.claude",
    frames: ["agent.claude", payload],
    meta: {
      format: "json",
      bytes: 75,
      tokens: 2,
      sender: "claude",
      recipient: "gemini",
      kind: "chat",
      content_field: "content",
      preview: "hello",
    },
  });
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const example = /Example:\s*```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
  assert(example, "README example record not found");
  assertEquals(
    new TextDecoder().decode(encodeRecordLine(body)),
    JSON.stringify(JSON.parse(example)) + "\n",
    "the encoded line is the README's example, crc included",
  );
});

Deno.test("messageRecord() keeps binary frames as base64 and gives a null topic", () => {
  const frames = [new Uint8Array([0xff, 0x00]), new Uint8Array([0xfe])];
  const body = messageRecord(frames, PLACEMENT);
  assertEquals(body.topic, null);
  assertEquals(body.frames, [{ b64: "/wA=" }, { b64: "/g==" }]);
  assertEquals((body.meta as { format: string }).format, "binary");
  assertEquals(decodeStoredFrames(body.frames as StoredFrame[]), frames);
});

Deno.test("messageRecord() records a message without frames", () => {
  const body = messageRecord([], PLACEMENT);
  assertEquals(body.topic, null);
  assertEquals(body.frames, []);
  assertEquals(body.meta, { format: "empty", bytes: 0, tokens: 0 });
});

Deno.test("messageRecord() takes the topic of a single-frame message before the space", () => {
  const body = messageRecord([encoder.encode('agent.gemini {"from":"gemini"}')], PLACEMENT);
  assertEquals(body.topic, "agent.gemini");
  assertEquals(body.frames, ['agent.gemini {"from":"gemini"}']);
  assertEquals((body.meta as { sender?: string }).sender, "gemini");
});

const JSON_WORDS = [
  "from",
  "to",
  "sender",
  "recipient",
  "role",
  "type",
  "kind",
  "content",
  "text",
  "message",
  "body",
  "data",
  "payload",
  "name",
  "id",
  "event",
];

function randomString(random: Prng): string {
  const pieces = ["a", "Z", " ", "\n", "\t", "é", "😀", "\ud800", "日", '"', "\\", "{", "}", "…"];
  let text = "";
  const length = random.int(0, random.next() < 0.05 ? 2000 : 30);
  for (let i = 0; i < length; i++) text += random.pick(pieces);
  return text;
}

function randomJsonValue(random: Prng, depth: number): unknown {
  const choice = random.int(0, depth > 4 ? 4 : 7);
  switch (choice) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return random.pick([0, -1, 1.5, 1e308, -0, 2 ** 53]);
    case 3:
    case 4:
      return random.pick([...JSON_WORDS, randomString(random)]);
    case 5:
      return Array.from({ length: random.int(0, 4) }, () => randomJsonValue(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = random.int(0, 6); i > 0; i--) {
        object[random.pick(JSON_WORDS)] = randomJsonValue(random, depth + 1);
      }
      return object;
    }
  }
}

/** Random frame bytes: raw bytes, JSON (whole, cut short, or with a topic prefix), or text. */
function randomFrame(random: Prng): Uint8Array {
  switch (random.int(0, 4)) {
    case 0:
      return random.bytes(random.int(0, 64));
    case 1:
      return encoder.encode(JSON.stringify(randomJsonValue(random, 0)));
    case 2: {
      const json = JSON.stringify(randomJsonValue(random, 0)) ?? "";
      return encoder.encode(json.slice(0, random.int(0, json.length)));
    }
    case 3:
      return encoder.encode(
        `${random.pick(["agent.claude", "t", "", " "])} ${
          JSON.stringify(randomJsonValue(random, 0))
        }`,
      );
    default:
      return encoder.encode(randomString(random));
  }
}

Deno.test("enrichFrames() and messageRecord() never throw on random frames", () => {
  const seed = testSeed("enrich random frames");
  const random = mulberry32(seed);
  for (let trial = 0; trial < 400; trial++) {
    const frames = Array.from({ length: random.int(0, 60) }, () => randomFrame(random));
    const context = `seed ${seed}, trial ${trial}`;
    try {
      const meta = enrichFrames(frames.map((frame) => decodeFrame(frame)));
      const body = messageRecord(frames, { ...PLACEMENT, seq: trial + 1 });
      assertEquals(body.meta, meta);
      assert(["json", "text", "binary", "empty"].includes(meta.format), meta.format);
      assertEquals(meta.bytes, frames.reduce((sum, frame) => sum + frame.length, 0));
      assert(Number.isInteger(meta.tokens) && meta.tokens >= 0, `tokens ${meta.tokens}`);
      if (meta.preview !== undefined) {
        assert(meta.preview.length <= 160, `preview length ${meta.preview.length}`);
        assert(!/[\n\r]/.test(meta.preview), "preview on one line");
      }
      // Whatever enrichment made of it, the record verifies and gives back the exact frames.
      const check = checkRecordLine(encodeRecordLine(body));
      assert(check.ok, "the record's line verifies");
      assertEquals(decodeStoredFrames(check.record.frames as StoredFrame[]), frames);
    } catch (error) {
      throw new Error(`${context}: ${(error as Error).message}`, { cause: error });
    }
  }
});
