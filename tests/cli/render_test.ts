import { assertEquals } from "../_assert.ts";
import { formatCount, hitHeading } from "../../src/cli/render.ts";

Deno.test("formatCount() groups digits as en-US toLocaleString does", () => {
  const values = [0, 7, 12, 999, 1000, 1234, 99_999, 100_000, 1_234_567, -1, -1234, -999_999];
  for (let digits = 1; digits <= 16; digits++) values.push(Number("9".repeat(digits)));
  values.push(Number.MAX_SAFE_INTEGER, 1.5, 1234.5678, 1e21);
  for (const value of values) assertEquals(formatCount(value), value.toLocaleString("en-US"));
});

Deno.test("hitHeading() says which seq a replayed message repeats", () => {
  const heading = hitHeading({
    seq: 9,
    type: "message",
    session: "s",
    receivedAtMs: Date.parse("2026-11-30T00:09:33Z"),
    topic: "agent.gemini",
    sender: "claude",
    recipient: "gemini",
    kind: null,
    bytes: 82,
    tokens: 7,
    preview: null,
    file: "current_session.jsonl",
    offset: 0,
    length: 1,
    replayOf: 6,
  });
  assertEquals(heading.endsWith("[agent.gemini]  (replay of #6)"), true, heading);
});

Deno.test("hitHeading() names the hit's origin only when asked (hits of several machines)", () => {
  const hit = {
    seq: 12,
    type: "message",
    session: "s",
    receivedAtMs: Date.parse("2026-11-30T00:09:33Z"),
    topic: null,
    sender: "codex",
    recipient: null,
    kind: null,
    bytes: 10,
    tokens: 1,
    preview: null,
    file: "",
    offset: 0,
    length: 1,
    origin: "3f0c2a9e-0000-4000-8000-000000000001",
  };
  assertEquals(hitHeading(hit).startsWith("#12  2026-11-30"), true, hitHeading(hit));
  assertEquals(hitHeading(hit, { origin: true }).startsWith("#12@3f0c2a9e  2026-11-30"), true);
});
