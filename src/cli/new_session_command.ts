import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printJson, printLine } from "./output.ts";
import { startNewSession } from "./session_link.ts";

/** `shearwater-persist new-session`: archive the current session and start a new one. */
export const newSessionCommand: Command = {
  name: "new-session",
  summary: "archive current_session.jsonl to archive/ and start a new session",
  help: `Usage: shearwater-persist new-session [options]

Ends the current session: its log moves atomically to
archive/session_<id>.jsonl and a new current_session.jsonl begins. With a
daemon running, the daemon does it without pausing recording (messages
arriving meanwhile go to the new session). Nothing is deleted.

Options:
${COMMON_HELP}

Exit codes: 0 done, 3 the data dir is locked by a daemon that does not answer.
`,
  async run(args) {
    const { values } = parseCommandArgs("new-session", args, COMMON_OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const layout = layoutFromFlags(values, { mustExist: false });
    const result = await startNewSession(layout);
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
