import { dataDirLayout } from "../store/data_dir.ts";
import { isLockHeld } from "../store/data_dir_lock.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { printError, printLine, styler } from "./output.ts";
import { selfCommand } from "../self_command.ts";
import {
  askDaemon,
  daemonArguments,
  daemonEnvironment,
  endpointAcceptsConnections,
  waitForDaemon,
} from "../daemon_process.ts";
import { checkDataDir, configFromFlags } from "./daemon_link.ts";
import { checkStoreUrl } from "../pgstore/store_url.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  frontend: { type: "string" },
  backend: { type: "string" },
  "no-menu": { type: "boolean" },
  demo: { type: "boolean" },
  store: { type: "string" },
} as const;

/** How long `up --demo` waits for the daemon it started to answer. */
const DEMO_DAEMON_WAIT_MS = 15_000;

/** `shearwater-persist up`: broker (if none is reachable) + daemon, in the foreground. */
export const upCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("up", args, OPTIONS);
    const config = configFromFlags(values);
    checkDataDir(config.dataDir, { mustExist: false });
    if (config.store !== "") checkStoreUrl(config.store);
    const style = styler();
    const children: { name: string; child: Deno.ChildProcess }[] = [];
    if (await endpointAcceptsConnections(config.frontend)) {
      printLine(`Broker      already reachable at ${config.frontend}: using it`);
    } else {
      const child = spawnSelf([
        "broker",
        "--frontend",
        config.frontend,
        "--backend",
        config.backend,
      ]);
      children.push({ name: "broker", child });
      printLine(`Broker      started, PID ${child.pid} (${config.frontend} -> ${config.backend})`);
    }
    const layout = dataDirLayout(config.dataDir);
    if (await isLockHeld(layout.lockFile)) {
      printLine(`Daemon      already running on ${config.dataDir}: using it`);
    } else {
      const child = spawnSelf(
        daemonArguments(config.dataDir, config.backend),
        daemonEnvironment(config.store),
      );
      children.push({ name: "daemon", child });
      printLine(`Daemon      started, PID ${child.pid}, recording into ${config.dataDir}/`);
      printLine(`            (its log: ${config.dataDir}/daemon.log)`);
    }
    const stopAll = () => {
      for (const { child } of children.toReversed()) {
        try {
          child.kill("SIGTERM");
        } catch (error) {
          if (!(error instanceof TypeError)) throw error; // already exited
        }
      }
    };
    Deno.addSignalListener("SIGINT", stopAll);
    Deno.addSignalListener("SIGTERM", stopAll);
    if (values.demo) await runDemoSession(config);
    if (Deno.stdin.isTerminal() && Deno.stdout.isTerminal() && !values["no-menu"]) {
      // The blueprint's startup screen: choose a checkpoint or a new session, then record on.
      // Loaded here, not at start-up: the menu brings the prompt library.
      const { openMenu } = await import("./menu/menu.ts");
      await openMenu(config);
    }
    printLine(style.dim("Recording. Publish to the frontend; press Ctrl+C to stop."));
    const results = await Promise.all(
      children.map(async ({ name, child }) => ({ name, status: await child.status })),
    );
    Deno.removeSignalListener("SIGINT", stopAll);
    Deno.removeSignalListener("SIGTERM", stopAll);
    let failed = false;
    for (const { name, status } of results) {
      if (status.code !== 0 && status.signal === null) {
        printError(`${name} exited with code ${status.code}`);
        failed = true;
      }
    }
    printLine("Stopped.");
    return failed ? 1 : 0;
  },
};

async function runDemoSession(config: { frontend: string; backend: string; dataDir: string }) {
  const layout = dataDirLayout(config.dataDir);
  await waitForDaemon(layout, { timeoutMs: DEMO_DAEMON_WAIT_MS });
  // Only `--demo` needs the demo agents (and, through them, ZeroMQ in this process).
  const { runDemo } = await import("../demo.ts");
  await runDemo({
    frontend: config.frontend,
    backend: config.backend,
    messages: 16,
    intervalMs: 250,
    say: (line) => printLine(line),
  });
  await new Promise((resolve) => setTimeout(resolve, 500)); // last messages become durable
  const { checkpoint } = await askDaemon(layout, { cmd: "checkpoint", label: "demo conversation" });
  printLine(`Demo: checkpoint ${checkpoint.id} saved (${checkpoint.message_count} messages).`);
  printLine('Try: shearwater-persist search "disk full", recent, checkpoint list.');
}

function spawnSelf(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  const [command, ...rest] = selfCommand(args);
  return new Deno.Command(command!, { args: rest, stdin: "null", env }).spawn();
}
