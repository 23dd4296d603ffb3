import { messageRecord } from "../../src/enrich/mod.ts";
import { crc32 } from "../../src/store/checksums.ts";
import {
  lineChecksumHolds,
  LineFields,
  readLineFields,
  RepeatedStrings,
  spanText,
} from "../../src/store/_checkpoint_scan.ts";
import {
  checkLineChecksum,
  encodeRecordLine,
  type RecordHeadline,
  recordHeadline,
} from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";
import { mulberry32, testSeed } from "../prng.ts";

const encoder = new TextEncoder();
const SESSION = "20261125_133107_959e";
const HEX = "0123456789abcdef";

/** A line of any text with a valid crc field, as the writer computes it (crafted on purpose). */
function withCrc(json: string): Uint8Array {
  const body = encoder.encode(json.slice(0, -1));
  const checksum = crc32(encoder.encode("}"), crc32(body)) >>> 0;
  let hex = "";
  for (let i = 0; i < 8; i++) hex += HEX[(checksum >>> (28 - 4 * i)) & 0xf];
  return encoder.encode(`${json.slice(0, -1)},"crc":"${hex}"}\n`);
}

/** What Summary.add takes from a headline: the fields the fast reader must agree on. */
function expected(headline: RecordHeadline) {
  const meta = (headline.meta ?? {}) as { sender?: unknown; preview?: unknown; bytes?: unknown };
  return headline.type !== "message"
    ? { seq: headline.seq, session: headline.session, message: false }
    : {
      seq: headline.seq,
      session: headline.session,
      message: true,
      topic: typeof headline.topic === "string" && headline.topic !== "" ? headline.topic : null,
      sender: meta.sender ? meta.sender : null,
      preview: meta.preview ? meta.preview : null,
      bytes: meta.bytes ?? 0,
    };
}

function fast(line: Uint8Array, at = 0, buf = line) {
  const fields = new LineFields();
  if (!readLineFields(buf, at, at + line.length, fields)) return undefined;
  const strings = new RepeatedStrings();
  const text = (present: boolean, span: typeof fields.sender) =>
    present && !span.empty ? strings.text(span) : null;
  return !fields.isMessage
    ? {
      seq: fields.seq,
      session: strings.decode(buf, fields.sessionStart, fields.sessionEnd),
      message: false,
    }
    : {
      seq: fields.seq,
      session: strings.decode(buf, fields.sessionStart, fields.sessionEnd),
      message: true,
      topic: text(fields.hasTopic, fields.topic),
      sender: text(fields.hasSender, fields.sender),
      preview: fields.hasPreview && !fields.preview.empty ? spanText(fields.preview) : null,
      bytes: fields.bytes,
    };
}

/** Lines of many shapes: what the writer makes, and crafted ones with valid checksums. */
function lineVariety(seed: number): Uint8Array[] {
  const random = mulberry32(seed);
  const texts = [
    "plain words",
    'quotes " and \\ backslashes',
    "new\nline and\ttab",
    "\uFEFFstarts with a BOM",
    "unicode: żółw 🐢 \u2028",
    "",
    '{"blob":"not really"}',
    ',"meta":{"sender":"fake"}',
  ];
  const lines: Uint8Array[] = [];
  for (let seq = 1; seq <= 400; seq++) {
    const text = random.pick(texts) + "x".repeat(random.int(0, 40));
    const from = random.pick(["claude", "gemini", "", 'we"ird', "ünï"]);
    const payload = random.int(0, 3) === 0
      ? text
      : JSON.stringify({ from, to: "all", type: "chat", content: text });
    const topic = random.pick(["agent.claude", "", 't"q', "agent.ü"]);
    lines.push(encodeRecordLine(messageRecord([encoder.encode(topic), encoder.encode(payload)], {
      seq,
      session: SESSION,
      receivedAt: new Date(1_700_000_000_000 + seq),
    })));
  }
  const time = '"received_at":"2026-11-25T13:31:07.000Z"';
  const head = (seq: number | string, type = "message") =>
    `{"v":1,"seq":${seq},"type":"${type}","session":"${SESSION}",`;
  const crafted = [
    `${head(1)}${time},"topic":null,"frames":[],"meta":{"sender":"a","bytes":3,"preview":"p"}}`,
    `${head(2)}${time},"topic":"t","frames":[],"meta":{}}`,
    `${head(3)}${time},"topic":"t","frames":[],"meta":{"bytes":1.5,"sender":"a"}}`,
    `${head(4)}${time},"topic":"t","frames":[],"meta":{"bytes":"7","sender":"a"}}`,
    `${head(5)}${time},"topic":"t","frames":[],"meta":{"sender":7,"bytes":2}}`,
    `${head(6)}${time},"topic":"t","frames":[],"meta":{"sender":null,"bytes":2}}`,
    `${head(7)}${time},"topic":"t","frames":[],"meta":{"x":{"y":1},"sender":"a"}}`,
    `${head(8)}${time},"topic":"t","frames":[],"meta":{"x":[1,2],"sender":"a"}}`,
    `${
      head(9)
    }${time},"topic":"t","frames":[],"meta":{"sender":"a","sender":"b","bytes":1,"bytes":2}}`,
    `${head(10)}${time},"topic":"t","frames":[],"meta":{"send\\u0065r":"escaped key"}}`,
    `${head(11)}${time},"topic":"t","frames":[],"meta":{"sender":"raw\u0001control"}}`,
    `${head(29)}${time},"topic":"t","frames":[],"meta":{"x":"raw\u001fcontrol","sender":"a"}}`,
    `${head(12)}${time},"topic":"t","frames":[],"meta":{"sender":"bad \\x escape"}}`,
    `${head(13)}${time},"topic":"t","frames":[],"meta":{"sender":"a","bytes":01}}`,
    `${head(14)}${time},"topic":"t","frames":[],"meta":{"sender":"a", "bytes":1}}`,
    `${
      head(15)
    }${time},"topic":"t","frames":[],"meta":{"ok":true,"no":false,"n":null,"e":-1.5e3,"sender":"a"}}`,
    `${head(16)}${time},"topic":5,"frames":[],"meta":{"sender":"a"}}`,
    `${head(17)}${time},"topic":"t","frames":[],"meta":{"sender":"a"},"meta":{"sender":"last"}}`,
    `${head(18)}"received_at":"2026\\"x","topic":"t","frames":[],"meta":{"sender":"a"}}`,
    `${head(19)}"topic":"no time","frames":[],"meta":{"sender":"a"}}`,
    `${head(20)}${time},"topic":"t","frames":[],"meta":{"sender":"a\\ud800lone"}}`,
    `${head(21)}${time},"topic":"t","frames":[],"meta":{"bytes":12345678901234567,"sender":"a"}}`,
    `${head("0022")}${time},"topic":"t","frames":[],"meta":{"sender":"a"}}`,
    `${head(23, "gap")}${time},"reason":"x"}`,
    `${head(24)}${time},"topic":"t","frames":[],"meta":{"sender":"a","preview":""}}`,
    `{"seq":25,"v":1,"type":"message","session":"${SESSION}",${time},"topic":"t","meta":{"sender":"a"}}`,
    `${head(26)}${time},"topic":"t","frames":[],"meta":{"sender":"a"`,
    `${head(27)}${time},"topic":"t","frames":[],"meta":{"sender":"\\u00e9t\\u00E9"}}`,
    `${head(28)}${time},"topic":"t\\u0000","frames":[],"meta":{"sender":"a"}}`,
  ];
  for (const json of crafted) lines.push(withCrc(json));
  return lines;
}

