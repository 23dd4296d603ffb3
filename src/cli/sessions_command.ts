import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { openIndexForReading } from "./index_access.ts";
import { printJson, printLine, styler } from "./output.ts";
import { fit, formatBytes, formatCount, formatTime } from "./render.ts";
import { visible } from "./visible.ts";

/** `shearwater-persist sessions`: every session with its size and agents. */
export const sessionsCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("sessions", args, COMMON_OPTIONS);
    const layout = layoutFromFlags(values, { mustExist: true });
    const index = await openIndexForReading(layout, { quiet: values.json });
    try {
      const sessions = index.sessions();
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
        printLine(
          `${visible(session.session).padEnd(22)}${span.padEnd(22)}${
            formatCount(session.messages).padStart(7)
          }${formatBytes(session.bytes).padStart(10)}  ${fit(agents, 16)}`,
        );
      }
      return 0;
    } finally {
      index.close();
    }
  },
};
