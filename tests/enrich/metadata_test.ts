import { type DecodedFrame, decodeFrame } from "../../src/enrich/frames.ts";
import {
  enrichFrames,
  estimateTokens,
  extractFields,
  MAX_PARSE_BYTES,
  type MessageMeta,
  PREVIEW_CHARS,
  splitMessage,
} from "../../src/enrich/metadata.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();

/** Frames decoded inline whatever their size (a blob threshold above them, as configurable). */
function frames(...parts: (string | Uint8Array)[]): DecodedFrame[] {
  return parts.map((part) =>
    decodeFrame(typeof part === "string" ? encoder.encode(part) : part, {
      blobThresholdBytes: Number.MAX_SAFE_INTEGER,
    })
  );
}

/** Enriches a two-frame message: topic "agent.test" and `payload` as JSON text. */
function enrichJson(payload: unknown): MessageMeta {
  return enrichFrames(frames("agent.test", JSON.stringify(payload)));
}

Deno.test("extractFields() finds the sender under each common name", () => {
  for (const name of ["sender", "from", "agent", "role", "author", "source"]) {
    assertEquals(extractFields({ [name]: "claude" }).sender, "claude", name);
  }
});

Deno.test("extractFields() prefers sender, then from, agent, role, author, source", () => {
  assertEquals(extractFields({ role: "user", from: "gemini", sender: "claude" }).sender, "claude");
  assertEquals(extractFields({ role: "user", from: "gemini" }).sender, "gemini");
  assertEquals(extractFields({ source: "cron", role: "user" }).sender, "user");
  assertEquals(extractFields({ source: "cron", author: "bot" }).sender, "bot");
});

Deno.test("extractFields() finds the recipient under recipient, to and target", () => {
  for (const name of ["recipient", "to", "target"]) {
    assertEquals(extractFields({ [name]: "gemini" }).recipient, "gemini", name);
  }
});

Deno.test("extractFields() joins an array of recipients", () => {
  assertEquals(extractFields({ to: ["gemini", "codex"] }).recipient, "gemini,codex");
  assertEquals(
    extractFields({ recipient: [{ name: "gemini" }, { id: 7 }, "codex", "", null] }).recipient,
    "gemini,7,codex",
  );
  assertEquals(extractFields({ to: [] }).recipient, undefined);
});

Deno.test("extractFields() names an object sender by its name or id", () => {
  assertEquals(extractFields({ from: { name: "claude", model: "x" } }).sender, "claude");
  assertEquals(extractFields({ from: { id: "agent-7" } }).sender, "agent-7");
  assertEquals(extractFields({ from: { model: "x" } }).sender, undefined);
});

Deno.test("extractFields() skips empty names and takes the next field", () => {
  assertEquals(extractFields({ sender: "  ", from: "claude" }).sender, "claude");
  assertEquals(extractFields({ sender: null, from: "claude" }).sender, "claude");
});

Deno.test("extractFields() finds the kind under type, kind and event", () => {
  for (const name of ["type", "kind", "event"]) {
    assertEquals(extractFields({ [name]: "chat" }).kind, "chat", name);
  }
});

Deno.test("extractFields() finds the content under each common name", () => {
  for (const name of ["content", "text", "message", "body", "data", "payload"]) {
    const fields = extractFields({ [name]: "hello there" });
    assertEquals(fields.content, "hello there", name);
    assertEquals(fields.contentField, name);
  }
});

Deno.test("extractFields() reads a nested Claude-style message", () => {
  const fields = extractFields({
    type: "assistant",
    session_id: "abc",
    message: {
      role: "assistant",
      content: [
        { type: "text", text: "First part." },
        { type: "text", text: "Second part." },
      ],
    },
  });
  assertEquals(fields, {
    sender: "assistant",
    kind: "assistant",
    content: "First part.\nSecond part.",
    contentField: "message.content",
  });
});

Deno.test("extractFields() prefers top-level fields over the nested message", () => {
  const fields = extractFields({
    from: "claude",
    to: "gemini",
    content: "top",
    message: { role: "assistant", recipient: "codex", content: "nested", type: "inner" },
  });
  assertEquals(fields, {
    sender: "claude",
    recipient: "gemini",
    kind: "inner",
    content: "top",
    contentField: "content",
  });
});

