import { crc32 } from "node:zlib";
import { decodeFrame } from "../../src/enrich/frames.ts";
import {
  checkLineChecksum,
  checkRecordLine,
  decodeStoredFrames,
  encodeRecordLine,
  type RecordBody,
  recordHeadline,
} from "../../src/store/record.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function sampleBody(extra: Record<string, unknown> = {}): RecordBody {
  return {
    v: 1,
    seq: 42,
    type: "message",
    session: "20261125_133107_959e",
    received_at: "2026-11-25T13:31:10.777Z",
    ...extra,
  };
}

function expectOk(line: Uint8Array): Record<string, unknown> {
  const check = checkRecordLine(line);
  if (!check.ok) throw new Error(`expected the line to verify, got: ${check.reason}`);
  return check.record;
}

function expectRejected(line: Uint8Array, what: string): string {
  const check = checkRecordLine(line);
  if (check.ok) throw new Error(`expected ${what} to be rejected: ${decoder.decode(line)}`);
  return check.reason;
}

Deno.test("encodeRecordLine() writes one line ending in a crc field over the line without it", () => {
  const body = sampleBody({ topic: "agent.claude", frames: ["agent.claude", "hi"] });
  const line = encodeRecordLine(body);
  const text = decoder.decode(line);
  assert(text.endsWith("}\n"), `line must end with "}\\n": ${text}`);
  assertEquals(text.indexOf("\n"), text.length - 1, "exactly one newline, at the end");
  const match = /,"crc":"([0-9a-f]{8})"\}\n$/.exec(text);
  assert(match, `line must end with a crc field of 8 lowercase hex digits: ${text}`);
  const expected = (crc32(encoder.encode(JSON.stringify(body))) >>> 0).toString(16)
    .padStart(8, "0");
  assertEquals(match[1], expected);
  assertEquals(
    text.slice(0, text.length - ',"crc":"00000000"}\n'.length) + "}",
    JSON.stringify(body),
  );
});

Deno.test("checkRecordLine() returns the record encodeRecordLine() wrote, crc last", () => {
  const body = sampleBody({ topic: "t", frames: ["t", "payload"], meta: { format: "text" } });
  const line = encodeRecordLine(body);
  const record = expectOk(line);
  assertEquals(record, { ...body, crc: record.crc });
  assertEquals(Object.keys(record).at(-1), "crc");
  // Without its newline the line verifies too.
  assertEquals(expectOk(line.subarray(0, line.length - 1)), record);
});

Deno.test("encodeRecordLine() and checkRecordLine() round-trip unicode text", () => {
  const texts = [
    "héllo wörld",
    "日本語のテキスト",
    "emoji 😀🦜👩‍👩‍👧 and flags 🇳🇿",
    "combining e\u0301 and zero width\u200b joiner",
    "line\nbreaks\r\nand\ttabs and \u2028 \u2029 separators",
    "control \u0000 \u0001 \u001f \u007f characters",
    "lone surrogates \ud800 and \udfff",
    "\ufeffleading BOM",
    'quotes " and backslashes \\ and slashes /',
  ];
  for (const [index, text] of texts.entries()) {
    const body = sampleBody({ seq: index + 1, topic: text, frames: [text, text] });
    const line = encodeRecordLine(body);
    assertEquals(line.filter((byte) => byte === 0x0a).length, 1, `one newline for ${text}`);
    const record = expectOk(line);
    assertEquals(record.topic, text);
    assertEquals(record, { ...body, crc: record.crc });
  }
});

Deno.test("encodeRecordLine() and checkRecordLine() round-trip nested objects", () => {
  const body = sampleBody({
    meta: {
      format: "json",
      nested: { a: [1, 2, { b: null, c: [true, false, "x"] }], d: { e: { f: { g: -1.5e-7 } } } },
      empty: {},
      list: [],
    },
    frames: [{ b64: "/w==" }, "", "text"],
    set_aside: null,
  });
  const record = expectOk(encodeRecordLine(body));
  assertEquals(record, { ...body, crc: record.crc });
});

