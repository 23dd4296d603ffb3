import { Launcher } from "../launcher.ts";
import { createJsonLogger } from "../logger.ts";
import { spawnDetachedDaemon } from "../daemon_process.ts";
import { checkDataDir, configFromFlags } from "./daemon_link.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { printLine } from "./output.ts";
import { visible } from "./visible.ts";
import { checkStoreUrl } from "../pgstore/store_url.ts";

/** Longest grace period: a day (timers cannot wait beyond about 24.8 days anyway). */
const MAX_GRACE_MS = 86_400_000;

const OPTIONS = {
  ...COMMON_OPTIONS,
  frontend: { type: "string" },
  backend: { type: "string" },
  "grace-ms": { type: "string" },
  "ignore-topic": { type: "string", multiple: true },
  once: { type: "boolean" },
  "no-menu": { type: "boolean" },
  store: { type: "string" },
} as const;

/** `shearwater-persist launch`: start and stop the daemon with the agents. */
export const launchCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("launch", args, OPTIONS);
    const config = configFromFlags(values);
    checkDataDir(config.dataDir, { mustExist: false });
    if (config.store !== "") checkStoreUrl(config.store);
    const logger = createJsonLogger({ component: "launcher", level: config.logLevel });
    const interactive = Deno.stdin.isTerminal() && Deno.stdout.isTerminal() && !values["no-menu"];
    let launcher: Launcher | undefined = undefined;
    launcher = new Launcher({
      config,
      logger,
      graceMs: integerFlag("grace-ms", values["grace-ms"], { max: MAX_GRACE_MS }) ?? 5000,
      ignoreTopics: ["", ...config.topics, ...(values["ignore-topic"] ?? [])],
      spawnDaemon: (layout) => spawnDetachedDaemon(layout, config.backend, { store: config.store }),
      // Agent names are subscription topics from the bus: shown visibly, like all message data.
      say: (line) => printLine(`[persistence] ${visible(line)}`),
      onFirstAgent: interactive
        ? () => {
          // Loaded when the first agent arrives: the menu brings the prompt library.
          import("./menu/menu.ts").then(({ openMenu }) => openMenu(config))
            .catch((error) => logger.error("menu_failed", { error }));
        }
        : undefined,
      onSessionEnded: values.once ? () => queueMicrotask(() => launcher?.stop()) : undefined,
    });
    const stop = () => launcher?.stop();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    printLine(`[persistence] Watching ${config.frontend} for agents (data dir ${config.dataDir})`);
    await launcher.run();
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    return 0;
  },
};
