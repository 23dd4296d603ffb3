import { startBroker } from "../broker.ts";
import { resolveConfig } from "../config.ts";
import { PersistError } from "../errors.ts";
import { createJsonLogger } from "../logger.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  frontend: { type: "string" },
  backend: { type: "string" },
  config: { type: "string" },
} as const;

/** `shearwater-persist broker`: the pure XPUB/XSUB proxy. */
export const brokerCommand: Command = {
  name: "broker",
  summary: "run a pure XPUB/XSUB proxy (no recording) for dev and tests",
  help: `Usage: shearwater-persist broker [options]

Runs a pure ZeroMQ XPUB/XSUB proxy. Publishers connect to the frontend,
subscribers (agents and the recorder daemon) to the backend. It records
nothing: persistence is the daemon's job, and the daemon works with any
XPUB/XSUB broker. Stops cleanly on Ctrl+C or SIGTERM.

Options:
  --frontend ADDR    XSUB endpoint for publishers (env SHEARWATER_FRONTEND,
                     default tcp://127.0.0.1:5559)
  --backend ADDR     XPUB endpoint for subscribers (env SHEARWATER_BACKEND,
                     default tcp://127.0.0.1:5560)
  --config FILE      JSON config file (env SHEARWATER_CONFIG)
  -h, --help         show this help

Exit codes: 0 stopped cleanly, 1 could not bind, 2 bad arguments.
`,
  async run(args) {
    const { values } = parseCommandArgs("broker", args, OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const config = resolveConfig({
      frontend: values.frontend,
      backend: values.backend,
      configFile: values.config,
    });
    const logger = createJsonLogger({ component: "broker", level: config.logLevel });
    let broker;
    try {
      broker = await startBroker({ frontend: config.frontend, backend: config.backend });
    } catch (error) {
      throw new PersistError(
        `Cannot start the broker on ${config.frontend} / ${config.backend}: ${
          (error as Error).message
        } (is another broker already running there?)`,
        { code: "broker_bind_failed", cause: error },
      );
    }
    logger.info("broker_started", {
      pid: Deno.pid,
      frontend: config.frontend,
      backend: config.backend,
    });
    const stop = () => broker.stop();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await broker.done;
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await broker.stop();
    logger.info("broker_stopped", { pid: Deno.pid });
    return 0;
  },
};