Deno.test("checkRecordLine() accepts the example record from the README", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  // The README shows the record pretty-printed; in the log it is one compact line.
  const example = /Example:\s*```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
  assert(example, "README example record not found");
  const record = expectOk(encoder.encode(JSON.stringify(JSON.parse(example)) + "\n"));
  assertEquals(record.seq, 4);
  assertEquals(record.crc, "1b5af48c");
});

Deno.test("checkRecordLine() rejects every single-byte corruption of a line", () => {
  const body = sampleBody({
    topic: "agent.claude",
    frames: ["agent.claude", '{"from":"claude","content":"héllo 😀"}', { b64: "AP8=" }],
    meta: { format: "json", bytes: 40, tokens: 5, sender: "claude", preview: "héllo 😀" },
  });
  const line = encodeRecordLine(body);
  let corruptions = 0;
  for (let position = 0; position < line.length; position++) {
    for (let value = 0; value < 256; value++) {
      if (value === line[position]) continue;
      const corrupt = line.slice();
      corrupt[position] = value;
      const check = checkRecordLine(corrupt);
      if (check.ok) {
        throw new Error(
          `byte ${position} changed from ${line[position]} to ${value} still verifies: ${
            decoder.decode(corrupt)
          }`,
        );
      }
      corruptions++;
    }
  }
  assertEquals(corruptions, line.length * 255);
});

Deno.test("checkRecordLine() rejects every truncation of a line", () => {
  const line = encodeRecordLine(sampleBody({ frames: ["topic", "some payload"] }));
  // Dropping only the newline is allowed; anything shorter is a torn line.
  for (let length = 0; length < line.length - 1; length++) {
    expectRejected(line.subarray(0, length), `a line cut to ${length} bytes`);
  }
});

Deno.test("checkRecordLine() rejects a line without a crc field", () => {
  const body = sampleBody({ frames: ["a", "b"], padding: "x".repeat(40) });
  const reason = expectRejected(encoder.encode(JSON.stringify(body) + "\n"), "a line without crc");
  assert(reason.includes("crc"), `reason should mention the crc field: ${reason}`);
});

Deno.test("checkRecordLine() rejects a crc field that is not the last field", () => {
  const line = decoder.decode(encodeRecordLine(sampleBody({ frames: ["a"] })));
  const crc = /"crc":"([0-9a-f]{8})"/.exec(line)![1];
  const moved = `{"crc":"${crc}",` + line.slice(1, line.lastIndexOf(',"crc"')) + "}\n";
  expectRejected(encoder.encode(moved), "a crc field moved to the front");
});

Deno.test("checkRecordLine() rejects an upper-case crc", () => {
  const line = decoder.decode(encodeRecordLine(sampleBody()));
  const upper = line.replace(/"crc":"([0-9a-f]{8})"/, (_, hex: string) => {
    return `"crc":"${hex.toUpperCase()}"`;
  });
  if (upper === line) return; // the crc happened to have no letters: nothing to check
  expectRejected(encoder.encode(upper), "an upper-case crc");
});

Deno.test("checkRecordLine() rejects a verified line that is not a v1 record", () => {
  const reasons = [
    encodeRecordLine({ ...sampleBody(), v: 2 }),
    encodeRecordLine({ ...sampleBody(), seq: "42" as unknown as number }),
    encodeRecordLine({ ...sampleBody(), session: 7 as unknown as string }),
  ].map((line) => expectRejected(line, "a record of the wrong shape"));
  for (const reason of reasons) assert(reason.includes("v1 record"), reason);
});

Deno.test("checkRecordLine() rejects a line whose checksum matches but is not JSON", () => {
  const broken = encoder.encode('{"v":1,"seq":1,,"type":"message","pad":"xxxxxxxxxxxxxxxx"}');
  const checksum = (crc32(broken) >>> 0).toString(16).padStart(8, "0");
  const line = encoder.encode(
    decoder.decode(broken.subarray(0, broken.length - 1)) + `,"crc":"${checksum}"}\n`,
  );
  const reason = expectRejected(line, "invalid JSON with a matching checksum");
  assert(reason.includes("not valid JSON"), reason);
});

Deno.test("checkRecordLine() rejects empty and whitespace lines", () => {
  for (const text of ["", "\n", " \n", "{}\n", "null\n"]) {
    expectRejected(encoder.encode(text), JSON.stringify(text));
  }
});

Deno.test("decodeStoredFrames() returns the bytes decodeFrame() stored, through a log line", () => {
  const frames: Uint8Array[] = [
    encoder.encode("agent.claude"),
    encoder.encode('{"from":"claude","content":"héllo 😀"}'),
    new Uint8Array([]), // empty frame
    new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("text after a BOM")]),
    new Uint8Array([0xef, 0xbb, 0xbf]), // a BOM alone
    new Uint8Array([0xff, 0xfe, 0x00, 0x01]), // not UTF-8
    new Uint8Array([0xc3]), // truncated two-byte sequence
    new Uint8Array([0xc0, 0x80]), // overlong NUL
    new Uint8Array([0xed, 0xa0, 0x80]), // an encoded surrogate
    new Uint8Array([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
    new Uint8Array([0x00, 0x0a, 0x0d, 0x22, 0x5c]), // NUL, newline, CR, quote, backslash
    new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
  ];
  const stored = frames.map((frame) => decodeFrame(frame).stored);
  assertEquals(decodeStoredFrames(stored), frames);
  const record = expectOk(encodeRecordLine(sampleBody({ frames: stored })));
  const roundTripped = decodeStoredFrames(record.frames as typeof stored);
  assertEquals(roundTripped.length, frames.length);
  for (const [index, frame] of frames.entries()) {
    assertEquals(roundTripped[index], frame, `frame ${index}`);
  }
});

Deno.test("decodeFrame() keeps a leading BOM in the text and base64-encodes invalid UTF-8", () => {
  const withBom = decodeFrame(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]));
  assertEquals(withBom.stored, "\ufeffhi");
  assertEquals(withBom.text, "\ufeffhi");
  assertEquals(withBom.bytes, 5);
  const invalid = decodeFrame(new Uint8Array([0x68, 0xff]));
  assertEquals(invalid.stored, { b64: "aP8=" });
  assertEquals(invalid.text, null);
  assertEquals(invalid.bytes, 2);
  const empty = decodeFrame(new Uint8Array([]));
  assertEquals(empty.stored, "");
  assertEquals(empty.text, "");
  assertEquals(empty.bytes, 0);
});

Deno.test("decodeStoredFrames() accepts a frame that is a view into a larger buffer", () => {
  const buffer = new Uint8Array([1, 2, 0xff, 0xfe, 3, 4]);
  const view = buffer.subarray(2, 4);
  assertEquals(decodeStoredFrames([decodeFrame(view).stored]), [new Uint8Array([0xff, 0xfe])]);
});

Deno.test("recordHeadline() reads the same seq, type, session, topic and meta as a full parse", () => {
  const encoder = new TextEncoder();
  const tricky = [
    ',"meta":{"format":"json"}',
    '{"meta":{"sender":"fake"}}',
    'quote " backslash \\ brace } { end',
    "emoji 🐦 and \u0000 nul",
  ];
  const bodies: RecordBody[] = [];
  for (const [i, text] of tricky.entries()) {
    const frames = [
      encoder.encode(`topic ${text}`),
      encoder.encode(JSON.stringify({ from: text, content: text })),
    ];
    bodies.push(
      messageRecord(frames, {
        seq: i + 10,
        session: "20261125_100000_ab12",
        receivedAt: new Date(0),
      }),
    );
  }
  bodies.push(
    messageRecord([new Uint8Array([0xff, 0x00])], {
      seq: 20,
      session: "s",
      receivedAt: new Date(0),
    }),
  );
  bodies.push({ ...bodies[0]!, seq: 21, restored_from: { session: "old", seq: 3 } });
  bodies.push({ v: 1, seq: 22, type: "gap", session: "s", received_at: "x", from: ',"meta":{' });
  for (const body of bodies) {
    const line = encodeRecordLine(body);
    const checked = checkLineChecksum(line);
    assert(checked.ok);
    const full = JSON.parse(checked.text);
    const headline = recordHeadline(checked.text);
    assertEquals(
      [headline.seq, headline.type, headline.session, headline.topic, headline.meta],
      [full.seq, full.type, full.session, full.topic, full.meta],
    );
  }
});
