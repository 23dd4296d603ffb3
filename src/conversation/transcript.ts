/**
 * A conversation as readable entries, and its Markdown transcript: the one format of `context`
 * and `export --format md`.
 *
 * @module
 */
import type { DecodedFrame } from "../enrich/frames.ts";
import { extractFields, splitMessage } from "../enrich/metadata.ts";
import { PersistError } from "../errors.ts";
import { isBlobFrame } from "../store/blob_store.ts";
import { decodeStoredFrames, type LogRecord, type StoredFrame } from "../store/record.ts";
import { type Conversation, senderAndRecipient } from "./select.ts";

/** The presence topic agents announce themselves on (see src/transport/agent_watcher.ts). */
const PRESENCE_TOPIC = "shearwater.presence";

/** One message or one summarised run of other records. */
export type TranscriptEntry =
  | {
    readonly kind: "message";
    readonly seq: number;
    readonly timeMs: number;
    readonly sender: string | null;
    readonly recipient: string | null;
    readonly topic: string | null;
    /** The message's content (the payload's content field, or its text). */
    readonly text: string;
  }
  | {
    readonly kind: "summary";
    readonly firstSeq: number;
    readonly lastSeq: number;
    readonly firstMs: number;
    readonly lastMs: number;
    /** What the run held, e.g. `2 presence (claude hello, gemini bye)`. */
    readonly text: string;
  };

/** Where blob frames are read from (the data dir's blob folder). */
export interface EntryOptions {
  readonly blobDir?: string;
}

/**
 * Turns records (oldest first) into transcript entries: every message with text becomes a
 * message entry; daemon events, presence chatter and binary messages in a row become one
 * summary entry.
 */
export function transcriptEntries(
  records: readonly { record: LogRecord }[],
  options: EntryOptions = {},
): TranscriptEntry[] {
  const entries: TranscriptEntry[] = [];
  let run: { records: LogRecord[]; notes: string[] } | null = null;
  const closeRun = () => {
    if (run === null) return;
    const first = run.records[0]!;
    const last = run.records.at(-1)!;
    entries.push({
      kind: "summary",
      firstSeq: first.seq,
      lastSeq: last.seq,
      firstMs: Date.parse(first.received_at),
      lastMs: Date.parse(last.received_at),
      text: summarise(run.notes),
    });
    run = null;
  };
  for (const { record } of records) {
    const message = messageEntry(record, options);
    if (message !== null) {
      closeRun();
      entries.push(message);
      continue;
    }
    run ??= { records: [], notes: [] };
    run.records.push(record);
    run.notes.push(noteOf(record));
  }
  closeRun();
  return entries;
}

function messageEntry(record: LogRecord, options: EntryOptions): TranscriptEntry | null {
  if (record.type !== "message") return null;
  const topic = typeof record.topic === "string" ? record.topic : null;
  if (topic === PRESENCE_TOPIC) return null;
  const text = messageText(record, options);
  if (text === null) return null;
  const { sender, recipient } = senderAndRecipient(record);
  return {
    kind: "message",
    seq: record.seq,
    timeMs: Date.parse(record.received_at),
    sender,
    recipient,
    topic,
    text,
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The content of a message, or null when it has no text (binary, empty). */
function messageText(record: LogRecord, options: EntryOptions): string | null {
  const frames = Array.isArray(record.frames) ? record.frames as StoredFrame[] : [];
  let bytes: Uint8Array[];
  try {
    bytes = decodeStoredFrames(frames, { blobDir: options.blobDir });
  } catch (error) {
    // A blob the data dir no longer holds: the start the record keeps of it stands in.
    if (!(error instanceof PersistError)) throw error;
    bytes = frames.map((frame) =>
      isBlobFrame(frame) && frame.head !== undefined
        ? new TextEncoder().encode(`${frame.head}… [blob ${frame.blob.slice(0, 12)} not readable]`)
        : new Uint8Array([0xff])
    );
  }
  const decoded: DecodedFrame[] = frames.map((stored, i) => ({
    stored,
    text: textOf(bytes[i]!),
    bytes: bytes[i]!.length,
  }));
  const { payloadText } = splitMessage(decoded);
  if (payloadText === null || payloadText.trim() === "") return null;
  const trimmed = payloadText.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        const content = extractFields(parsed as Record<string, unknown>).content;
        if (content !== undefined) return content;
      }
    } catch {
      // not JSON after all: the text as it is
    }
  }
  return payloadText;
}

function textOf(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null; // binary
  }
}