Deno.test("extractFields() takes a string message as the content", () => {
  assertEquals(extractFields({ message: "just text" }).contentField, "message");
});

Deno.test("enrichFrames() extracts the metadata of a JSON chat message", () => {
  const meta = enrichJson({ from: "claude", to: "gemini", type: "chat", content: "hello" });
  assertEquals(meta, {
    format: "json",
    bytes: "agent.test".length +
      JSON.stringify({ from: "claude", to: "gemini", type: "chat", content: "hello" }).length,
    tokens: 2,
    sender: "claude",
    recipient: "gemini",
    kind: "chat",
    content_field: "content",
    preview: "hello",
  });
});

Deno.test("enrichFrames() reads a single-frame 'topic {json}' message", () => {
  const message = frames('agent.claude {"from":"claude","text":"hi there"}');
  assertEquals(splitMessage(message), {
    topic: "agent.claude",
    payloadText: '{"from":"claude","text":"hi there"}',
  });
  const meta = enrichFrames(message);
  assertEquals(meta.format, "json");
  assertEquals(meta.sender, "claude");
  assertEquals(meta.content_field, "text");
  assertEquals(meta.preview, "hi there");
});

Deno.test("splitMessage() takes the first frame as topic and joins the rest", () => {
  assertEquals(splitMessage(frames("topic", "a", "b")), { topic: "topic", payloadText: "a\nb" });
  assertEquals(splitMessage([]), { topic: null, payloadText: null });
  assertEquals(splitMessage(frames(new Uint8Array([0xff]), "x")), {
    topic: null,
    payloadText: "x",
  });
  assertEquals(splitMessage(frames("topic", new Uint8Array([0xff]))), {
    topic: "topic",
    payloadText: null,
  });
});

Deno.test("enrichFrames() calls a message with a binary payload binary", () => {
  const meta = enrichFrames(frames("agent.test", new Uint8Array([0xff, 0xfe, 0x00])));
  assertEquals(meta, { format: "binary", bytes: 13, tokens: 0 });
  assertEquals(enrichFrames(frames(new Uint8Array([0x80]))), {
    format: "binary",
    bytes: 1,
    tokens: 0,
  });
});

Deno.test("enrichFrames() calls a message without bytes empty", () => {
  assertEquals(enrichFrames([]), { format: "empty", bytes: 0, tokens: 0 });
  assertEquals(enrichFrames(frames("")), { format: "empty", bytes: 0, tokens: 0 });
  assertEquals(enrichFrames(frames("", "")), { format: "empty", bytes: 0, tokens: 0 });
});

Deno.test("enrichFrames() gives no preview for a topic with an empty payload", () => {
  const meta = enrichFrames(frames("agent.test", ""));
  assert(meta.format === "text" || meta.format === "empty", meta.format);
  assertEquals(meta.bytes, 10);
  assertEquals(meta.tokens, 0);
  assertEquals(meta.preview, undefined);
});

Deno.test("enrichFrames() records non-JSON text as text with a preview", () => {
  const meta = enrichFrames(frames("agent.test", "plain words here"));
  assertEquals(meta, {
    format: "text",
    bytes: 26,
    tokens: 4,
    preview: "plain words here",
  });
});

Deno.test("enrichFrames() records broken JSON as text", () => {
  const meta = enrichFrames(frames("agent.test", '{"from":"claude","content":"hel'));
  assertEquals(meta.format, "text");
  assertEquals(meta.sender, undefined);
  assertEquals(meta.preview, '{"from":"claude","content":"hel');
  assertEquals(meta.note, undefined);
});

Deno.test("enrichFrames() records JSON scalars and arrays without fields", () => {
  assertEquals(enrichFrames(frames("t", "42")).format, "text");
  assertEquals(enrichFrames(frames("t", "null")).format, "text");
  const array = enrichFrames(frames("t", '[{"from":"claude"}]'));
  assertEquals(array.format, "json");
  assertEquals(array.sender, undefined);
  assertEquals(array.preview, '[{"from":"claude"}]');
});

