import type { DaemonStatus } from "../control/protocol.ts";
import { askDaemon } from "../daemon_process.ts";
import { DaemonNotRunningError, ExitCode } from "../errors.ts";
import { readLockHolder } from "../store/data_dir_lock.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printJson, printLine, styler } from "./output.ts";

const MAX_PUBLISHERS_SHOWN = 10;

/** `shearwater-persist status`: what the running daemon is doing. */
export const statusCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("status", args, COMMON_OPTIONS);
    const layout = layoutFromFlags(values, { mustExist: false });
    let status: DaemonStatus;
    try {
      status = (await askDaemon(layout, { cmd: "status" })).status;
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError)) throw error;
      const exists = dataDirExists(layout.root);
      const holder = exists ? await readLockHolder(layout.lockFile) : undefined;
      if (values.json) {
        printJson({
          running: false,
          data_dir: layout.root,
          data_dir_exists: exists,
          last_lock_holder: holder ?? null,
        });
      } else {
        printLine(
          `No daemon is running on "${layout.root}"` +
            (exists ? "." : " (there is no data dir there: check --data-dir)."),
        );
        printLine(`Start one with: shearwater-persist daemon --data-dir ${layout.root}`);
      }
      return ExitCode.notRunning;
    }
    if (values.json) {
      printJson({ running: true, ...status });
      return 0;
    }
    const style = styler();
    const broker = status.broker_connected
      ? style.green("connected")
      : style.yellow("not connected");
    printLine(
      `${style.bold("Daemon")}      running, PID ${status.pid}, since ${status.started_at}`,
    );
    printLine(`Data dir    ${status.data_dir}`);
    printLine(`Broker      ${status.backend} (${broker})`);
    printLine(`Session     ${status.session}`);
    printLine(`Records     seq ${status.seq}, durable up to ${status.durable_seq}`);
    printLine(`Messages    ${status.received} received, ${status.excluded} excluded`);
    for (const p of status.publishers.slice(0, MAX_PUBLISHERS_SHOWN)) {
      printLine(
        `Publisher   ${p.pub}: ${p.received} received, ${p.missing} missing, ` +
          `${p.refilled} refilled, ${p.duplicates} duplicates` +
          (p.pending > 0 ? `, ${p.pending} being refilled` : ""),
      );
    }
    if (status.publishers.length > MAX_PUBLISHERS_SHOWN) {
      printLine(`            … ${status.publishers.length - MAX_PUBLISHERS_SHOWN} more (--json)`);
    }
    printLine(`Last msg    ${status.last_message_at ?? "none yet"}`);
    printLine(`Log         ${status.log_path} (${status.log_bytes} bytes)`);
    const index = status.index;
    printLine(
      index
        ? `Index       ${index.state}, up to seq ${index.last_seq} (lag ${index.lag})`
        : "Index       not kept by this daemon (--no-index)",
    );
    if (status.last_write_error) printLine(style.red(`Write error ${status.last_write_error}`));
    return 0;
  },
};

function dataDirExists(root: string): boolean {
  try {
    Deno.statSync(root);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
