/** Severity of a log entry, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger; the daemon passes one down instead of calling `console`. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger that writes one JSON object per line to stderr (stdout is for command output).
 *
 * @example
 * ```ts
 * const logger = createJsonLogger({ level: "info", component: "daemon" });
 * logger.info("started", { pid: Deno.pid });
 * ```
 */
export function createJsonLogger(
  options: { level?: LogLevel; component: string; write?: (line: string) => void },
): Logger {
  const minimum = LEVEL_RANK[options.level ?? "info"];
  const encoder = new TextEncoder();
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));
  const emit = (level: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[level] < minimum) return;
    const entry = {
      at: new Date().toISOString(),
      level,
      component: options.component,
      event,
      ...serializeFields(fields),
    };
    write(JSON.stringify(entry) + "\n");
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}

/** A logger that discards everything, for library callers that do not want output. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

function serializeFields(fields?: Record<string, unknown>): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { message: value.message, name: value.name } : value;
  }
  return out;
}

/**
 * A JSON-lines logger that appends to a file (created mode 0600), for a daemon started in the
 * background whose stderr goes nowhere.
 */
export function createFileLogger(
  path: string,
  options: { level?: LogLevel; component: string },
): Logger {
  const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  const encoder = new TextEncoder();
  return createJsonLogger({ ...options, write: (line) => file.writeSync(encoder.encode(line)) });
}

/** A log entry as it travels from a worker thread to the thread that owns the log output. */
export interface ForwardedLogEntry {
  readonly level: LogLevel;
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

/** A logger whose entries are handed to `post` (a worker's postMessage) instead of written. */
export function createForwardingLogger(
  options: { level?: LogLevel; component: string },
  post: (entry: ForwardedLogEntry) => void,
): Logger {
  const minimum = LEVEL_RANK[options.level ?? "info"];
  const emit = (level: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[level] < minimum) return;
    post({ level, event, fields: { thread: options.component, ...serializeFields(fields) } });
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}

/** Writes a forwarded entry with `logger`. */
export function writeForwarded(logger: Logger, entry: ForwardedLogEntry): void {
  logger[entry.level](entry.event, entry.fields);
}
