import type { SearchRequest } from "../store/message_index.ts";
import { indexEntryOf } from "../enrich/index_entry.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { damagedNote, readHitLine } from "./hit_line.ts";
import { openIndexForReading } from "./index_access.ts";
import { printJson, printLine, styler } from "./output.ts";
import { fit, hitHeading } from "./render.ts";
import { plainMark, queryTerms, snippet, visibleUnmarked } from "./snippet.ts";
import { visibleLine } from "./visible.ts";
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
      // On a terminal a match is bold (data cannot forge bold: its ESC is shown as ␛); without
      // colour it is ⟦bracketed⟧ and the data's own ⟦ ⟧ are escaped. --json keeps [plain] marks.
      const [mark, show] = style.enabled ? [style.bold, visibleLine] : [plainMark, visibleUnmarked];
      const results = [];
      for (const hit of hits) {
        const line = await readHitLine(layout, hit);
        // A line damaged since indexing is not trusted: the index's preview stands in, marked.
        const content = (line.ok ? indexEntryOf(line.record).content : null) ?? hit.preview ?? "";
        results.push({
          hit,
          damaged: line.ok ? null : line.reason,
          excerpt: snippet(content, terms, SNIPPET_WIDTH, (term) => `[${term}]`),
          shown: snippet(content, terms, SNIPPET_WIDTH, mark, show),
        });
      }
      if (values.json) {
        printJson({
          query: text ?? null,
          count: hits.length,
          results: results.map(({ hit, damaged, excerpt }) => ({
            ...hit,
            damaged,
            snippet: excerpt,
          })),
        });
      } else if (hits.length === 0) {
        printLine(text ? `No messages match: ${text}` : "No messages match.");
      } else {
        printLine(
          `${hits.length} message${hits.length === 1 ? "" : "s"}` +
            (text ? ` matching ${fit(text, 40)}` : "") + ", newest first:",
        );
        for (const { hit, damaged, shown } of results) {
          printLine(`  ${style.dim(hitHeading(hit))}`);
          printLine(`      ${shown}`);
          if (damaged !== null) printLine(`      ${style.red(visibleLine(damagedNote(damaged)))}`);
        }
      }
      return hits.length > 0 ? 0 : 1;
    } finally {
      index.close();
    }
  },
};
