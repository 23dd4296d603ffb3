import { hostname } from "node:os";
import { askDaemon } from "../daemon_process.ts";
import { DaemonNotRunningError } from "../errors.ts";
import { createJsonLogger } from "../logger.ts";
import { openStore } from "../pgstore/connection.ts";
import { LogShipper } from "../pgstore/log_shipper.ts";
import { ensureSchema } from "../pgstore/migrations.ts";
import { ensureOrigin } from "../pgstore/origin.ts";
import { registerOrigin } from "../pgstore/records.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printJson } from "./output.ts";
import { createProgress } from "./progress.ts";
import { formatCount } from "./render.ts";
import { STORE_OPTION, storeUrlFromFlags } from "./store_flags.ts";

const OPTIONS = { ...COMMON_OPTIONS, ...STORE_OPTION } as const;

/**
 * `shearwater-persist ship`: backfills the data dir's logs and archives into the shared store.
 * Resumable and idempotent (rows already there are skipped); with a daemon running it ships only
 * what the daemon made durable.
 */
export const shipCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("ship", args, OPTIONS);
    const layout = layoutFromFlags(values, { mustExist: true });
    const url = storeUrlFromFlags(values);
    const limit = await durableLimit(layout);
    const origin = await ensureOrigin(layout.root);
    const logger = createJsonLogger({ component: "ship", level: "warn" });
    const store = await openStore(url);
    try {
      await ensureSchema(store);
      await registerOrigin(store, origin, { hostname: hostname(), dataDir: layout.root });
      const progress = values.json ? undefined : createProgress("Shipping");
      const shipper = new LogShipper(layout, origin, {
        logger,
        onProgress: (update) =>
          progress?.update(
            update.bytesDone,
            update.bytesTotal,
            `${formatCount(update.records)} records`,
          ),
      });
      const started = performance.now();
      const result = await shipper.pass(store, limit).catch((error) => {
        throw store.fail(error, `Cannot ship "${layout.root}" to ${store.redactedUrl}`);
      });
      const seconds = (performance.now() - started) / 1000;
      const rate = Math.round(result.sent / Math.max(seconds, 0.001));
      if (values.json) {
        printJson({
          origin,
          store: store.redactedUrl,
          sent: result.sent,
          added: result.added,
          already_there: result.sent - result.added,
          blobs: result.blobs,
          bad_lines: result.badLines,
          shipped_seq: result.shippedSeq,
          seconds,
          records_per_second: rate,
        });
      } else {
        progress?.finish(
          `${formatCount(result.added)} records added, ${
            formatCount(result.sent - result.added)
          } ` +
            `already there, ${result.blobs} blobs, up to seq ${result.shippedSeq} in ` +
            `${seconds.toFixed(1)} s (${formatCount(rate)}/s); origin ${origin}` +
            (result.badLines ? `, ${result.badLines} damaged lines skipped` : ""),
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

/** With a daemon running, ship only what it made durable; without one, every complete line. */
async function durableLimit(layout: DataDirLayout): Promise<number> {
  try {
    return (await askDaemon(layout, { cmd: "status" })).status.durable_seq;
  } catch (error) {
    if (error instanceof DaemonNotRunningError) return Number.POSITIVE_INFINITY;
    throw error;
  }
}
