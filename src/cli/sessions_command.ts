import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { openHistory, STORE_OPTIONS } from "./history.ts";
import { printJson, printLine, styler } from "./output.ts";
import { fit, formatBytes, formatCount, formatTime } from "./render.ts";
import { visible } from "./visible.ts";

const OPTIONS = { ...COMMON_OPTIONS, ...STORE_OPTIONS } as const;

/** `shearwater-persist sessions`: every session with its size and agents. */
export const sessionsCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("sessions", args, OPTIONS);
    const { reader, filters } = await openHistory(values, { quiet: values.json });
    try {
      const sessions = await reader.sessions(filters);
      // Sessions of several machines say which one each comes from.
      const origins = new Set(sessions.map((session) => session.origin)).size > 1;
      if (values.json) {
        printJson({ count: sessions.length, sessions });
        return 0;
      }
      if (sessions.length === 0) {
        printLine("No sessions recorded yet.");
        return 0;
      }
      const style = styler();
      printLine(
        style.bold("session               start → end (UTC)        msgs      size  agents"),
      );
      for (const session of sessions) {
        const span = `${formatTime(session.startedAtMs).slice(5, 16)} → ${
          formatTime(session.endedAtMs).slice(11, 16)
        }`;
        const agents = session.agents.length ? session.agents.join(", ") : "-";
        const name = origins && session.origin !== undefined
          ? `${session.session}@${session.origin.slice(0, 8)}`
          : session.session;
        printLine(
          `${visible(name).padEnd(22)}${span.padEnd(22)}${
            formatCount(session.messages).padStart(7)
          }${formatBytes(session.bytes).padStart(10)}  ${fit(agents, 16)}`,
        );
      }
      return 0;
    } finally {
      await reader.close();
    }
  },
};
