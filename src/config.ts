import { UsageError } from "./errors.ts";
import type { LogLevel } from "./logger.ts";

/** How the daemon makes appended messages durable. */
export type SyncMode = "interval" | "always";

/** Every setting the commands use, after flags, environment, config file and defaults merge. */
export interface Config {
  /** Folder holding the log, archive, checkpoints, index and recovery files. */
  readonly dataDir: string;
  /** Broker frontend (XSUB) endpoint that publishers connect to. */
  readonly frontend: string;
  /** Broker backend (XPUB) endpoint that subscribers connect to. */
  readonly backend: string;
  /** Topic prefixes the daemon subscribes to; empty means everything. */
  readonly topics: readonly string[];
  /** Glob patterns (`*`, `?`) of topics the daemon does not record. */
  readonly exclude: readonly string[];
  /** `interval`: group commit every `syncMs`; `always`: fsync after every message. */
  readonly syncMode: SyncMode;
  /** Longest time a received message waits before its batch is written and fsynced. */
  readonly syncMs: number;
  /** Interval of recovery-journal heartbeats. */
  readonly heartbeatMs: number;
  /** Minimum level of the daemon's JSON log lines. */
  readonly logLevel: LogLevel;
  /** Whether the daemon keeps the search index up to date while recording. */
  readonly indexing: boolean;
  /** Automatic checkpoint after this many messages (0: never by count). */
  readonly checkpointEvery: number;
  /** Automatic checkpoint after this many minutes with new messages (0: never by time). */
  readonly checkpointMinutes: number;
  /** Checkpoints kept by automatic retention (the newest of each session is always kept). */
  readonly checkpointKeep: number;
  /** Frames larger than this are stored as blob files beside the log, not inside the line. */
  readonly blobThresholdBytes: number;
  /** Messages larger than this (all frames) are kept only as an `oversized` record. */
  readonly maxMessageBytes: number;
  /**
   * PostgreSQL URL of the shared store the daemon ships durable records to, and the reading
   * commands read with `--store`; "" for none. Shown only redacted (`redactStoreUrl`).
   */
  readonly store: string;
  /**
   * Debug fault injection, for tests of the daemon's fatal-error path only; set from
   * {@link DEBUG_FAULT_ENV} and never from flags or the config file. Undefined in normal use.
   */
  readonly debugFault?: DebugFault;
}

/**
 * A deliberate failure of one daemon thread, to test that a fatal error ends the process with
 * a non-zero exit: `writer:TOPIC` makes the writer thread throw on the first message whose
 * topic (first frame) is TOPIC; `receive:TOPIC` makes the receive loop throw on it.
 */
export interface DebugFault {
  readonly thread: "writer" | "receive";
  readonly topic: string;
}

/** Environment variable holding a {@link DebugFault} (`writer:TOPIC` or `receive:TOPIC`). */
export const DEBUG_FAULT_ENV = "SHEARWATER_DEBUG_FAULT";

/** Values given on the command line; any may be missing. */
export type ConfigFlags = { readonly [K in keyof Config]?: Config[K] } & {
  readonly configFile?: string;
};

/** Defaults used when neither flags, environment nor config file set a value. */
export const DEFAULT_CONFIG: Config = Object.freeze({
  dataDir: "conversation_logs",
  frontend: "tcp://127.0.0.1:5559",
  backend: "tcp://127.0.0.1:5560",
  topics: Object.freeze([]) as readonly string[],
  exclude: Object.freeze([]) as readonly string[],
  syncMode: "interval",
  syncMs: 2,
  heartbeatMs: 1000,
  logLevel: "info",
  indexing: true,
  checkpointEvery: 1000,
  checkpointMinutes: 10,
  checkpointKeep: 50,
  blobThresholdBytes: 1024 * 1024,
  maxMessageBytes: 1024 * 1024 * 1024,
  store: "",
});

/** Environment variables read by {@link resolveConfig}, for help text and the README. */
export const CONFIG_ENV_VARS = {
  dataDir: "SHEARWATER_DATA_DIR",
  frontend: "SHEARWATER_FRONTEND",
  backend: "SHEARWATER_BACKEND",
  topics: "SHEARWATER_TOPICS",
  exclude: "SHEARWATER_EXCLUDE",
  syncMode: "SHEARWATER_SYNC",
  syncMs: "SHEARWATER_SYNC_MS",
  heartbeatMs: "SHEARWATER_HEARTBEAT_MS",
  logLevel: "SHEARWATER_LOG_LEVEL",
  indexing: "SHEARWATER_INDEXING",
  checkpointEvery: "SHEARWATER_CHECKPOINT_EVERY",
  checkpointMinutes: "SHEARWATER_CHECKPOINT_MINUTES",
  checkpointKeep: "SHEARWATER_CHECKPOINT_KEEP",
  blobThresholdBytes: "SHEARWATER_BLOB_THRESHOLD_BYTES",
  maxMessageBytes: "SHEARWATER_MAX_MESSAGE_BYTES",
  store: "SHEARWATER_STORE",
} as const satisfies Record<Exclude<keyof Config, "debugFault">, string>;

