/**
 * A conversation as one self-contained HTML page: inline CSS, no script, no network request
 * (a Content-Security-Policy forbids both), every piece of recorded text escaped.
 *
 * @module
 */
import type { Conversation } from "./select.ts";
import { formatUtc, type TranscriptEntry } from "./transcript.ts";

/** Messages longer than this (characters) or {@link FOLD_LINES} lines are folded. */
const FOLD_CHARS = 1500;
const FOLD_LINES = 25;
const PREVIEW_CHARS = 160;

/**
 * Escapes text for HTML element content and quoted attribute values: `& < > " '`.
 *
 * @example
 * ```ts
 * escapeHtml("<script>"); // "&lt;script&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Hues (0-359) for the senders of a page, one each: spread by the golden angle in name order,
 * so the first few senders get clearly different colours.
 *
 * @example
 * ```ts
 * senderHues(["claude", "gemini"]).get("gemini"); // 137
 * ```
 */
export function senderHues(names: Iterable<string>): Map<string, number> {
  const sorted = [...new Set(names)].sort();
  return new Map(sorted.map((name, i) => [name, Math.round((i * 137.508 + 210) % 360)]));
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{padding:16px 24px;background:#1d2b3a;color:#fff}
header h1{font-size:18px;margin:0 0 6px}
header p{margin:2px 0;color:#d0d8e2}
main{max-width:980px;margin:0 auto;padding:16px}
article{background:#fff;border-left:5px solid hsl(var(--hue) 60% 45%);border-radius:6px;
margin:10px 0;padding:8px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
article .meta{font-size:13px;color:#5a6572}
article .sender{font-weight:600;color:hsl(var(--hue) 60% 32%)}
article .topic{font-family:ui-monospace,monospace;background:#eef1f4;padding:0 4px;border-radius:3px}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:6px 0}
pre{background:#272c33;color:#e6e6e6;padding:10px;border-radius:5px;overflow:auto;
font:13px/1.4 ui-monospace,monospace;white-space:pre}
details summary{cursor:pointer;color:#33506d;overflow-wrap:anywhere}
.summary{font-size:13px;color:#6b7580;margin:6px 0 6px 8px;font-style:italic}
`;

/**
 * Renders the whole conversation as an HTML page.
 *
 * @example
 * ```ts
 * const page = renderHtml(conversation, transcriptEntries(conversation.records));
 * ```
 */
export function renderHtml(
  conversation: Pick<Conversation, "session" | "checkpoint">,
  entries: readonly TranscriptEntry[],
): string {
  const messages = entries.filter((e) => e.kind === "message");
  const agents = [...new Set(messages.map((m) => m.sender).filter((s) => s !== null))].sort();
  const title = conversation.checkpoint !== null
    ? `Checkpoint ${conversation.checkpoint}`
    : conversation.session !== null
    ? `Session ${conversation.session}`
    : "Search results";
  const first = entries[0];
  const last = entries.at(-1);
  const span = first && last
    ? `${formatUtc(first.kind === "message" ? first.timeMs : first.firstMs)} to ${
      formatUtc(last.kind === "message" ? last.timeMs : last.lastMs)
    } UTC`
    : "no messages";
  const hues = senderHues(messages.map((m) => m.sender ?? "?"));
  const agentList = agents.map((name) =>
    `<span class="sender" style="--hue:${hues.get(name)}">${escapeHtml(name)}</span>`
  ).join(", ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Bus conversation: ${title}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(`Bus conversation: ${title}`)}</h1>
<p>${escapeHtml(span)}, ${messages.length} message${messages.length === 1 ? "" : "s"}</p>
<p>Agents: ${agentList === "" ? "none named" : agentList}</p>
</header>
<main>
${entries.map((entry) => renderEntry(entry, hues)).join("\n")}
</main>
</body>
</html>
`;
}

function renderEntry(entry: TranscriptEntry, hues: ReadonlyMap<string, number>): string {
  if (entry.kind === "summary") {
    return `<p class="summary">${escapeHtml(`${formatUtc(entry.firstMs)}: ${entry.text}`)}</p>`;
  }
  const sender = entry.sender ?? "?";
  const meta = `<div class="meta"><time>${escapeHtml(formatUtc(entry.timeMs))}</time> ` +
    `<span class="sender">${escapeHtml(sender)}</span> → ${escapeHtml(entry.recipient ?? "all")}` +
    (entry.topic !== null ? ` <span class="topic">${escapeHtml(entry.topic)}</span>` : "") +
    ` #${entry.seq}</div>`;
  const body = renderBody(entry.text);
  const long = entry.text.length > FOLD_CHARS || entry.text.split("\n").length > FOLD_LINES;
  const content = long
    ? `<details><summary>${escapeHtml(preview(entry.text))} (${entry.text.length} characters, ` +
      `click to unfold)</summary>${body}</details>`
    : body;
  return `<article style="--hue:${hues.get(sender) ?? 0}">${meta}${content}</article>`;
}

/** Text with its fenced code blocks as `<pre>`; everything escaped. */
function renderBody(text: string): string {
  const parts: string[] = [];
  let prose: string[] = [];
  let code: string[] | null = null;
  const flushProse = () => {
    if (prose.length > 0) parts.push(`<div class="text">${escapeHtml(prose.join("\n"))}</div>`);
    prose = [];
  };
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      if (code === null) {
        flushProse();
        code = [];
      } else {
        parts.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
        code = null;
      }
      continue;
    }
    (code ?? prose).push(line);
  }
  if (code !== null) parts.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
  flushProse();
  return parts.join("");
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= PREVIEW_CHARS ? flat : flat.slice(0, PREVIEW_CHARS - 1) + "…";
}
