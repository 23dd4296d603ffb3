import type { SearchRequest } from "../store/message_index.ts";
import { indexEntryOf } from "../enrich/index_entry.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { openIndexForReading, readHitRecord } from "./index_access.ts";
import { printJson, printLine, styler } from "./output.ts";
import { fit, hitHeading } from "./render.ts";
import { queryTerms, snippet } from "./snippet.ts";
import { FILTER_HELP, FILTER_OPTIONS, filtersFromFlags } from "./filters.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...FILTER_OPTIONS,
  limit: { type: "string", short: "n" },
} as const;

const SNIPPET_WIDTH = 70;

/** `shearwater-persist search QUERY`: full-text search with filters. */
export const searchCommand: Command = {
  name: "search",
  summary: "full-text search of recorded messages, with filters",
  help: `Usage: shearwater-persist search [QUERY] [options]

Searches every recorded session, newest first. QUERY uses SQLite FTS5 syntax:
words (all must match), "quoted phrases", OR, NOT, prefix*, and parentheses.
Without QUERY, lists the newest messages that match the filters. Works whether
or not the daemon runs (without one, the index first catches up itself).

Options:
${FILTER_HELP}
  -n, --limit N      at most N results (default 20)
${COMMON_HELP}

Examples:
  shearwater-persist search checkpoint --sender claude --since 2h
  shearwater-persist search '"disk full" OR enospc' --json

Exit codes: 0 results found, 1 no results, 2 bad query or arguments.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("search", args, OPTIONS, true);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const layout = layoutFromFlags(values, { mustExist: true });
    const text = positionals.join(" ").trim() || undefined;
    const request: SearchRequest = {
      ...filtersFromFlags(values),
      text,
      limit: integerFlag("limit", values.limit, { min: 1 }) ?? 20,
    };
    const index = await openIndexForReading(layout, { quiet: values.json });
    try {
      const hits = index.search(request);
      const terms = text ? queryTerms(text) : [];
      const style = styler();
      const mark = style.enabled ? style.bold : (term: string) => `[${term}]`;
      const results = [];
      for (const hit of hits) {
        let content: string | null = hit.preview;
        try {
          content = indexEntryOf((await readHitRecord(layout, hit)).record).content ?? hit.preview;
        } catch (error) {
          // The log moved or was damaged since indexing: show the stored preview instead.
          content = `${hit.preview ?? ""} (log unreadable: ${(error as Error).message})`;
        }
        results.push({ hit, excerpt: snippet(content ?? "", terms, SNIPPET_WIDTH, mark) });
      }
      if (values.json) {
        printJson({
          query: text ?? null,
          count: hits.length,
          results: results.map(({ hit, excerpt }) => ({ ...hit, snippet: excerpt })),
        });
      } else if (hits.length === 0) {
        printLine(text ? `No messages match: ${text}` : "No messages match.");
      } else {
        printLine(
          `${hits.length} message${hits.length === 1 ? "" : "s"}` +
            (text ? ` matching ${fit(text, 40)}` : "") + ", newest first:",
        );
        for (const { hit, excerpt } of results) {
          printLine(`  ${style.dim(hitHeading(hit))}`);
          printLine(`      ${excerpt}`);
        }
      }
      return hits.length > 0 ? 0 : 1;
    } finally {
      index.close();
    }
  },
};
