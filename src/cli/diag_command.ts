import { ExitCode } from "../errors.ts";
import { runChecks } from "../diag/checks.ts";
import { dataDirLayout } from "../store/data_dir.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import { outputColumns, renderChecks } from "./check_report.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { checkDataDir, configFromFlags } from "./daemon_link.ts";
import { printJson, printLine, styler } from "./output.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  frontend: { type: "string" },
  backend: { type: "string" },
} as const;

/** `shearwater-persist diag`: is everything healthy? */
export const diagCommand: Command = {
  name: "diag",
  summary: "health check: daemon, broker, log, index, disk, checkpoints, recovery",
  help: `Usage: shearwater-persist diag [options]

Checks the whole setup and says what to do about problems: daemon running
(PID, uptime, version), broker reachable on both endpoints, last message and
rate, log and index sizes, index lag, free disk, last checkpoint, damaged
checkpoints, recent recovery events and gaps, lock holder.

Options:
  --frontend ADDR    broker frontend to probe (default tcp://127.0.0.1:5559)
  --backend ADDR     broker backend to probe (default tcp://127.0.0.1:5560)
${COMMON_HELP}

Exit codes: 0 healthy (warnings allowed), 5 unhealthy, 2 bad arguments.
`,
  async run(args) {
    const { values } = parseCommandArgs("diag", args, OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const config = configFromFlags(values);
    checkDataDir(config.dataDir, { mustExist: true });
    const checks = await runChecks(dataDirLayout(config.dataDir), config.frontend, config.backend);
    const healthy = checks.every((check) => check.status !== "fail");
    if (values.json) {
      printJson({ healthy, checks });
    } else {
      for (const line of renderChecks(checks, styler(), outputColumns())) printLine(line);
      const warned = checks.some((check) => check.status === "warn");
      printLine(
        !healthy
          ? styler().red("Unhealthy: see the FAIL lines above.")
          : warned
          ? "Healthy, with warnings: see the warn lines above."
          : "Healthy.",
      );
    }
    return healthy ? 0 : ExitCode.unhealthy;
  },
};
