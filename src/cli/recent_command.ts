import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { FILTER_OPTIONS, filtersFromFlags } from "./filters.ts";
import { damagedNote, readHitLines } from "./hit_line.ts";
import { openIndexForReading } from "./index_access.ts";
import { printJson, printLine, printLines, styler } from "./output.ts";
import { fit, hitHeading } from "./render.ts";
import { visibleLine } from "./visible.ts";
import { UsageError } from "../errors.ts";

const OPTIONS = { ...COMMON_OPTIONS, ...FILTER_OPTIONS, events: { type: "boolean" } } as const;

/** `shearwater-persist recent [N]`: the last N messages. */
export const recentCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("recent", args, OPTIONS, true);
    if (positionals.length > 1) {
      throw new UsageError('Too many arguments to "recent": give at most one number');
    }
    const count = integerFlag("N", positionals[0], { min: 1 }) ?? 10;
    const layout = layoutFromFlags(values, { mustExist: true });
    const index = await openIndexForReading(layout, { quiet: values.json });
    try {
      const hits = index.search({
        ...filtersFromFlags(values),
        limit: count,
        includeEvents: values.events,
      }).reverse();
      // The index row outlives damage to its log line: check each line before showing it.
      const damaged = readHitLines(layout, hits).map((line) => line.ok ? null : line.reason);
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
        lines.push(style.dim(hitHeading(hit)));
        lines.push(
          `    ${fit(hit.preview ?? `(${hit.kind ?? hit.type}, ${hit.bytes} bytes)`, 74)}`,
        );
        const reason = damaged[i];
        if (reason) lines.push(`    ${style.red(visibleLine(damagedNote(reason)))}`);
      });
      printLines(lines);
      return 0;
    } finally {
      index.close();
    }
  },
};
