import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printError, printJson, printLine } from "./output.ts";
import { startNewSession } from "../session/daemon_or_offline.ts";

/** `shearwater-persist new-session`: archive the current session and start a new one. */
export const newSessionCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("new-session", args, COMMON_OPTIONS);
    const layout = layoutFromFlags(values, { mustExist: false });
    const result = await startNewSession(layout, { notify: printError });
    if (values.json) {
      printJson({
        archived: result.archived ?? null,
        session: result.session,
        daemon: result.daemon,
      });
    } else if (result.archived) {
      printLine(`Archived the session to ${result.archived}.`);
      printLine(
        result.daemon
          ? `The daemon now records into session ${result.session}.`
          : "The next daemon start begins a new session.",
      );
    } else {
      printLine("There was no current session to archive; the next messages start a new one.");
    }
    return 0;
  },
};
