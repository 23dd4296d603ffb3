/**
 * Gemini CLI chats (`~/.gemini/tmp/<project>/chats/session-*.jsonl`): a first metadata line
 * (`sessionId`, `startTime`, ...), then message lines (`id`, `timestamp`, `type`
 * `user|gemini|info|error|warning`, `content`, `toolCalls`), and `{"$set": ...}` /
 * `{"$rewindTo": id}` lines.
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

/** What earlier lines of the same chat told: its session id and the last time seen. */
export interface GeminiChatState {
  session: string | null;
}

/**
 * Reads one parsed Gemini CLI line. `digest` (the line's SHA-256) keys the lines without an
 * `id` (metadata, `$set`, `$rewindTo`); `state` carries the chat's session id from its first
 * line to the others.
 *
 * @example
 * ```ts
 * const state = { session: null };
 * readGeminiCliLine({ sessionId: "s1", startTime: "2026-11-20T10:00:00Z" }, "ab12", state);
 * ```
 */
export function readGeminiCliLine(
  object: JsonObject,
  digest: string,
  state: GeminiChatState,
): TranscriptEntry {
  const id = stringField(object, "id");
  if (state.session === null && id === null) state.session = stringField(object, "sessionId");
  const prefix = `gemini-cli:${state.session ?? "unknown"}:`;
  const base = { recipient: null, session: state.session };
  if ("$rewindTo" in object) {
    return {
      ...base,
      key: `${prefix}sha256:${digest}`,
      time: null,
      sender: null,
      kind: "$rewindTo",
      text: `rewind to ${textOf(object.$rewindTo)}`,
    };
  }
  if ("$set" in object) {
    return {
      ...base,
      key: `${prefix}sha256:${digest}`,
      time: isObject(object.$set) ? timeField(object.$set, ["lastUpdated"]) : null,
      sender: null,
      kind: "$set",
      text: JSON.stringify(object.$set),
    };
  }
  const type = stringField(object, "type");
  if (id === null || type === null) {
    return {
      ...base,
      key: `${prefix}sha256:${digest}`,
      time: timeField(object, ["startTime", "timestamp", "lastUpdated"]),
      sender: null,
      kind: "metadata",
      text: "",
    };
  }
  return {
    ...base,
    key: `${prefix}${id}`,
    time: timeField(object, ["timestamp"]),
    sender: type === "user" ? "user" : type === "gemini" ? "gemini" : "gemini-cli",
    kind: type,
    text: messageText(object),
  };
}

/** True when `object` looks like a Gemini CLI line (for auto-detection). */
export function looksLikeGeminiCli(object: JsonObject): boolean {
  if ("$rewindTo" in object || "$set" in object) return true;
  if ("sessionId" in object && "startTime" in object && "projectHash" in object) return true;
  const type = stringField(object, "type");
  return "id" in object && "timestamp" in object &&
    (type === "gemini" || type === "info" || type === "warning" ||
      (type === "user" && !isObject(object.message)));
}

function messageText(object: JsonObject): string {
  const parts = [textOf(object.content)];
  if (Array.isArray(object.thoughts)) {
    for (const thought of object.thoughts) {
      if (isObject(thought)) parts.push(`[thought] ${textOf(thought.description ?? thought)}`);
    }
  }
  if (Array.isArray(object.toolCalls)) {
    for (const call of object.toolCalls) {
      if (!isObject(call)) continue;
      parts.push(`[tool_call ${textOf(call.name)}] ${JSON.stringify(call.args ?? null)}`);
      if (call.result !== undefined) parts.push(`[tool_result] ${resultText(call.result)}`);
    }
  }
  return parts.filter((text) => text !== "").join("\n");
}

/** Tool results are Gemini API parts: `[{functionResponse: {response: {output}}}]`. */
function resultText(result: unknown): string {
  if (Array.isArray(result)) return result.map(resultText).join("\n");
  if (isObject(result) && isObject(result.functionResponse)) {
    const response = result.functionResponse.response;
    if (isObject(response) && response.output !== undefined) return textOf(response.output);
    return textOf(response);
  }
  return textOf(result);
}