function noteOf(record: LogRecord): string {
  if (record.type === "message") {
    if (record.topic === PRESENCE_TOPIC) {
      const { sender } = senderAndRecipient(record);
      const meta = (record.meta ?? {}) as Record<string, unknown>;
      return `presence:${sender ?? "?"} ${typeof meta.kind === "string" ? meta.kind : ""}`.trim();
    }
    const meta = (record.meta ?? {}) as Record<string, unknown>;
    return `binary:${typeof meta.bytes === "number" ? meta.bytes : 0}`;
  }
  if (record.type === "oversized") return `binary:${Number(record.bytes) || 0}`;
  return `event:${record.type}`;
}

function summarise(notes: readonly string[]): string {
  const presence = notes.filter((n) => n.startsWith("presence:")).map((n) => n.slice(9));
  const binary = notes.filter((n) => n.startsWith("binary:"));
  const events = notes.filter((n) => n.startsWith("event:")).map((n) => n.slice(6));
  const parts: string[] = [];
  if (events.length > 0) {
    parts.push(`${plural(events.length, "daemon event")} (${countedList(events)})`);
  }
  if (presence.length > 0) {
    parts.push(`${plural(presence.length, "presence message")} (${countedList(presence)})`);
  }
  if (binary.length > 0) {
    const bytes = binary.reduce((sum, n) => sum + Number(n.slice(7)), 0);
    parts.push(`${plural(binary.length, "binary or empty message")} (${bytes} bytes)`);
  }
  return parts.join("; ");
}

function countedList(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  const shown = [...counts].slice(0, 6).map(([item, n]) => (n > 1 ? `${item} ×${n}` : item));
  return shown.join(", ") + (counts.size > 6 ? ", …" : "");
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `2026-11-25 13:31:10` UTC. */
export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** Longest transcript in characters (header included); undefined: no limit. */
  readonly maxChars?: number;
  /** The command that finds the messages left out, for the header (given the first kept one). */
  readonly searchCommand?: (firstKept: TranscriptEntry | undefined) => string;
  /**
   * Makes recorded text safe for where the transcript goes (e.g. control characters shown
   * visibly on a terminal); applied before sizes are measured. Default: unchanged.
   */
  readonly displayText?: (text: string) => string;
}

/** A rendered transcript and what it kept. */
export interface MarkdownTranscript {
  readonly markdown: string;
  /** Entries shown (oldest first), with `trimmed` set for a message cut short. */
  readonly kept: readonly { entry: TranscriptEntry; trimmed: boolean }[];
  /** Messages (not summaries) left out at the start. */
  readonly leftOutMessages: number;
  readonly searchCommand: string | null;
}

/** Shortest part of a message worth keeping when it must be trimmed. */
const MIN_TRIMMED_CHARS = 300;

/**
 * Renders the Markdown transcript: a header (session, span, what was left out and how to find
 * it), then the entries oldest to newest. With `maxChars`, the newest messages are kept whole
 * first; the first that does not fit is trimmed (with a visible marker) if enough room is left,
 * and older ones are left out and counted in the header.
 *
 * @example
 * ```ts
 * const { markdown } = renderMarkdown(conversation, entries, { maxChars: 9000 });
 * ```
 */
export function renderMarkdown(
  conversation: Pick<Conversation, "session" | "checkpoint" | "replaysLeftOut" | "partial">,
  entries: readonly TranscriptEntry[],
  options: MarkdownOptions = {},
): MarkdownTranscript {
  const totalMessages = entries.filter((e) => e.kind === "message").length;
  // The header's size with the largest numbers it can hold: what the entries may use is known
  // before choosing them.
  const worstHeader = header(conversation, entries, {
    leftOut: totalMessages,
    firstKept: entries[0],
    lastKept: entries.at(-1),
    searchCommand: options.searchCommand?.(entries[0]) ?? null,
  });
  let budget = options.maxChars === undefined ? Infinity : options.maxChars - worstHeader.length;
  const show = options.displayText ?? ((text: string) => text);
  const kept: { entry: TranscriptEntry; trimmed: boolean; text: string }[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    const whole = renderEntry(entry, show);
    if (whole.length + 1 <= budget) {
      kept.unshift({ entry, trimmed: false, text: whole });
      budget -= whole.length + 1;
      continue;
    }
    if (entry.kind === "message" && budget >= MIN_TRIMMED_CHARS) {
      const trimmed = renderEntry(entry, show, budget - 1);
      kept.unshift({ entry, trimmed: true, text: trimmed });
    }
    break;
  }
  const keptMessages = kept.filter((k) => k.entry.kind === "message").length;
  const leftOut = totalMessages - keptMessages;
  const firstKept = kept[0]?.entry;
  const searchCommand = leftOut > 0 || conversation.partial
    ? options.searchCommand?.(firstKept) ?? null
    : null;
  const head = header(conversation, entries, {
    leftOut,
    firstKept,
    lastKept: kept.at(-1)?.entry,
    searchCommand,
  });
  const markdown = [head, ...kept.map((k) => k.text)].join("\n");
  return {
    markdown,
    kept: kept.map(({ entry, trimmed }) => ({ entry, trimmed })),
    leftOutMessages: leftOut,
    searchCommand,
  };
}

