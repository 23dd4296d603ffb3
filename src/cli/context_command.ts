import { agentFromEnv } from "../config.ts";
import { buildContext, DEFAULT_CONTEXT_MAX_CHARS } from "../conversation/context.ts";
import { formatUtc } from "../conversation/transcript.ts";
import { UsageError } from "../errors.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { openConversation, STORE_OPTIONS } from "./history.ts";
import { printJson, writeOutput } from "./output.ts";
import { parseTimeFilter } from "./time_filter.ts";
import { visible } from "./visible.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  session: { type: "string" },
  checkpoint: { type: "string" },
  agent: { type: "string" },
  since: { type: "string" },
  topic: { type: "string", multiple: true },
  "max-chars": { type: "string" },
  "include-replays": { type: "boolean" },
} as const;

/** `shearwater-persist context`: the bus conversation as Markdown, sized for an agent. */
export const contextCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("context", args, OPTIONS, true);
    if (positionals.length > 0) {
      throw new UsageError(
        `Unexpected argument "${positionals[0]}" to "context": use --session ID or --checkpoint ID`,
      );
    }
    const maxChars = integerFlag("max-chars", values["max-chars"], { min: 1000 }) ??
      DEFAULT_CONTEXT_MAX_CHARS;
    const agent = values.agent ?? agentFromEnv();
    const sinceMs = values.since === undefined
      ? undefined
      : parseTimeFilter("since", values.since, new Date());
    const { source, layout, close } = await openConversation("context", values);
    let context;
    try {
      context = await buildContext(layout, source, {
        agent,
        sinceMs,
        topics: values.topic,
        includeReplays: values["include-replays"],
        maxChars,
        // On a terminal or in a file, recorded control characters are shown, never sent.
        displayText: values.json ? undefined : (text) => visible(text, { keepLayout: true }),
      });
    } finally {
      await close();
    }
    const { transcript, conversation } = context;
    if (values.json) {
      printJson({
        session: conversation.session,
        checkpoint: conversation.checkpoint,
        agent: agent ?? null,
        messages: context.messageCount,
        kept: transcript.kept.filter((k) => k.entry.kind === "message").length,
        left_out: transcript.leftOutMessages,
        replays_left_out: conversation.replaysLeftOut,
        search_command: transcript.searchCommand,
        entries: transcript.kept.map(({ entry, trimmed }) =>
          entry.kind === "message"
            ? {
              kind: "message",
              seq: entry.seq,
              time: new Date(entry.timeMs).toISOString(),
              sender: entry.sender,
              recipient: entry.recipient,
              topic: entry.topic,
              text: entry.text,
              trimmed,
            }
            : {
              kind: "summary",
              first_seq: entry.firstSeq,
              last_seq: entry.lastSeq,
              time: formatUtc(entry.firstMs),
              text: entry.text,
            }
        ),
        markdown: transcript.markdown,
      });
    } else {
      writeOutput(new TextEncoder().encode(transcript.markdown));
    }
    return context.messageCount > 0 ? 0 : 1;
  },
};