Deno.test("readLineFields() agrees with recordHeadline() on every line it reads, and reads the writer's lines", () => {
  const seed = testSeed("readLineFields() against recordHeadline()");
  let read = 0;
  let writerLinesRead = 0;
  const lines = lineVariety(seed);
  for (const [i, line] of lines.entries()) {
    const checked = checkLineChecksum(line);
    assert(checked.ok, `line ${i} verifies`);
    let headline: RecordHeadline | undefined;
    try {
      headline = recordHeadline(checked.text);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
    const got = fast(line);
    if (got === undefined) continue; // left to the general way
    read++;
    if (i < 400) writerLinesRead++;
    assert(headline !== undefined, `line ${i} is not JSON to recordHeadline, but was read`);
    assertEquals(got, expected(headline), `line ${i}: ${checked.text}`);
  }
  assertEquals(writerLinesRead, 400, "every line the writer made is read the fast way");
  assert(read > 400, "some crafted lines are read too");
});

Deno.test("readLineFields() reads a line in the middle of a buffer without looking past it", () => {
  const lines = lineVariety(7);
  const previous = lines[400]!; // a crafted line with a meta
  for (const line of [lines[0]!, lines[1]!]) {
    const noMeta = encodeRecordLine({
      v: 1,
      seq: 9,
      type: "message",
      session: SESSION,
      received_at: "2026-11-25T13:31:07.000Z",
      topic: "t",
      frames: [],
    });
    const buf = new Uint8Array(previous.length + noMeta.length + line.length);
    buf.set(previous);
    buf.set(noMeta, previous.length);
    buf.set(line, previous.length + noMeta.length);
    // The line without meta must not borrow the previous line's.
    const fields = new LineFields();
    assertEquals(
      readLineFields(buf, previous.length, previous.length + noMeta.length, fields),
      false,
    );
    assertEquals(fast(line, previous.length + noMeta.length, buf), fast(line));
  }
});

Deno.test("lineChecksumHolds() agrees with checkLineChecksum() on good, flipped and cut lines", () => {
  const seed = testSeed("lineChecksumHolds() against checkLineChecksum()");
  const random = mulberry32(seed);
  for (const line of lineVariety(seed)) {
    const variants = [
      line,
      line.subarray(0, line.length - 1),
      line.subarray(0, 10),
      new Uint8Array(),
    ];
    for (let k = 0; k < 5; k++) {
      const flipped = line.slice();
      const at = random.int(0, flipped.length - 2);
      flipped[at] = flipped[at]! ^ (1 << random.int(0, 7));
      variants.push(flipped);
    }
    const upper = line.slice();
    const digit = upper.length - 4;
    if (upper[digit]! >= 0x61) upper[digit] = upper[digit]! - 0x20; // stored hex in upper case
    variants.push(upper);
    for (const variant of variants) {
      assertEquals(
        lineChecksumHolds(variant, 0, variant.length),
        checkLineChecksum(variant).ok,
        new TextDecoder().decode(variant),
      );
    }
  }
});
