import { parseTimeFilter } from "./time_filter.ts";

/** Filter flags shared by search, recent and stats. */
export const FILTER_OPTIONS = {
  sender: { type: "string" },
  topic: { type: "string" },
  session: { type: "string" },
  kind: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  "include-replays": { type: "boolean" },
} as const;

/** Help lines for {@link FILTER_OPTIONS}. */
export const FILTER_HELP = `  --sender NAME      only messages from NAME
  --topic TOPIC      only messages on TOPIC
  --session ID       only messages of session ID
  --kind KIND        only messages of kind KIND (the payload's type/kind)
  --since TIME       from TIME: ISO (2026-11-25T13:00) or ago (30m, 2h, 7d)
  --until TIME       up to TIME, same forms
  --include-replays  also messages sent by \`replay\` (left out by default)`;

/** Turns filter flag values into index filters. */
export function filtersFromFlags(values: {
  sender?: string;
  topic?: string;
  session?: string;
  kind?: string;
  since?: string;
  until?: string;
  "include-replays"?: boolean;
}, now = new Date()) {
  return {
    sender: values.sender,
    topic: values.topic,
    session: values.session,
    kind: values.kind,
    sinceMs: values.since === undefined ? undefined : parseTimeFilter("since", values.since, now),
    untilMs: values.until === undefined ? undefined : parseTimeFilter("until", values.until, now),
    includeReplays: values["include-replays"] === true,
  };
}
