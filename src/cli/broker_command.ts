import { startBroker } from "../broker.ts";
import { resolveConfig } from "../config.ts";
import { ErrorCode, PersistError } from "../errors.ts";
import { createJsonLogger } from "../logger.ts";
import { parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  frontend: { type: "string" },
  backend: { type: "string" },
  config: { type: "string" },
} as const;

/** `shearwater-persist broker`: the pure XPUB/XSUB proxy. */
export const brokerCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("broker", args, OPTIONS);
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
        { code: ErrorCode.brokerBindFailed, cause: error },
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
