import type { PublisherFigures } from "../control/protocol.ts";
import { askDaemon } from "../daemon_process.ts";
import { readPublisherReport } from "../diag/publisher_report.ts";
import { DaemonNotRunningError } from "../errors.ts";
import type { GroupCount } from "../store/message_index.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { FILTER_OPTIONS, filtersFromFlags } from "./filters.ts";
import { openHistory, STORE_OPTIONS } from "./history.ts";
import { printJson, printLine, styler } from "./output.ts";
import { bar, fit, formatBytes, formatCount, hitHeading } from "./render.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...FILTER_OPTIONS,
  ...STORE_OPTIONS,
  top: { type: "string" },
} as const;
const BAR_WIDTH = 30;

/** `shearwater-persist stats`: who said how much, where and when. */
export const statsCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("stats", args, OPTIONS);
    const top = integerFlag("top", values.top, { min: 1 }) ?? 10;
    const asked = filtersFromFlags(values);
    const { reader, layout, filters } = await openHistory(values, { quiet: values.json });
    try {
      const stats = await reader.stats({ ...asked, ...filters }, top);
      // Publisher figures come from this machine's current log and daemon: none for the store.
      const { publishers } = reader.kind === "local"
        ? await readPublisherReport(layout.currentLog, { daemon: await daemonPublishers(layout) })
        : { publishers: [] };
      if (values.json) {
        printJson({ ...stats, publishers });
        return 0;
      }
      const style = styler();
      const { totals } = stats;
      printLine(
        style.bold(
          `${formatCount(totals.messages)} messages, ${formatBytes(totals.bytes)}, ` +
            `~${formatCount(totals.tokens)} tokens`,
        ),
      );
      if (totals.messages === 0) return 0;
      printTable("Per sender", stats.bySender);
      printTable("Per topic", stats.byTopic);
      printTable("Per session", stats.bySession);
      printTable(
        "Per hour (UTC)",
        stats.byHour.map((row) => ({ ...row, key: hourLabel(row.key) })),
      );
      if (publishers.length > 0) {
        printLine();
        printLine(style.bold("Per publisher (current session log)"));
        for (const p of publishers.slice(0, top)) {
          printLine(
            `  ${fit(p.pub, 22).padEnd(22)} ${formatCount(p.received).padStart(9)} received, ` +
              `${formatCount(p.missing)} missing, ${formatCount(p.refilled)} refilled, ` +
              `${p.duplicates === null ? "?" : formatCount(p.duplicates)} duplicates`,
          );
        }
      }
      printLine();
      printLine(style.bold("Biggest messages"));
      for (const hit of stats.biggest) {
        printLine(`  ${formatBytes(hit.bytes).padStart(9)}  ${fit(hitHeading(hit), 66)}`);
      }
      return 0;
    } finally {
      await reader.close();
    }
  },
};

/** The running daemon's per-publisher figures (duplicates), or undefined when it does not run. */
async function daemonPublishers(
  layout: Parameters<typeof askDaemon>[0],
): Promise<readonly PublisherFigures[] | undefined> {
  try {
    return (await askDaemon(layout, { cmd: "status" }, { timeoutMs: 3000 })).status.publishers;
  } catch (error) {
    if (error instanceof DaemonNotRunningError) return undefined;
    throw error;
  }
}

function printTable(title: string, rows: readonly GroupCount[]): void {
  const style = styler();
  printLine();
  printLine(style.bold(title));
  const max = Math.max(...rows.map((row) => row.messages));
  for (const row of rows) {
    printLine(
      `  ${fit(row.key, 22).padEnd(22)} ${formatCount(row.messages).padStart(9)} ${
        bar(row.messages, max, BAR_WIDTH)
      }`,
    );
  }
}

function hourLabel(iso: string): string {
  return `${iso.slice(5, 10)} ${iso.slice(11, 13)}:00`;
}
