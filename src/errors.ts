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
  /** Stable machine-readable code from {@link ErrorCode}, e.g. `"data_dir_busy"`. */
  readonly code: ErrorCode;
  /** Process exit code used when this error ends a command. */
  readonly exitCode: number;

  constructor(message: string, options: { code: ErrorCode; exitCode?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "PersistError";
    this.code = options.code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * Error codes, the one table: every {@link PersistError} carries one of these (or `os_<errno>`
 * from {@link operatingError}), and the daemon's control socket sends them in refusals
 * (`{"ok": false, "error": TEXT, "code": CODE}`), so callers and scripts test codes, never
 * messages. Values are stable: they appear in control replies and tests.
 */
export const ErrorCode = {
  /** Bad arguments, configuration or flags ({@link UsageError}). */
  usage: "usage",
  /** A full-text query SQLite cannot parse. */
  badQuery: "bad_query",
  /** A checkpoint label is too long or holds control characters. */
  invalidLabel: "invalid_label",
  /** Another daemon holds the data dir ({@link DataDirBusyError}). */
  dataDirBusy: "data_dir_busy",
  /** No daemon answers on the control socket ({@link DaemonNotRunningError}). */
  daemonNotRunning: "daemon_not_running",
  /** The daemon is stopping and refuses everything but `stop`. */
  daemonStopping: "daemon_stopping",
  /** A control request that is not one JSON line with a known `cmd` and valid fields. */
  badControlRequest: "bad_control_request",
  /** The daemon refused a request without saying why in a code. */
  controlRefused: "control_refused",
  /** The daemon did not answer a control request in time. */
  controlTimeout: "control_timeout",
  /** The daemon closed the control connection before answering. */
  controlClosed: "control_closed",
  /** The data dir does not exist. */
  noDataDir: "no_data_dir",
  /** The data dir path is not a directory. */
  dataDirNotADirectory: "data_dir_not_a_directory",
  /** The data dir cannot be read or written. */
  dataDirPermissionDenied: "data_dir_permission_denied",
  /** Stored data failed its checksum or could not be parsed ({@link DamagedDataError}). */
  damagedData: "damaged_data",
  /** A log record failed its checksum or could not be parsed. */
  recordDamaged: "record_damaged",
  /** Appending to the log failed. */
  logWriteFailed: "log_write_failed",
  /** Nothing has been recorded yet, so there is nothing to checkpoint. */
  checkpointEmpty: "checkpoint_empty",
  /** No checkpoint (or more than one) matches the id or prefix given. */
  checkpointNotFound: "checkpoint_not_found",
  /** A checkpoint's manifest or segment failed its checksum. */
  checkpointDamaged: "checkpoint_damaged",
  /** A blob a record points to is not in the blob store. */
  blobMissing: "blob_missing",
  /** No session with the id given (`context`, `export`). */
  sessionNotFound: "session_not_found",
  /** `replay`: nobody subscribes to the target bus, so nothing was sent. */
  noSubscribers: "no_subscribers",
  /** A path given to `import` does not exist. */
  importNotFound: "import_not_found",
  /** A blob's bytes do not match its hash. */
  blobDamaged: "blob_damaged",
  /** The search index cannot be opened. */
  indexUnavailable: "index_unavailable",
  /** The search index file is unusable (not SQLite, wrong schema, ...). */
  indexUnusable: "index_unusable",
  /** The broker could not bind its endpoints. */
  brokerBindFailed: "broker_bind_failed",
  /** Stdout was closed by its reader; the command ends quietly with exit 0. */
  outputClosed: "output_closed",
  /** The PostgreSQL store cannot be reached (refused, timed out, authentication failed). */
  storeUnreachable: "store_unreachable",
  /** The PostgreSQL store's schema is older than this program and the role may not migrate. */
  storeSchemaOutdated: "store_schema_outdated",
  /** The PostgreSQL store refused a statement (permissions, missing partition, ...). */
  storeFailed: "store_failed",
} as const;

/** One value of the {@link ErrorCode} table, or an operating-system error's `os_<errno>`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode] | `os_${string}`;

/** True when `value` is a code of the {@link ErrorCode} table (or an `os_` code). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" &&
    ((Object.values(ErrorCode) as string[]).includes(value) || value.startsWith("os_"));
}

/**
 * Exit codes, so scripts can tell failures apart. 65 and up follow BSD `sysexits.h`; 70 is
 * kept for bugs. The README's exit code list mirrors this table.
 */
export const ExitCode = {
  /** Done (also when stdout was closed early by the reader, as with `| head`). */
  ok: 0,
  /** The command ran but did not succeed (e.g. `search` found nothing). */
  failure: 1,
  /** Bad arguments, configuration or search query. */
  usage: 2,
  /** The data dir is locked by another daemon. */
  busy: 3,
  /** No daemon runs on the data dir. */
  notRunning: 4,
  /** `diag` found something broken. */
  unhealthy: 5,
  /**
   * `menu` (or `up`/`launch` opening it) without a terminal: it printed the commands to run
   * instead.
   */
  noTerminal: 6,
  /**
   * The daemon ended abnormally: a thread failed fatally, received messages could not be
   * written before the stop deadline (disk full), or its data dir or log vanished under it. A
   * supervisor should restart it; the journal and the daemon's log say why.
   */
  daemonFailed: 75,
  /** Done, but not all of it: e.g. a checkpoint saved without log lines that failed their CRC. */
  incomplete: 7,
  /** Stored data failed its checksum (e.g. `show` of a damaged log line). */
  damaged: 65,
  /** The data dir (or another path the command needs) does not exist or is not a directory. */
  noDataDir: 66,
  /** The PostgreSQL store (`--store`) cannot be reached or refused the login. */
  unavailable: 69,
  /** Bug: an error nobody expected (please report it). */
  internal: 70,
  /** The operating system refused an I/O operation (disk full, I/O error, ...). */
  ioError: 74,
  /** Permission denied on the data dir or a file in it. */
  noPermission: 77,
} as const;

/** The command line or configuration is wrong; exit code 2. */
export class UsageError extends PersistError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: ErrorCode.usage, exitCode: ExitCode.usage, cause: options.cause });
    this.name = "UsageError";
  }
}

