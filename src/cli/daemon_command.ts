import { NUMBER_SETTINGS, resolveConfig, type SyncMode } from "../config.ts";
import { runDaemon } from "../daemon.ts";
import { createFileLogger, createJsonLogger, type LogLevel } from "../logger.ts";
import { integerFlag, parseCommandArgs } from "./args.ts";
import { parentDir } from "../store/data_dir.ts";
import type { Command } from "./command.ts";
import { checkDataDir } from "./daemon_link.ts";

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
} as const;

/** `shearwater-persist daemon`: the recorder. */
export const daemonCommand: Command = {
  name: "daemon",
  summary: "record every message from the broker into the data dir",
  help: `Usage: shearwater-persist daemon [options]

Subscribes to the broker's backend and appends every message, losslessly, as
one checksummed JSON line to <data-dir>/current_session.jsonl. It never sends
anything to the broker but its subscription, reconnects by itself when the
broker restarts, and recovers on its own after a crash (torn tail set aside in
recovery/, gap recorded). Logs JSON lines to stderr.

Options:
  --data-dir DIR       data directory (env SHEARWATER_DATA_DIR,
                       default conversation_logs)
  --backend ADDR       broker XPUB endpoint (env SHEARWATER_BACKEND,
                       default tcp://127.0.0.1:5560)
  --topic PREFIX       record only topics starting with PREFIX (repeatable;
                       env SHEARWATER_TOPICS, comma-separated; default: all)
  --exclude GLOB       do not record topics matching GLOB (* and ? wildcards,
                       matched against the first frame; repeatable;
                       env SHEARWATER_EXCLUDE)
  --sync MODE          interval (group commit, default) or always (fsync
                       every message) (env SHEARWATER_SYNC)
  --sync-ms N          longest wait before a batch is written and fsynced,
                       default 5 (env SHEARWATER_SYNC_MS)
  --heartbeat-ms N     recovery-journal heartbeat interval, default 1000
  --log-level LEVEL    debug, info (default), warn or error
                       (env SHEARWATER_LOG_LEVEL)
  --log-file PATH      append the JSON log lines to PATH instead of stderr
  --no-index           do not keep the search index up to date (search and
                       the other readers then catch it up themselves)
  --checkpoint-every N automatic checkpoint every N messages, default 1000
                       (0: off; env SHEARWATER_CHECKPOINT_EVERY)
  --checkpoint-minutes M  automatic checkpoint after M minutes with new
                       messages, default 10 (0: off)
  --checkpoint-keep K  automatic retention keeps K checkpoints, default 50
                       (the newest of each session is always kept)
  --blob-threshold-bytes N  frames over N bytes are stored as blob files in
                       <data-dir>/blobs/, default 1048576 (1 MiB), at most
                       67108864 (64 MiB)
                       (env SHEARWATER_BLOB_THRESHOLD_BYTES)
  --max-message-bytes N  a message over N bytes (all frames) is kept only as
                       an "oversized" record (size, SHA-256, first 4 KiB),
                       default 1073741824 (1 GiB)
                       (env SHEARWATER_MAX_MESSAGE_BYTES)
  --config FILE        JSON config file (env SHEARWATER_CONFIG)
  -h, --help           show this help

Durability: in interval mode a message is on disk (fsynced) at most --sync-ms
plus one fsync after it arrives; a crash loses at most that window. On SIGINT
or SIGTERM an emergency checkpoint is saved when there are messages since the
last one. Stop with Ctrl+C, SIGTERM or "shearwater-persist stop".

A stop takes at most 6 s. A fatal error in any of its threads, received
messages it could not write before the stop deadline (disk full), or its data
dir or log deleted or renamed under it end the daemon with exit 75, so that a
supervisor restarts it; the journal and the log say why.

Exit codes: 0 clean stop, 1 failure, 2 bad arguments, 3 another daemon holds
the data dir, 75 ended abnormally (see above).
`,
  async run(args) {
    const { values } = parseCommandArgs("daemon", args, OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
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
    });
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
