import { assert, assertEquals } from "../_assert.ts";
import {
  BAD_REQUEST_CODE,
  CONTROL_COMMANDS,
  parseControlRequest,
} from "../../src/control/protocol.ts";

function refusalOf(line: string): { error: string; code?: string } {
  const parsed = parseControlRequest(line);
  assert(!parsed.ok, `expected a refusal for ${line}, got ${JSON.stringify(parsed)}`);
  return parsed.refusal;
}

Deno.test("parseControlRequest() accepts each command with its fields", () => {
  const cases: [string, unknown][] = [
    ['{"cmd":"status"}', { cmd: "status" }],
    ['{"cmd":"flush"}', { cmd: "flush" }],
    ['{"cmd":"index-release"}', { cmd: "index-release" }],
    ['{"cmd":"new-session"}', { cmd: "new-session" }],
    ['{"cmd":"new-session","reason":"why"}', { cmd: "new-session", reason: "why" }],
    ['{"cmd":"checkpoint"}', { cmd: "checkpoint", label: null, trigger: "manual" }],
    [
      '{"cmd":"checkpoint","label":"x","trigger":"session-end"}',
      { cmd: "checkpoint", label: "x", trigger: "session-end" },
    ],
    ['{"cmd":"checkpoint","label":null}', { cmd: "checkpoint", label: null, trigger: "manual" }],
    ['{"cmd":"load-checkpoint","id":"cp1"}', { cmd: "load-checkpoint", id: "cp1" }],
    ['{"cmd":"stop"}', { cmd: "stop" }],
    ['{"cmd":"stop","wait":true}', { cmd: "stop", wait: true }],
    // Fields a command does not know are ignored (a newer client may send more).
    ['{"cmd":"status","verbose":true}', { cmd: "status" }],
  ];
  for (const [line, expected] of cases) {
    const parsed = parseControlRequest(line);
    assert(parsed.ok, `${line}: ${JSON.stringify(parsed)}`);
    assertEquals(parsed.request as unknown, expected, line);
  }
});

Deno.test("parseControlRequest() refuses what is not one JSON object with a cmd", () => {
  for (const line of ["", "not json", "[]", "null", "42", '"status"', '{"command":"status"}']) {
    const refusal = refusalOf(line);
    assertEquals(refusal.error, "Bad control request: expected one JSON line with a cmd", line);
    assertEquals(refusal.code, BAD_REQUEST_CODE, line);
  }
  assertEquals(refusalOf('{"cmd":7}').code, BAD_REQUEST_CODE);
});

Deno.test("parseControlRequest() answers an unknown command with the list of commands", () => {
  const refusal = refusalOf('{"cmd":"frobnicate"}');
  assertEquals(
    refusal.error,
    `Unknown control command "frobnicate": use ${CONTROL_COMMANDS.join(", ")}`,
  );
  // Not a property of Object.prototype either.
  assert(refusalOf('{"cmd":"toString"}').error.startsWith("Unknown control command"));
});

Deno.test("parseControlRequest() refuses a field of the wrong type, naming it", () => {
  const cases: [string, string][] = [
    ['{"cmd":"new-session","reason":42}', "reason"],
    ['{"cmd":"checkpoint","label":5}', "label"],
    ['{"cmd":"checkpoint","label":{"a":1}}', "label"],
    ['{"cmd":"load-checkpoint"}', "id"],
    ['{"cmd":"load-checkpoint","id":17}', "id"],
    ['{"cmd":"load-checkpoint","id":""}', "id"],
    ['{"cmd":"stop","wait":"yes"}', "wait"],
    ['{"cmd":"stop","wait":1}', "wait"],
  ];
  for (const [line, field] of cases) {
    const refusal = refusalOf(line);
    assertEquals(refusal.code, BAD_REQUEST_CODE, line);
    assert(refusal.error.includes(`field "${field}"`), `${line}: ${refusal.error}`);
  }
});

Deno.test("parseControlRequest() refuses a checkpoint trigger clients may not ask for", () => {
  for (const trigger of ["auto", "emergency", "before-load", "nonsense", 3]) {
    const refusal = refusalOf(JSON.stringify({ cmd: "checkpoint", trigger }));
    assertEquals(refusal.error, `Unknown checkpoint trigger ${JSON.stringify(trigger)}`);
  }
});

Deno.test("parseControlRequest() checks expect-replays marks and ttl", () => {
  const digest = "a".repeat(64);
  const parsed = parseControlRequest(
    JSON.stringify({ cmd: "expect-replays", marks: [{ digest, replay_of: 4 }], ttl_ms: 500 }),
  );
  assert(parsed.ok);
  assertEquals(parsed.request, {
    cmd: "expect-replays",
    marks: [{ digest, replay_of: 4 }],
    ttl_ms: 500,
  });
  for (
    const bad of [
      { marks: [{ digest: "xyz", replay_of: 4 }], ttl_ms: 500 },
      { marks: [{ digest, replay_of: 0 }], ttl_ms: 500 },
      { marks: [{ digest, replay_of: 4 }], ttl_ms: -1 },
      { marks: "all", ttl_ms: 500 },
    ]
  ) {
    assertEquals(
      refusalOf(JSON.stringify({ cmd: "expect-replays", ...bad })).code,
      BAD_REQUEST_CODE,
    );
  }
});

Deno.test("parseControlRequest() checks durable-times since_seq", () => {
  const all = parseControlRequest('{"cmd":"durable-times"}');
  assert(all.ok);
  assertEquals(all.request, { cmd: "durable-times" });
  const since = parseControlRequest('{"cmd":"durable-times","since_seq":42}');
  assert(since.ok);
  assertEquals(since.request, { cmd: "durable-times", since_seq: 42 });
  for (const bad of [-1, 1.5, "3", null]) {
    assertEquals(
      refusalOf(JSON.stringify({ cmd: "durable-times", since_seq: bad })).code,
      BAD_REQUEST_CODE,
    );
  }
});
