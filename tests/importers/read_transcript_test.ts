import { readTranscript } from "../../src/importers/read_transcript.ts";
import { assert, assertEquals } from "../_assert.ts";

const FIXTURES = new URL("../fixtures/import/", import.meta.url).pathname;
const CLAUDE =
  `${FIXTURES}claude-projects/-home-dev-harbor/7c1e9a52-3b4d-4f60-9a1e-2d5b8c0f4e11.jsonl`;
const GEMINI = `${FIXTURES}gemini/session-2026-11-21T14-05-3f9d2a1b.jsonl`;
const GENERIC = `${FIXTURES}agents.jsonl`;
const encoder = new TextEncoder();

Deno.test("readTranscript() reads a Claude Code transcript: roles, blocks, uuids, other types", async () => {
  const transcript = await readTranscript(await Deno.readFile(CLAUDE), "auto");
  assertEquals(transcript.format, "claude-code");
  assertEquals(transcript.problems, []);
  assertEquals(transcript.lines.map((line) => line.entry.kind), [
    "summary",
    "user",
    "assistant",
    "user",
    "assistant",
    "system",
  ]);
  const [summary, ask, toolUse, toolResult] = transcript.lines.map((line) => line.entry);
  assert(summary!.key.startsWith("claude-code:sha256:"), "a line without uuid: its digest");
  assertEquals(summary!.text, "Fix flaky tide-table parser test");
  assertEquals(ask!.key, "claude-code:a6f0c2d4-0001-4c1e-8b1a-0000000000a1");
  assertEquals(ask!.sender, "user");
  assertEquals(ask!.time?.toISOString(), "2026-11-20T09:14:03.112Z");
  assertEquals(ask!.session, "7c1e9a52-3b4d-4f60-9a1e-2d5b8c0f4e11");
  assertEquals(toolUse!.sender, "claude");
  assert(toolUse!.text.includes("Flaky one in ten"), "thinking kept");
  assert(toolUse!.text.includes("[tool_use Bash]"), toolUse!.text);
  assert(toolUse!.text.includes("deno test tests/tide_table_test.ts"), "tool input kept");
  assert(
    toolResult!.text.startsWith("[tool_result error] error: AssertionError"),
    toolResult!.text,
  );
  // The line is kept byte for byte.
  const lines = new TextDecoder().decode(await Deno.readFile(CLAUDE)).split("\n");
  assertEquals(new TextDecoder().decode(transcript.lines[2]!.bytes), lines[2]);
});

Deno.test("readTranscript() reads a Gemini CLI chat: metadata, messages, tool calls, $set, $rewindTo", async () => {
  const transcript = await readTranscript(await Deno.readFile(GEMINI), "auto");
  assertEquals(transcript.format, "gemini-cli");
  const entries = transcript.lines.map((line) => line.entry);
  assertEquals(entries.map((entry) => entry.kind), [
    "metadata",
    "user",
    "gemini",
    "$set",
    "gemini",
    "user",
    "$rewindTo",
    "info",
  ]);
  const session = "3f9d2a1b-8c4e-4d7a-b0f2-5e6a7c8d9e01";
  assertEquals(entries[1]!.key, `gemini-cli:${session}:m-0001`);
  assertEquals(entries[1]!.text, "List the buoys whose battery report is older than a day.");
  assertEquals(entries[0]!.time?.toISOString(), "2026-11-21T14:05:11.204Z");
  assert(entries[2]!.text.includes("[tool_call run_shell_command]"), entries[2]!.text);
  assert(entries[2]!.text.includes("[tool_result] kittiwake-7\npetrel-2"), entries[2]!.text);
  assertEquals(entries[2]!.sender, "gemini");
  assert(entries[3]!.key.startsWith(`gemini-cli:${session}:sha256:`));
  assertEquals(entries[6]!.text, "rewind to m-0003");
  assertEquals(entries[6]!.time, null);
  assertEquals(new Set(entries.map((entry) => entry.key)).size, entries.length, "keys unique");
});

Deno.test("readTranscript() maps any JSONL by the common field names and reports a bad line", async () => {
  const transcript = await readTranscript(await Deno.readFile(GENERIC), "auto");
  assertEquals(transcript.format, "jsonl");
  assertEquals(transcript.problems.length, 1);
  assertEquals(transcript.problems[0]!.line, 3);
  assert(transcript.problems[0]!.reason.startsWith("not valid JSON"));
  assertEquals(transcript.lines.map((line) => line.line), [1, 2, 4]);
  const first = transcript.lines[0]!.entry;
  assertEquals(
    [first.sender, first.recipient, first.kind, first.text],
    ["planner", "coder", "task", "Add a retry to the mooring sensor poll."],
  );
  assertEquals(first.time?.toISOString(), "2026-11-22T08:00:00.000Z");
  assert(first.key.startsWith("jsonl:sha256:"));
});

Deno.test("readTranscript() with a forced format reads the lines that way", async () => {
  const transcript = await readTranscript(await Deno.readFile(CLAUDE), "jsonl");
  assertEquals(transcript.format, "jsonl");
  assert(transcript.lines.every((line) => line.entry.key.startsWith("jsonl:sha256:")));
});

Deno.test("readTranscript() reports lines that are not objects or not UTF-8, skips blank ones", async () => {
  const bytes = new Uint8Array([
    ...encoder.encode('[1,2]\n\n   \n{"text":"fine"}\n'),
    0xff,
    0xfe,
    0x0a,
    ...encoder.encode('{"text":"last line without newline"}'),
  ]);
  const transcript = await readTranscript(bytes, "auto");
  assertEquals(transcript.problems, [
    { line: 1, reason: "not a JSON object" },
    { line: 5, reason: "not valid UTF-8" },
  ]);
  assertEquals(transcript.lines.map((line) => [line.line, line.entry.text]), [
    [4, "fine"],
    [6, "last line without newline"],
  ]);
});