/** Another daemon already holds the data directory; exit code 3. */
export class DataDirBusyError extends PersistError {
  /** PID of the process holding the lock, when it could be read. */
  readonly holderPid: number | undefined;

  constructor(message: string, options: { holderPid?: number } = {}) {
    super(message, { code: ErrorCode.dataDirBusy, exitCode: ExitCode.busy });
    this.name = "DataDirBusyError";
    this.holderPid = options.holderPid;
  }
}

/** No daemon answers on the data directory's control socket; exit code 4. */
export class DaemonNotRunningError extends PersistError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: ErrorCode.daemonNotRunning, exitCode: ExitCode.notRunning, ...options });
    this.name = "DaemonNotRunningError";
  }
}

/** A log line or stored file failed its checksum or could not be parsed; exit code 65. */
export class DamagedDataError extends PersistError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, {
      code: ErrorCode.damagedData,
      exitCode: ExitCode.damaged,
      cause: options.cause,
    });
    this.name = "DamagedDataError";
  }
}

/** Exit code and short reason for each operating-system error a command can meet. */
const OS_ERRORS: readonly (readonly [new (...args: never[]) => Error, number, string])[] = [
  [Deno.errors.NotFound, ExitCode.noDataDir, "no such file or directory"],
  [Deno.errors.NotADirectory, ExitCode.noDataDir, "a part of the path is not a directory"],
  [Deno.errors.IsADirectory, ExitCode.ioError, "it is a directory"],
  [Deno.errors.PermissionDenied, ExitCode.noPermission, "permission denied"],
  [Deno.errors.AlreadyExists, ExitCode.ioError, "it already exists"],
  [Deno.errors.FilesystemLoop, ExitCode.ioError, "too many levels of symbolic links"],
  [Deno.errors.BrokenPipe, ExitCode.ioError, "the other end closed the pipe"],
  [Deno.errors.InvalidData, ExitCode.ioError, "invalid data"],
  [Deno.errors.UnexpectedEof, ExitCode.ioError, "unexpected end of file"],
  [Deno.errors.WriteZero, ExitCode.ioError, "nothing could be written"],
  [Deno.errors.Busy, ExitCode.ioError, "the resource is busy"],
];

/** errno codes of plain OS errors Deno has no class for, with a short reason. */
const OS_ERROR_CODES: Readonly<Record<string, string>> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exceeded",
  EIO: "input/output error",
  EROFS: "the file system is read-only",
  ENAMETOOLONG: "the file name is too long",
  EMFILE: "too many open files",
};

/**
 * Turns an operating-system error (a `Deno.errors.*` class, or an error with an errno `code`
 * like `ENOSPC`) into a {@link PersistError} saying what could not be done; anything else
 * (a bug) gives undefined.
 *
 * @example
 * ```ts
 * const described = operatingError(error, 'Cannot run "search"');
 * if (described) throw described;
 * ```
 */
export function operatingError(error: unknown, action: string): PersistError | undefined {
  if (!(error instanceof Error)) return undefined;
  const known = OS_ERRORS.find(([type]) => error instanceof type);
  const code = (error as { code?: unknown }).code;
  const reason = known?.[2] ??
    (typeof code === "string" && Object.hasOwn(OS_ERROR_CODES, code)
      ? OS_ERROR_CODES[code]
      : undefined);
  if (reason === undefined) return undefined;
  // Deno's message reads "Permission denied (os error 13): mkdir '/x'": keep the operation.
  const operation = /\(os error \d+\): (.+)$/s.exec(error.message)?.[1];
  // No `cause`: the one line says it all, and the top level prints causes as extra lines.
  return new PersistError(`${action}: ${reason}${operation ? `: ${operation}` : ""}`, {
    code: `os_${typeof code === "string" ? code.toLowerCase() : error.name}`,
    exitCode: known?.[1] ?? ExitCode.ioError,
  });
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