const CONFIG_FILE_ENV = "SHEARWATER_CONFIG";
/** Largest blob threshold: an inline frame, JSON-escaped, must fit in one JavaScript string. */
const MAX_BLOB_THRESHOLD_BYTES = 64 * 1024 * 1024;

/** Allowed range of a whole-number setting or argument. */
export interface NumberRange {
  readonly min: number;
  readonly max: number;
}

/** The numeric settings and their ranges, shared by flags, environment and config file. */
export const NUMBER_SETTINGS = {
  syncMs: { min: 0, max: 10_000 },
  heartbeatMs: { min: 50, max: 600_000 },
  checkpointEvery: { min: 0, max: 100_000_000 },
  checkpointMinutes: { min: 0, max: 100_000_000 },
  checkpointKeep: { min: 0, max: 100_000_000 },
  blobThresholdBytes: { min: 1, max: MAX_BLOB_THRESHOLD_BYTES },
  maxMessageBytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
} as const satisfies { readonly [K in keyof Config]?: NumberRange };

/**
 * Parses a whole number as a person typed it: decimal digits only (no sign, exponent, hex,
 * fraction or separators), within `range` (default 0 to `Number.MAX_SAFE_INTEGER`). Anything
 * else is a {@link UsageError} that quotes the text verbatim and names `label`
 * (`--limit`, `N`, `environment variable SHEARWATER_SYNC_MS`, ...).
 *
 * @example
 * ```ts
 * parseWholeNumber("20", "--limit", { min: 1, max: Number.MAX_SAFE_INTEGER }); // 20
 * parseWholeNumber("0x10", "--limit"); // throws: Invalid --limit "0x10": expected a whole number from 0 to 9007199254740991
 * ```
 */
export function parseWholeNumber(
  text: string,
  label: string,
  range: Partial<NumberRange> = {},
): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  checkWholeNumber(value, label, range, JSON.stringify(text));
  return value;
}

/**
 * Checks a number that arrived already parsed (a JSON config value) against `range`, with the
 * same message as {@link parseWholeNumber}.
 */
export function checkWholeNumber(
  value: unknown,
  label: string,
  range: Partial<NumberRange> = {},
  shown: string = JSON.stringify(value),
): asserts value is number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max
  ) {
    throw new UsageError(
      `Invalid ${label} ${shown}: expected a whole number from ${min} to ${max}`,
    );
  }
}

/**
 * Merges flags > SHEARWATER_* environment > JSON config file > defaults into a frozen,
 * validated {@link Config}. Invalid values throw a {@link UsageError} naming the source.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ dataDir: "/tmp/logs" });
 * ```
 */
export function resolveConfig(
  flags: ConfigFlags = {},
  env: Readonly<Record<string, string>> = readEnvironment(),
): Config {
  const configFile = flags.configFile ?? env[CONFIG_FILE_ENV];
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const fromEnv = configFromEnv(env);
  const merged = { ...DEFAULT_CONFIG, ...fromFile, ...fromEnv, ...withoutUndefined(flags) };
  delete (merged as { configFile?: string }).configFile;
  const debugFault = parseDebugFault(env[DEBUG_FAULT_ENV]);
  if (debugFault) (merged as { debugFault?: DebugFault }).debugFault = debugFault;
  return Object.freeze(validateConfig(merged as Config));
}

/** True when output may use ANSI colours: stdout is a terminal and NO_COLOR is unset. */
export function colorEnabled(stream: { isTerminal(): boolean } = Deno.stdout): boolean {
  const noColor = Deno.env.get("NO_COLOR");
  return (noColor === undefined || noColor === "") && stream.isTerminal();
}

/** The environment variable naming the agent a hook or `context` speaks for. */
export const AGENT_ENV = "SHEARWATER_AGENT";

