import { ExitCode } from "../errors.ts";
import { runChecks } from "../diag/checks.ts";
import { dataDirLayout } from "../store/data_dir.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import { outputColumns, renderChecks } from "./check_report.ts";
import type { CommandAction } from "./command.ts";
import { checkDataDir, configFromFlags } from "./daemon_link.ts";
import { printJson, printLine, styler } from "./output.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  frontend: { type: "string" },
  backend: { type: "string" },
} as const;

/** `shearwater-persist diag`: is everything healthy? */
export const diagCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("diag", args, OPTIONS);
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
