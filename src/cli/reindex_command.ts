import { DaemonNotRunningError, DataDirBusyError } from "../errors.ts";
import { refreshIndex, type RefreshResult } from "../indexer/refresh.ts";
import { createJsonLogger } from "../logger.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { askDaemon } from "../daemon_process.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printJson } from "./output.ts";
import { createProgress } from "./progress.ts";
import { formatCount } from "./render.ts";

const LOCK_WAIT_MS = 10_000;

/** `shearwater-persist reindex`: rebuild the search index from the logs. */
export const reindexCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("reindex", args, COMMON_OPTIONS);
    const layout = layoutFromFlags(values, { mustExist: true });
    const logger = createJsonLogger({ component: "reindex", level: "warn" });
    const progress = values.json ? undefined : createProgress("Reindexing");
    const started = performance.now();
    let daemonAsked = false;
    let result: RefreshResult | undefined;
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (!result) {
      try {
        result = await refreshIndex(layout, {
          logger,
          fresh: true,
          onProgress: (update) =>
            progress?.update(
              update.bytesDone,
              update.bytesTotal,
              `${formatCount(update.records)} records`,
            ),
        });
      } catch (error) {
        if (!(error instanceof DataDirBusyError) || Date.now() > deadline) throw error;
        if (!daemonAsked) {
          daemonAsked = true;
          await askDaemonToRelease(layout);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(result.records / Math.max(seconds, 0.001));
    if (values.json) {
      printJson({
        records: result.records,
        seconds,
        records_per_second: rate,
        bad_lines: result.badLines,
      });
    } else {
      progress?.finish(
        `${formatCount(result.records)} records in ${seconds.toFixed(1)} s ` +
          `(${formatCount(rate)}/s)` +
          (result.badLines ? `, ${result.badLines} damaged lines skipped` : ""),
      );
    }
    return 0;
  },
};

async function askDaemonToRelease(layout: ReturnType<typeof layoutFromFlags>): Promise<void> {
  try {
    await askDaemon(layout, { cmd: "index-release" });
  } catch (error) {
    // No daemon: another reader holds the lock for a moment; just wait for it.
    if (!(error instanceof DaemonNotRunningError)) throw error;
  }
}
