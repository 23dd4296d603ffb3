import { Launcher } from "../launcher.ts";
import { createJsonLogger } from "../logger.ts";
import { spawnDetachedDaemon } from "../daemon_process.ts";
import { dataDirLayout } from "../store/data_dir.ts";
import { checkDataDir, configFromFlags } from "./daemon_link.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { runMenu } from "./menu/run.ts";
import { printLine } from "./output.ts";
import { visible } from "./visible.ts";

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
} as const;

/** `shearwater-persist launch`: start and stop the daemon with the agents. */
export const launchCommand: Command = {
  name: "launch",
  summary: "start the daemon when an agent connects, stop it when the last leaves",
  help: `Usage: shearwater-persist launch [options]

Watches the bus for agents without changing the broker: it sees subscriptions
travel upstream (first interest in a topic, last interest gone) and presence
messages on topic shearwater.presence ({"agent": NAME, "event": "hello"|"bye"}).
On the first agent it starts the daemon in the background if none runs (log in
<data-dir>/daemon.log) and, on a terminal, shows the recovery menu. While
agents are connected it restarts a daemon that dies (with backoff; the daemon
records the gap). When the last agent has left and the grace period passed, it
saves a session-end checkpoint and stops the daemon gracefully.

What it can and cannot see: the broker folds subscriptions, so agents sharing
a topic look like one agent, and subscribe-all ("") is ignored because the
recorder itself uses it. Give each agent a topic of its own, or have it send
presence messages (a crashed agent sends no "bye"; its subscription still
ends when its connection closes).

Options:
  --frontend ADDR      broker XSUB endpoint (default tcp://127.0.0.1:5559)
  --backend ADDR       broker XPUB endpoint (default tcp://127.0.0.1:5560)
  --grace-ms N         wait after the last agent leaves, default 5000
  --ignore-topic T     a subscription topic that is not an agent (repeatable)
  --once               exit after the first session has ended
  --no-menu            do not show the menu when the first agent arrives
${COMMON_HELP}

Exit codes: 0 stopped (Ctrl+C, SIGTERM, or --once), 2 bad arguments.
`,
  async run(args) {
    const { values } = parseCommandArgs("launch", args, OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const config = configFromFlags(values);
    checkDataDir(config.dataDir, { mustExist: false });
    const logger = createJsonLogger({ component: "launcher", level: config.logLevel });
    const interactive = Deno.stdin.isTerminal() && Deno.stdout.isTerminal() && !values["no-menu"];
    let launcher: Launcher | undefined = undefined;
    launcher = new Launcher({
      config,
      logger,
      graceMs: integerFlag("grace-ms", values["grace-ms"], { max: MAX_GRACE_MS }) ?? 5000,
      ignoreTopics: ["", ...config.topics, ...(values["ignore-topic"] ?? [])],
      spawnDaemon: (layout) => spawnDetachedDaemon(layout, config.backend),
      // Agent names are subscription topics from the bus: shown visibly, like all message data.
      say: (line) => printLine(`[persistence] ${visible(line)}`),
      onFirstAgent: interactive
        ? () => {
          runMenu(dataDirLayout(config.dataDir), config)
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
