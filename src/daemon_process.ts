/**
 * The daemon as a process seen from outside: start it (detached), ask it things, wait until it
 * answers, stop it and wait until it has let go of the data dir; and whether a broker endpoint
 * accepts connections. The one implementation `up`, `launch`, `hook`, `stop`, `diag` and the
 * launcher share.
 *
 * @module
 */
import { CONFIG_ENV_VARS } from "./config.ts";
import { selfCommand } from "./self_command.ts";
import { callDaemon, type ControlCallOptions, type RequestFor } from "./control/client.ts";
import type { ControlAnswer, ControlCommand, DaemonStatus } from "./control/protocol.ts";
import { DaemonNotRunningError } from "./errors.ts";
import type { DataDirLayout } from "./store/data_dir.ts";
import { isLockHeld } from "./store/data_dir_lock.ts";

/** How often waiting loops look again. */
const POLL_MS = 100;
/** How often waiting for the lock looks again: a stop is quick, the caller waits on it. */
const LOCK_POLL_MS = 50;

/**
 * Sends a request to the daemon running on `layout` and returns its answer, typed by the
 * command; a refused request becomes a {@link PersistError} with the daemon's message and code,
 * no daemon a {@link DaemonNotRunningError}.
 *
 * @example
 * ```ts
 * const { status } = await askDaemon(layout, { cmd: "status" });
 * ```
 */
export async function askDaemon<C extends ControlCommand>(
  layout: DataDirLayout,
  request: RequestFor<C>,
  options: ControlCallOptions = {},
): Promise<ControlAnswer<C>> {
  return await callDaemon(layout.controlSocket, request, options);
}

/**
 * The arguments of this program that run the daemon on `dataDir`, logging to
 * `<dataDir>/daemon.log` (as `up`, `launch` and the session-start hook start it).
 */
export function daemonArguments(dataDir: string, backend: string): string[] {
  return [
    "daemon",
    "--data-dir",
    dataDir,
    "--backend",
    backend,
    "--log-file",
    `${dataDir}/daemon.log`,
  ];
}

/**
 * The environment that gives a daemon child its shared store: the URL travels in
 * `SHEARWATER_STORE`, never in its arguments, so its password is not visible to `ps`.
 */
export function daemonEnvironment(store: string | undefined): Record<string, string> {
  return store ? { [CONFIG_ENV_VARS.store]: store } : {};
}

/**
 * Starts the daemon as a detached process that outlives this one; returns its PID.
 *
 * @example
 * ```ts
 * const pid = spawnDetachedDaemon(layout, config.backend);
 * await waitForDaemon(layout, { timeoutMs: 10_000 });
 * ```
 */
export function spawnDetachedDaemon(
  layout: DataDirLayout,
  backend: string,
  options: { store?: string } = {},
): number {
  const [command, ...args] = selfCommand(daemonArguments(layout.root, backend));
  const child = new Deno.Command(command!, {
    args,
    env: daemonEnvironment(options.store),
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  return child.pid;
}

/**
 * Waits until a daemon answers `status` on `layout` and returns its status. Throws the last
 * {@link DaemonNotRunningError} when none answers within `timeoutMs`, and at once any other
 * error (a daemon that accepts but does not answer within a second, a refusal).
 */
export async function waitForDaemon(
  layout: DataDirLayout,
  options: { timeoutMs: number },
): Promise<DaemonStatus> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      return (await askDaemon(layout, { cmd: "status" }, { timeoutMs: 1000 })).status;
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError) || Date.now() > deadline) throw error;
      await delay(POLL_MS);
    }
  }
}

/**
 * Waits until nobody holds the data-dir lock of `layout` (a stopping daemon releases it last);
 * false when it is still held after `timeoutMs`.
 */
export async function waitForLockRelease(
  layout: DataDirLayout,
  options: { timeoutMs: number },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  while (await isLockHeld(layout.lockFile)) {
    if (Date.now() > deadline) return false;
    await delay(LOCK_POLL_MS);
  }
  return true;
}

/** What {@link stopDaemon} saw. */
export interface StopOutcome {
  /** The daemon's answer to `stop` (with `wait`, how the stop went). */
  readonly answer: ControlAnswer<"stop">;
  /** True once the daemon released the data dir; false when it still held it at the deadline. */
  readonly released: boolean;
}

/**
 * Asks the daemon on `layout` to stop, then waits up to `timeoutMs` for it to release the data
 * dir. With `wait`, the daemon answers once its log is closed, with how the stop went. Throws
 * {@link DaemonNotRunningError} when no daemon runs.
 *
 * @example
 * ```ts
 * const { answer, released } = await stopDaemon(layout, { wait: true, timeoutMs: 10_000 });
 * ```
 */
export async function stopDaemon(
  layout: DataDirLayout,
  options: { wait: boolean; timeoutMs: number },
): Promise<StopOutcome> {
  const answer = await askDaemon(
    layout,
    options.wait ? { cmd: "stop", wait: true } : { cmd: "stop" },
    { timeoutMs: options.timeoutMs },
  );
  const released = await waitForLockRelease(layout, { timeoutMs: options.timeoutMs });
  return { answer, released };
}

/** True when something accepts TCP connections at a `tcp://host:port` endpoint. */
export async function endpointAcceptsConnections(endpoint: string): Promise<boolean> {
  const match = /^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+)$/.exec(endpoint);
  if (!match) return false;
  const hostname = match[1]!.replace(/^\[|\]$/g, "");
  try {
    const connection = await Deno.connect({
      hostname: hostname === "*" ? "127.0.0.1" : hostname,
      port: Number(match[2]),
    });
    connection.close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return false;
    throw error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