function header(
  conversation: Pick<Conversation, "session" | "checkpoint" | "replaysLeftOut" | "partial">,
  entries: readonly TranscriptEntry[],
  shown: {
    leftOut: number;
    firstKept: TranscriptEntry | undefined;
    lastKept: TranscriptEntry | undefined;
    searchCommand: string | null;
  },
): string {
  const source = conversation.checkpoint !== null
    ? `checkpoint ${conversation.checkpoint} (session ${conversation.session ?? "?"})`
    : conversation.session !== null
    ? `session ${conversation.session}`
    : "search results";
  const lines = [`# Bus conversation: ${source}`, ""];
  const messages = entries.filter((e) => e.kind === "message");
  if (messages.length === 0) {
    lines.push("No messages.");
    return lines.join("\n") + "\n";
  }
  const agents = new Set<string>();
  for (const m of messages) if (m.kind === "message" && m.sender) agents.add(m.sender);
  lines.push(
    `Span: ${formatUtc(startMs(entries[0]!))} to ${formatUtc(endMs(entries.at(-1)!))} UTC, ` +
      `${messages.length} message${messages.length === 1 ? "" : "s"}` +
      (agents.size > 0 ? `, agents: ${[...agents].sort().join(", ")}` : "") + ".",
  );
  if ((shown.leftOut > 0 || conversation.partial) && shown.firstKept) {
    const count = conversation.partial
      ? (shown.leftOut > 0
        ? `at least the ${shown.leftOut} earlier message${shown.leftOut === 1 ? "" : "s"}`
        : "any earlier messages") + " (only the end of a long log was read)"
      : `the ${shown.leftOut} earlier message${shown.leftOut === 1 ? "" : "s"}`;
    lines.push(
      `Left out: ${count} ` +
        `before ${formatUtc(startMs(shown.firstKept))}` +
        (shown.searchCommand ? `; find them with \`${shown.searchCommand}\`` : "") + ".",
    );
  }
  if (conversation.replaysLeftOut > 0) {
    lines.push(
      `${conversation.replaysLeftOut} replayed message${
        conversation.replaysLeftOut === 1 ? "" : "s"
      } not shown (--include-replays shows them).`,
    );
  }
  return lines.join("\n") + "\n";
}

function startMs(entry: TranscriptEntry): number {
  return entry.kind === "message" ? entry.timeMs : entry.firstMs;
}

function endMs(entry: TranscriptEntry): number {
  return entry.kind === "message" ? entry.timeMs : entry.lastMs;
}

/** The heading of a message: `13:31:08 claude → gemini [agent.claude] #12`. */
export function messageHeading(entry: Extract<TranscriptEntry, { kind: "message" }>): string {
  const who = `${entry.sender ?? "?"} → ${entry.recipient ?? "all"}`;
  const topic = entry.topic !== null ? ` [${entry.topic}]` : "";
  return `${formatUtc(entry.timeMs)} ${who}${topic} #${entry.seq}`;
}

/** One entry as Markdown, at most `maxChars` long (a message trimmed with a marker). */
function renderEntry(
  entry: TranscriptEntry,
  show: (text: string) => string,
  maxChars = Infinity,
): string {
  if (entry.kind === "summary") {
    const span = entry.firstSeq === entry.lastSeq
      ? `#${entry.firstSeq}`
      : `#${entry.firstSeq}-${entry.lastSeq}`;
    return `> ${formatUtc(entry.firstMs)} (${span}): ${oneLine(show(entry.text))}\n`;
  }
  const heading = `### ${oneLine(show(messageHeading(entry)))}\n`;
  const text = show(entry.text);
  const body = text.endsWith("\n") ? text : text + "\n";
  const whole = `${heading}${body}`;
  if (whole.length <= maxChars) return whole;
  const marker = (cut: number) =>
    `\n[… trimmed: ${cut} of ${text.length} characters not shown; ` +
    `full text: \`shearwater-persist show ${entry.seq}\`]\n`;
  const markerRoom = marker(text.length).length + "```\n".length;
  const keep = Math.max(0, maxChars - heading.length - markerRoom);
  let part = text.slice(0, keep);
  // A cut inside a code block closes the fence, so the marker is not read as code.
  const fences = part.split("\n").filter((line) => /^\s*(```|~~~)/.test(line)).length;
  if (fences % 2 === 1) part += part.endsWith("\n") ? "```" : "\n```";
  return `${heading}${part}${marker(text.length - keep)}`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ");
}
