import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { FILTER_OPTIONS, filtersFromFlags } from "./filters.ts";
import { damagedNote } from "./hit_line.ts";
import { openHistory, STORE_OPTIONS } from "./history.ts";
import { printJson, printLine, printLines, styler } from "./output.ts";
import { fit, hitHeading } from "./render.ts";
import { visibleLine } from "./visible.ts";
import { UsageError } from "../errors.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...FILTER_OPTIONS,
  ...STORE_OPTIONS,
  events: { type: "boolean" },
} as const;

/** `shearwater-persist recent [N]`: the last N messages. */
export const recentCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("recent", args, OPTIONS, true);
    if (positionals.length > 1) {
      throw new UsageError('Too many arguments to "recent": give at most one number');
    }
    const count = integerFlag("N", positionals[0], { min: 1 }) ?? 10;
    const asked = { ...filtersFromFlags(values), limit: count, includeEvents: values.events };
    const { reader, filters } = await openHistory(values, { quiet: values.json });
    try {
      const hits = (await reader.search({ ...asked, ...filters })).reverse();
      // The index row outlives damage to its log line: check each line before showing it.
      const damaged = (await reader.checkLines(hits)).map((line) => line.ok ? null : line.reason);
      // Hits of several machines say which one each comes from.
      const origins = new Set(hits.map((hit) => hit.origin)).size > 1;
      if (values.json) {
        printJson({
          count: hits.length,
          messages: hits.map((hit, i) => ({ ...hit, damaged: damaged[i] })),
        });
        return 0;
      }
      if (hits.length === 0) {
        printLine("No messages recorded yet.");
        return 0;
      }
      const style = styler();
      const lines: string[] = [];
      hits.forEach((hit, i) => {
        lines.push(style.dim(hitHeading(hit, { origin: origins })));
        lines.push(
          `    ${fit(hit.preview ?? `(${hit.kind ?? hit.type}, ${hit.bytes} bytes)`, 74)}`,
        );
        const reason = damaged[i];
        if (reason) lines.push(`    ${style.red(visibleLine(damagedNote(reason)))}`);
      });
      printLines(lines);
      return 0;
    } finally {
      await reader.close();
    }
  },
};