/** The agent named by `SHEARWATER_AGENT`, or undefined when it is unset or empty. */
export function agentFromEnv(): string | undefined {
  const value = Deno.env.get(AGENT_ENV);
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** True when running under CI (the `CI` environment variable is set). */
export function runningInCi(): boolean {
  const value = Deno.env.get("CI");
  return value !== undefined && value !== "" && value !== "false" && value !== "0";
}

function parseDebugFault(raw: string | undefined): DebugFault | undefined {
  if (raw === undefined || raw === "") return undefined;
  const match = /^(writer|receive):(.+)$/s.exec(raw);
  if (!match) {
    throw new UsageError(
      `Invalid ${DEBUG_FAULT_ENV} "${raw}": use writer:TOPIC or receive:TOPIC (tests only)`,
    );
  }
  return { thread: match[1] as DebugFault["thread"], topic: match[2]! };
}

function readEnvironment(): Record<string, string> {
  return Deno.env.toObject();
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}

function configFromEnv(env: Readonly<Record<string, string>>): Partial<Config> {
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(CONFIG_ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    out[key] = parseSetting(key as keyof Config, raw, `environment variable ${name}`);
  }
  return out as Partial<Config>;
}

function readConfigFile(path: string): Partial<Config> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new UsageError(`Cannot read config file "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Cannot parse config file "${path}": it is not valid JSON`, {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`Cannot use config file "${path}": it must hold a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(DEFAULT_CONFIG, key)) {
      throw new UsageError(
        `Cannot use config file "${path}": unknown setting "${key}" (known: ${
          Object.keys(DEFAULT_CONFIG).join(", ")
        })`,
      );
    }
    out[key] = typeof value === "string"
      ? parseSetting(key as keyof Config, value, `config file "${path}"`)
      : value;
    if (Object.hasOwn(NUMBER_SETTINGS, key)) {
      const numberKey = key as keyof typeof NUMBER_SETTINGS;
      checkWholeNumber(out[key], `${key} in config file "${path}"`, NUMBER_SETTINGS[numberKey]);
    }
    checkSettingType(key as keyof Config, out[key], `config file "${path}"`);
  }
  return out as Partial<Config>;
}

/** Parses one setting from its text form (environment or flag). */
export function parseSetting(key: keyof Config, raw: string, source: string): unknown {
  switch (key) {
    case "topics":
    case "exclude":
      return raw.split(",").map((part) => part.trim()).filter((part) => part !== "");
    case "syncMs":
    case "heartbeatMs":
    case "checkpointEvery":
    case "checkpointMinutes":
    case "checkpointKeep":
    case "blobThresholdBytes":
    case "maxMessageBytes":
      return parseWholeNumber(raw, `${key} from ${source}`, NUMBER_SETTINGS[key]);
    case "indexing":
      if (!["true", "false", "1", "0"].includes(raw)) {
        throw new UsageError(`Invalid ${key} from ${source}: "${raw}" (use true or false)`);
      }
      return raw === "true" || raw === "1";
    default:
      return raw;
  }
}

function checkSettingType(key: keyof Config, value: unknown, source: string): void {
  const expected = typeof DEFAULT_CONFIG[key];
  const actual = typeof value;
  const ok = Array.isArray(DEFAULT_CONFIG[key])
    ? Array.isArray(value) && value.every((item) => typeof item === "string")
    : actual === expected;
  if (!ok) {
    const wanted = Array.isArray(DEFAULT_CONFIG[key]) ? "a list of strings" : `a ${expected}`;
    throw new UsageError(`Invalid ${key} in ${source}: ${JSON.stringify(value)} is not ${wanted}`);
  }
}

function validateConfig(config: Config): Config {
  for (const key of ["frontend", "backend"] as const) {
    if (!/^(tcp|ipc|inproc):\/\/.+/.test(config[key])) {
      throw new UsageError(
        `Invalid ${key} endpoint "${config[key]}": use a ZeroMQ address like tcp://127.0.0.1:5560`,
      );
    }
  }
  if (config.syncMode !== "interval" && config.syncMode !== "always") {
    throw new UsageError(`Invalid sync mode "${config.syncMode}": use "interval" or "always"`);
  }
  for (const key of Object.keys(NUMBER_SETTINGS) as (keyof typeof NUMBER_SETTINGS)[]) {
    checkWholeNumber(config[key], key, NUMBER_SETTINGS[key]);
  }
  if (!["debug", "info", "warn", "error"].includes(config.logLevel)) {
    throw new UsageError(`Invalid log level "${config.logLevel}": use debug, info, warn or error`);
  }
  if (config.dataDir.trim() === "") {
    throw new UsageError("Invalid data dir: it must not be empty");
  }
  return {
    ...config,
    topics: Object.freeze([...config.topics]),
    exclude: Object.freeze([...config.exclude]),
  };
}