Deno.test("enrichFrames() does not parse a JSON payload over MAX_PARSE_BYTES", () => {
  const prefix = '{"from":"claude","content":"';
  const payload = prefix + "a".repeat(MAX_PARSE_BYTES - prefix.length - 2 + 1) + '"}';
  assertEquals(payload.length, MAX_PARSE_BYTES + 1);
  const meta = enrichFrames(frames("agent.test", payload));
  assertEquals(meta.format, "text");
  assertEquals(meta.sender, undefined);
  assert(meta.note?.includes("not parsed"), `note: ${meta.note}`);
  assertEquals(meta.tokens, estimateTokens(payload));
  assert(meta.preview!.length <= PREVIEW_CHARS, "the preview is still short");
});

Deno.test("enrichFrames() parses a JSON payload of exactly MAX_PARSE_BYTES", () => {
  const prefix = '{"from":"claude","content":"';
  const payload = prefix + "a".repeat(MAX_PARSE_BYTES - prefix.length - 2) + '"}';
  assertEquals(payload.length, MAX_PARSE_BYTES);
  const meta = enrichFrames(frames("agent.test", payload));
  assertEquals(meta.format, "json");
  assertEquals(meta.sender, "claude");
  assertEquals(meta.note, undefined);
});

// 600,000 two-byte characters: under the limit in UTF-16 code units, over it in UTF-8 bytes.
Deno.test("enrichFrames() measures MAX_PARSE_BYTES in UTF-8 bytes, not characters", () => {
  const payload = '{"from":"claude","content":"' + "é".repeat(600_000) + '"}';
  assert(encoder.encode(payload).length > MAX_PARSE_BYTES, "the payload is over the limit");
  const meta = enrichFrames(frames("agent.test", payload));
  assertEquals(meta.sender, undefined, "the payload was parsed");
  assert(meta.note?.includes("not parsed"), `note: ${meta.note}`);
});

Deno.test("estimateTokens() counts about four characters per token, rounding up", () => {
  assertEquals(estimateTokens(""), 0);
  assertEquals(estimateTokens("a"), 1);
  assertEquals(estimateTokens("abcd"), 1);
  assertEquals(estimateTokens("abcde"), 2);
  assertEquals(estimateTokens("x".repeat(400)), 100);
});

Deno.test("enrichFrames() estimates tokens from the content, not the whole payload", () => {
  const meta = enrichJson({ from: "claude", content: "x".repeat(40), padding: "y".repeat(400) });
  assertEquals(meta.tokens, 10);
});

Deno.test("enrichFrames() cuts the preview to 160 characters on one line", () => {
  const content = "word\n\tline  two\r\n" + "z".repeat(400);
  const meta = enrichJson({ content });
  const preview = meta.preview!;
  assertEquals(preview.length, PREVIEW_CHARS);
  assertEquals(PREVIEW_CHARS, 160);
  assert(!/[\n\r\t]/.test(preview), `one line: ${JSON.stringify(preview)}`);
  assert(preview.startsWith("word line two zzz"), preview);
  assert(preview.endsWith("…"), preview);
});

Deno.test("enrichFrames() keeps a preview of exactly 160 characters whole", () => {
  const content = "q".repeat(PREVIEW_CHARS);
  assertEquals(enrichJson({ content }).preview, content);
  const longer = "q".repeat(PREVIEW_CHARS + 1);
  assertEquals(enrichJson({ content: longer }).preview, "q".repeat(PREVIEW_CHARS - 1) + "…");
});

Deno.test("enrichFrames() trims surrounding whitespace from the preview", () => {
  assertEquals(enrichJson({ content: "  \n hello \n " }).preview, "hello");
  assertEquals(enrichJson({ content: " \n\t " }).preview, undefined);
});

Deno.test("enrichFrames() does not cut a surrogate pair in the preview", () => {
  for (const prefix of ["", "a"]) {
    const preview = enrichJson({ content: prefix + "😀".repeat(200) }).preview!;
    assert(preview.endsWith("…"), preview);
    assert(preview.length <= PREVIEW_CHARS, `preview length ${preview.length}`);
    assert(preview.isWellFormed(), `preview has a lone surrogate: ${JSON.stringify(preview)}`);
  }
});
