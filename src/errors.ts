/**
 * Errors that users can act on. Each carries a stable `code` and the process exit code the CLI
 * uses when the error reaches the top level; anything else is a programmer error and crashes.
 *
 * @example
 * ```ts
 * throw new UsageError('Unknown flag "--frobnicate": see "shearwater-persist daemon --help"');
 * ```
 */
export class PersistError extends Error {
  /** Stable machine-readable code, e.g. `"data_dir_busy"`. */
  readonly code: string;
  /** Process exit code used when this error ends a command. */
  readonly exitCode: number;

  constructor(message: string, options: { code: string; exitCode?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "PersistError";
    this.code = options.code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Exit codes, so scripts can tell failures apart. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  busy: 3,
  notRunning: 4,
  unhealthy: 5,
  /**
   * The daemon ended abnormally: a thread failed fatally, received messages could not be
   * written before the stop deadline (disk full), or its data dir or log vanished under it. A
   * supervisor should restart it; the journal and the daemon's log say why.
   */
  daemonFailed: 6,
  internal: 70,
} as const;

/** The command line or configuration is wrong; exit code 2. */
export class UsageError extends PersistError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "usage", exitCode: ExitCode.usage, cause: options.cause });
    this.name = "UsageError";
  }
}

/** Another daemon already holds the data directory; exit code 3. */
export class DataDirBusyError extends PersistError {
  /** PID of the process holding the lock, when it could be read. */
  readonly holderPid: number | undefined;

  constructor(message: string, options: { holderPid?: number } = {}) {
    super(message, { code: "data_dir_busy", exitCode: ExitCode.busy });
    this.name = "DataDirBusyError";
    this.holderPid = options.holderPid;
  }
}

/** No daemon answers on the data directory's control socket; exit code 4. */
export class DaemonNotRunningError extends PersistError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "daemon_not_running", exitCode: ExitCode.notRunning, ...options });
    this.name = "DaemonNotRunningError";
  }
}

/** Renders an error and its cause chain as lines, action first, detail after a colon. */
export function describeErrorChain(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof Error) {
      lines.push(depth === 0 ? current.message : `caused by: ${current.message}`);
      current = current.cause;
    } else {
      lines.push(depth === 0 ? String(current) : `caused by: ${String(current)}`);
      current = undefined;
    }
  }
  return lines;
}
