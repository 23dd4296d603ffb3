import { stopDaemon, type StopOutcome } from "../daemon_process.ts";
import { DaemonNotRunningError, ExitCode } from "../errors.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printError, printJson, printLine } from "./output.ts";

const STOP_WAIT_MS = 10_000;

/** `shearwater-persist stop`: graceful daemon shutdown. */
export const stopCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("stop", args, COMMON_OPTIONS);
    const layout = layoutFromFlags(values, { mustExist: false });
    let outcome: StopOutcome;
    try {
      outcome = await stopDaemon(layout, { wait: true, timeoutMs: STOP_WAIT_MS });
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError)) throw error;
      if (values.json) printJson({ stopped: false, running: false });
      else printLine(`No daemon is running on "${layout.root}": nothing to stop.`);
      return ExitCode.notRunning;
    }
    const { answer, released } = outcome;
    const pid = answer.pid;
    if (!released) {
      if (values.json) printJson({ stopped: false, running: true, pid });
      else printLine(`Daemon PID ${pid} did not stop within ${STOP_WAIT_MS / 1000} s.`);
      return ExitCode.failure;
    }
    const unwritten = answer.unwritten_messages ?? 0;
    if (answer.exit_code !== undefined && answer.exit_code !== 0) {
      if (values.json) {
        printJson({
          stopped: true,
          clean: false,
          pid,
          unwritten_messages: unwritten,
          failure: answer.failure,
        });
      }
      printError(
        `error: Daemon PID ${pid} stopped, but not cleanly: ${unwritten} received messages could not be written (${answer.failure})`,
      );
      return ExitCode.daemonFailed;
    }
    if (values.json) printJson({ stopped: true, clean: true, pid, unwritten_messages: 0 });
    else printLine(`Daemon PID ${pid} stopped cleanly.`);
    return 0;
  },
};
