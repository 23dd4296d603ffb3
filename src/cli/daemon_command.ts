import { NUMBER_SETTINGS, resolveConfig, type SyncMode } from "../config.ts";
import { runDaemon } from "../daemon.ts";
import { createFileLogger, createJsonLogger, type LogLevel } from "../logger.ts";
import { integerFlag, parseCommandArgs } from "./args.ts";
import { parentDir } from "../store/data_dir.ts";
import type { CommandAction } from "./command.ts";
import { checkDataDir } from "./daemon_link.ts";
import { checkStoreUrl } from "../pgstore/store_url.ts";

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  "data-dir": { type: "string" },
  config: { type: "string" },
  backend: { type: "string" },
  topic: { type: "string", multiple: true },
  exclude: { type: "string", multiple: true },
  sync: { type: "string" },
  "sync-ms": { type: "string" },
  "heartbeat-ms": { type: "string" },
  "log-level": { type: "string" },
  "no-index": { type: "boolean" },
  "checkpoint-every": { type: "string" },
  "checkpoint-minutes": { type: "string" },
  "checkpoint-keep": { type: "string" },
  "log-file": { type: "string" },
  "blob-threshold-bytes": { type: "string" },
  "max-message-bytes": { type: "string" },
  store: { type: "string" },
} as const;

/** `shearwater-persist daemon`: the recorder. */
export const daemonCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("daemon", args, OPTIONS);
    const config = resolveConfig({
      dataDir: values["data-dir"],
      configFile: values.config,
      backend: values.backend,
      topics: values.topic,
      exclude: values.exclude,
      syncMode: values.sync as SyncMode | undefined,
      syncMs: integerFlag("sync-ms", values["sync-ms"], NUMBER_SETTINGS.syncMs),
      heartbeatMs: integerFlag("heartbeat-ms", values["heartbeat-ms"], NUMBER_SETTINGS.heartbeatMs),
      logLevel: values["log-level"] as LogLevel | undefined,
      indexing: values["no-index"] ? false : undefined,
      checkpointEvery: integerFlag(
        "checkpoint-every",
        values["checkpoint-every"],
        NUMBER_SETTINGS.checkpointEvery,
      ),
      checkpointMinutes: integerFlag(
        "checkpoint-minutes",
        values["checkpoint-minutes"],
        NUMBER_SETTINGS.checkpointMinutes,
      ),
      checkpointKeep: integerFlag(
        "checkpoint-keep",
        values["checkpoint-keep"],
        NUMBER_SETTINGS.checkpointKeep,
      ),
      blobThresholdBytes: integerFlag(
        "blob-threshold-bytes",
        values["blob-threshold-bytes"],
        NUMBER_SETTINGS.blobThresholdBytes,
      ),
      maxMessageBytes: integerFlag(
        "max-message-bytes",
        values["max-message-bytes"],
        NUMBER_SETTINGS.maxMessageBytes,
      ),
      store: values.store,
    });
    if (config.store !== "") checkStoreUrl(config.store);
    checkDataDir(config.dataDir, { mustExist: false });
    if (values["log-file"]) {
      await Deno.mkdir(parentDir(values["log-file"]), { recursive: true, mode: 0o700 });
    }
    const logger = values["log-file"]
      ? createFileLogger(values["log-file"], { component: "daemon", level: config.logLevel })
      : createJsonLogger({ component: "daemon", level: config.logLevel });
    return await runDaemon(config, logger);
  },
};
