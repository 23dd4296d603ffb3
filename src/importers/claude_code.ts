/**
 * Claude Code transcripts (`~/.claude/projects/<project>/<session-id>.jsonl`): one JSON object
 * per line. `user`/`assistant` lines carry `message.role` and `message.content` (a string or
 * blocks: `text`, `tool_use`, `tool_result`, `thinking`, `image`); other types (`summary`,
 * `system`, `attachment`, ...) exist and change between versions. What is recognised is read,
 * the rest kept as it is.
 *
 * @module
 */
import {
  isObject,
  type JsonObject,
  stringField,
  textOf,
  timeField,
  type TranscriptEntry,
} from "./transcript.ts";

/**
 * Reads one parsed Claude Code line. `digest` (the line's SHA-256) is the key of lines without
 * a `uuid`.
 *
 * @example
 * ```ts
 * const entry = readClaudeCodeLine({ type: "user", uuid: "u1", message: { role: "user", content: "hi" } }, "ab12");
 * ```
 */
export function readClaudeCodeLine(object: JsonObject, digest: string): TranscriptEntry {
  const type = stringField(object, "type");
  const message = isObject(object.message) ? object.message : undefined;
  const role = message ? stringField(message, "role") : null;
  const uuid = stringField(object, "uuid");
  return {
    key: `claude-code:${uuid ?? `sha256:${digest}`}`,
    time: timeField(object, ["timestamp"]),
    sender: senderOf(type, role, object),
    recipient: null,
    kind: type,
    text: message ? contentText(message.content) : otherText(object),
    session: stringField(object, "sessionId"),
  };
}

/** True when `object` looks like a Claude Code line (for auto-detection). */
export function looksLikeClaudeCode(object: JsonObject): boolean {
  const type = stringField(object, "type");
  if (type === "user" || type === "assistant") {
    return isObject(object.message) && ("uuid" in object || "sessionId" in object);
  }
  return type === "summary" && "leafUuid" in object;
}

function senderOf(type: string | null, role: string | null, object: JsonObject): string | null {
  if (role) return role === "assistant" ? "claude" : role;
  if (type === "system") return "system";
  return stringField(object, "userType") ?? type;
}

/** The text of `message.content`: a string, or its blocks by type. */
function contentText(content: unknown): string {
  if (!Array.isArray(content)) return textOf(content);
  return content.map((block) => {
    if (!isObject(block)) return textOf(block);
    switch (block.type) {
      case "text":
        return textOf(block.text);
      case "thinking":
        return textOf(block.thinking);
      case "tool_use":
        return `[tool_use ${textOf(block.name)}] ${JSON.stringify(block.input ?? null)}`;
      case "tool_result":
        return `[tool_result${block.is_error === true ? " error" : ""}] ${textOf(block.content)}`;
      case "image":
        return "[image]";
      default:
        return textOf(block);
    }
  }).filter((text) => text !== "").join("\n");
}

function otherText(object: JsonObject): string {
  for (const field of ["summary", "content", "text"]) {
    if (object[field] !== undefined) return textOf(object[field]);
  }
  return "";
}
