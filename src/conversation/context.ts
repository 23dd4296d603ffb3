/**
 * The context an agent gets back: the selected conversation as a Markdown transcript sized for
 * its context window. Used by `context`, `export --format md` and the session-start hooks.
 *
 * @module
 */
import type { DataDirLayout } from "../store/data_dir.ts";
import {
  type Conversation,
  type ConversationSource,
  selectConversation,
  type SelectOptions,
} from "./select.ts";
import {
  type MarkdownOptions,
  type MarkdownTranscript,
  renderMarkdown,
  transcriptEntries,
  type TranscriptEntry,
} from "./transcript.ts";

/** Claude Code caps injected context at 10,000 characters; this leaves room for the hook's note. */
export const DEFAULT_CONTEXT_MAX_CHARS = 9000;

/** A conversation and its transcript. */
export interface ConversationContext {
  readonly conversation: Conversation;
  readonly entries: readonly TranscriptEntry[];
  readonly transcript: MarkdownTranscript;
  /** Messages in the selection (before any were left out for size). */
  readonly messageCount: number;
  /** Time of the newest message (epoch ms), or null. */
  readonly newestMessageMs: number | null;
}

/**
 * Selects a conversation and renders its Markdown transcript (at most `maxChars`, when given).
 *
 * @example
 * ```ts
 * const { transcript } = await buildContext(layout, { kind: "current" }, { maxChars: 9000 });
 * ```
 */
export async function buildContext(
  layout: DataDirLayout,
  source: ConversationSource,
  options: SelectOptions & Pick<MarkdownOptions, "maxChars" | "displayText"> = {},
): Promise<ConversationContext> {
  const conversation = await selectConversation(layout, source, options);
  const entries = transcriptEntries(conversation.records, { blobDir: conversation.blobDir });
  const messages = entries.filter((entry) => entry.kind === "message");
  const transcript = renderMarkdown(conversation, entries, {
    maxChars: options.maxChars,
    displayText: options.displayText,
    searchCommand: (firstKept) => searchCommandFor(conversation, firstKept),
  });
  const newest = messages.at(-1);
  return {
    conversation,
    entries,
    transcript,
    messageCount: messages.length,
    newestMessageMs: newest?.kind === "message" ? newest.timeMs : null,
  };
}

/** The `search` command that lists the messages before `firstKept`. */
function searchCommandFor(
  conversation: Conversation,
  firstKept: TranscriptEntry | undefined,
): string {
  const parts = ["shearwater-persist search"];
  if (conversation.session !== null) parts.push(`--session ${conversation.session}`);
  if (firstKept !== undefined) {
    const startMs = firstKept.kind === "message" ? firstKept.timeMs : firstKept.firstMs;
    parts.push(`--until ${new Date(startMs - 1).toISOString()}`);
  }
  return parts.join(" ");
}
