/**
 * The connection to the shared PostgreSQL store: which URL (flag > `SHEARWATER_STORE` > config
 * key `store`), how it is shown (password replaced by `***` everywhere), and a small wrapper
 * around the driver, npm `postgres` (chosen by measurement: see the README's "Shared history"
 * section). Knows nothing of ZeroMQ or the CLI.
 *
 * @module
 */
import postgres from "postgres";
import { ErrorCode, ExitCode, PersistError, UsageError } from "../errors.ts";
import { checkStoreUrl, redactSecrets, redactStoreUrl } from "./store_url.ts";

export { checkStoreUrl, redactSecrets, redactStoreUrl, resolveStoreUrl } from "./store_url.ts";

/** The driver's query interface, for modules of this folder that run SQL. */
export type Sql = postgres.Sql;

/** An open connection pool to the store. */
export interface PgStore {
  /** The driver's tagged-template query function. */
  readonly sql: Sql;
  /** The URL with its password replaced by `***`: the only form that may be shown. */
  readonly redactedUrl: string;
  /**
   * A driver or server error as a {@link PersistError} saying `action` first, the password
   * removed ({@link storeError}).
   */
  fail(error: unknown, action: string): PersistError;
  /** Closes every connection (waits up to `timeoutSeconds` for running queries). */
  close(timeoutSeconds?: number): Promise<void>;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Most connections in the pool (default 2: the shipper needs one, a reader a few). */
  readonly maxConnections?: number;
  /** Seconds to wait for a connection before the store counts as unreachable (default 10). */
  readonly connectTimeoutSeconds?: number;
  /** Whether to run `SELECT 1` before returning, so an unreachable store fails here (default true). */
  readonly probe?: boolean;
}

/**
 * Connects to the store at `url` and (unless `probe: false`) checks it answers. An unreachable
 * server, a refused login or a timeout is a {@link PersistError} `store_unreachable` (exit 69)
 * whose message shows the URL redacted. `sslmode` and the other libpq-style options in the URL's
 * query pass to the driver (`sslrootcert`, `sslcert` and `sslkey` are read as files).
 *
 * @example
 * ```ts
 * const store = await openStore("postgres://ship@db/team?sslmode=require");
 * try { await store.sql`SELECT 1`; } finally { await store.close(); }
 * ```
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<PgStore> {
  checkStoreUrl(url);
  const redactedUrl = redactStoreUrl(url);
  const { driverUrl, ssl } = await driverUrlAndSsl(url);
  const sql = postgres(driverUrl, {
    max: options.maxConnections ?? 2,
    // A connect_timeout in the URL (libpq's option) wins over the default.
    ...(new URL(url).searchParams.has("connect_timeout")
      ? {}
      : { connect_timeout: options.connectTimeoutSeconds ?? 10 }),
    onnotice: () => {},
    ...(ssl === undefined ? {} : { ssl }),
    connection: { application_name: "shearwater-persist" },
  });
  const store: PgStore = {
    sql,
    redactedUrl,
    fail: (error, action) => storeError(error, action, url),
    async close(timeoutSeconds = 5) {
      await sql.end({ timeout: timeoutSeconds });
    },
  };
  if (options.probe === false) return store;
  try {
    await sql`SELECT 1`;
  } catch (error) {
    await sql.end({ timeout: 0 });
    throw storeError(error, `Cannot connect to the store ${redactedUrl}`, url);
  }
  return store;
}

/** Driver and server error codes that mean "cannot reach or log in", not "statement refused". */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "28000", // invalid_authorization_specification
  "28P01", // invalid_password
  "3D000", // invalid_catalog_name (no such database)
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "53300", // too_many_connections
]);

/** True when `error` means the store cannot be reached now (retry later), not a refusal. */
export function isUnreachableError(error: unknown): boolean {
  if (error instanceof PersistError) return error.code === ErrorCode.storeUnreachable;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
  // Deno's node:net reports some socket failures as plain Deno errors.
  return error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.TimedOut ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.NotConnected;
}

/**
 * Turns a driver or server error into a {@link PersistError}, action first, the driver's reason
 * after a colon, with the password removed from both: `store_unreachable` (exit 69) when the
 * server cannot be reached or refused the login, else `store_failed` (exit 1).
 */
export function storeError(error: unknown, action: string, url: string): PersistError {
  if (error instanceof PersistError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === "string" && !reason.includes(code)
    ? `${reason} (${code})`
    : reason;
  const message = redactSecrets(`${action}: ${detail}`, url);
  return isUnreachableError(error)
    ? new PersistError(message, {
      code: ErrorCode.storeUnreachable,
      exitCode: ExitCode.unavailable,
    })
    : new PersistError(message, { code: ErrorCode.storeFailed, exitCode: ExitCode.failure });
}

type SslOption = boolean | "require" | "allow" | "prefer" | "verify-full" | {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
};

/**
 * libpq spells TLS files as query options; the driver wants them as TLS options. `sslmode` the
 * driver understands itself (disable, allow, prefer, require, verify-ca, verify-full); files
 * named by `sslrootcert`, `sslcert`, `sslkey` are read here and removed from the URL so they are
 * not sent to the server as settings.
 */
async function driverUrlAndSsl(url: string): Promise<{ driverUrl: string; ssl?: SslOption }> {
  const parsed = new URL(url);
  const files = ["sslrootcert", "sslcert", "sslkey"] as const;
  if (!files.some((name) => parsed.searchParams.has(name))) return { driverUrl: url };
  const tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean } = {};
  const read = async (name: string) => {
    const path = parsed.searchParams.get(name)!;
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new UsageError(
        `Cannot read ${name} "${path}" of the store URL: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };
  const rootCert = parsed.searchParams.get("sslrootcert");
  if (rootCert !== null && rootCert !== "system") tls.ca = await read("sslrootcert");
  if (parsed.searchParams.has("sslcert")) tls.cert = await read("sslcert");
  if (parsed.searchParams.has("sslkey")) tls.key = await read("sslkey");
  const mode = parsed.searchParams.get("sslmode") ?? "verify-full";
  tls.rejectUnauthorized = mode === "verify-ca" || mode === "verify-full";
  for (const name of [...files, "sslmode"]) parsed.searchParams.delete(name);
  return { driverUrl: parsed.toString(), ssl: tls };
}
