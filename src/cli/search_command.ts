import type { SearchRequest } from "../store/message_index.ts";
import { indexEntryOf } from "../enrich/index_entry.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { damagedNote } from "./hit_line.ts";
import { openHistory, STORE_OPTIONS } from "./history.ts";
import { printJson, printLine, printLines, styler } from "./output.ts";
import { fit, hitHeading } from "./render.ts";
import { plainMark, queryTerms, snippet, visibleUnmarked } from "./snippet.ts";
import { visibleLine } from "./visible.ts";
import { FILTER_OPTIONS, filtersFromFlags } from "./filters.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...FILTER_OPTIONS,
  ...STORE_OPTIONS,
  limit: { type: "string", short: "n" },
} as const;

const SNIPPET_WIDTH = 70;

/** `shearwater-persist search QUERY`: full-text search with filters. */
export const searchCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("search", args, OPTIONS, true);
    const text = positionals.join(" ").trim() || undefined;
    const asked = {
      ...filtersFromFlags(values),
      text,
      limit: integerFlag("limit", values.limit, { min: 1 }) ?? 20,
    };
    const { reader, filters } = await openHistory(values, { quiet: values.json });
    const request: SearchRequest = { ...asked, ...filters };
    try {
      const hits = await reader.search(request);
      const terms = text ? queryTerms(text) : [];
      const style = styler();
      // On a terminal a match is bold (data cannot forge bold: its ESC is shown as ␛); without
      // colour it is ⟦bracketed⟧ and the data's own ⟦ ⟧ are escaped. --json keeps [plain] marks.
      const [mark, show] = style.enabled ? [style.bold, visibleLine] : [plainMark, visibleUnmarked];
      const results = [];
      const lines = await reader.checkLines(hits);
      // Hits of several machines say which one each comes from.
      const origins = new Set(hits.map((hit) => hit.origin)).size > 1;
      for (const [i, hit] of hits.entries()) {
        const line = lines[i]!;
        // A line damaged since indexing is not trusted: the index's preview stands in, marked.
        const content = (line.ok ? indexEntryOf(line.record).content : null) ?? hit.preview ?? "";
        results.push({
          hit,
          damaged: line.ok ? null : line.reason,
          // Only the one printed: --json shows the excerpt, the text output the marked snippet.
          excerpt: values.json ? snippet(content, terms, SNIPPET_WIDTH, (term) => `[${term}]`) : "",
          shown: values.json ? "" : snippet(content, terms, SNIPPET_WIDTH, mark, show),
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
        const output = [
          `${hits.length} message${hits.length === 1 ? "" : "s"}` +
          (text ? ` matching ${fit(text, 40)}` : "") + ", newest first:",
        ];
        for (const { hit, damaged, shown } of results) {
          output.push(`  ${style.dim(hitHeading(hit, { origin: origins }))}`);
          output.push(`      ${shown}`);
          if (damaged !== null) {
            output.push(`      ${style.red(visibleLine(damagedNote(damaged)))}`);
          }
        }
        printLines(output);
      }
      return hits.length > 0 ? 0 : 1;
    } finally {
      await reader.close();
    }
  },
};
