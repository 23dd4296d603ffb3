import { DaemonNotRunningError } from "../errors.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { archiveSessionOffline, withDataDirLock } from "../checkpoints/offline.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { askDaemon, layoutFromFlags } from "./daemon_link.ts";
import { printJson, printLine } from "./output.ts";

/** `shearwater-persist new-session`: archive the current session and start a new one. */
export const newSessionCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("new-session", args, COMMON_OPTIONS);
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

/** Archives the current session through the daemon, or directly when none runs. */
export async function startNewSession(
  layout: DataDirLayout,
): Promise<{ archived: string | undefined | null; session: string | null; daemon: boolean }> {
  try {
    const answer = await askDaemon(layout, { cmd: "new-session", reason: "new-session command" });
    return {
      archived: answer.archived as string | undefined,
      session: answer.session as string,
      daemon: true,
    };
  } catch (error) {
    if (!(error instanceof DaemonNotRunningError)) throw error;
    const done = await withDataDirLock(
      layout,
      "new-session",
      () => archiveSessionOffline(layout, "new-session command (no daemon running)"),
    );
    return { archived: done.archived, session: null, daemon: false };
  }
}
