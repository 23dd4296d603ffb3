import type { DaemonStatus, StoreStatus } from "../control/protocol.ts";
import { readOrigin } from "../pgstore/origin.ts";
import { visibleLine as visible } from "./visible.ts";
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
      const origin = exists ? await readOrigin(layout.root) : undefined;
      if (values.json) {
        printJson({
          running: false,
          data_dir: layout.root,
          data_dir_exists: exists,
          last_lock_holder: holder ?? null,
          origin: origin ?? null,
        });
      } else {
        printLine(
          `No daemon is running on "${layout.root}"` +
            (exists ? "." : " (there is no data dir there: check --data-dir)."),
        );
        if (origin !== undefined) printLine(`Origin      ${origin}`);
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
    printLine(`Origin      ${status.origin ?? "none yet (the daemon's log says why)"}`);
    printLine(storeLine(status.store, style));
    if (status.last_write_error) printLine(style.red(`Write error ${status.last_write_error}`));
    return 0;
  },
};

/** The shipper in one line: where to, reachable or not, how far, how far behind. */
function storeLine(store: StoreStatus | null, style: ReturnType<typeof styler>): string {
  if (store === null) return "Store       none (--store / SHEARWATER_STORE to ship to PostgreSQL)";
  const lag = `lag ${store.lag_records} records, ${store.lag_seconds} s`;
  const where = `Store       ${visible(store.url)}`;
  if (store.reachable && store.state === "shipping") {
    return `${where} (${
      style.green("reachable")
    }), shipped up to seq ${store.shipped_seq} (${lag})`;
  }
  const state = store.state === "connecting" && store.last_error === null
    ? style.yellow("connecting")
    : style.red(store.reachable ? store.state : "not reachable");
  return `${where} (${state}), shipped up to seq ${store.shipped_seq} (${lag})` +
    (store.last_error ? `: ${visible(store.last_error)}` : "");
}

function dataDirExists(root: string): boolean {
  try {
    Deno.statSync(root);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
