/**
 * Store URLs without the driver: which one to use, and how it may be shown (the password
 * replaced by `***`). Light enough for `up`, `launch`, `status` and the daemon's main thread.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * The store URL to use: the flag, else the environment's `SHEARWATER_STORE`, else the config
 * file's `store` (the caller passes what `resolveConfig` merged as `config`); undefined when none
 * is set. A URL that is not `postgres://` or `postgresql://` is a {@link UsageError} that shows
 * it redacted.
 *
 * @example
 * ```ts
 * const url = resolveStoreUrl({ flag: flags.store, config: config.store });
 * ```
 */
export function resolveStoreUrl(
  sources: { flag?: string; env?: string; config?: string },
): string | undefined {
  const url = [sources.flag, sources.env, sources.config].find((value) =>
    value !== undefined && value.trim() !== ""
  )?.trim();
  if (url === undefined) return undefined;
  checkStoreUrl(url);
  return url;
}

/** Throws a {@link UsageError} unless `url` is a PostgreSQL connection URL. */
export function checkStoreUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new UsageError(
      `Invalid store "${redactStoreUrl(url)}": use a URL like postgres://user@host:5432/db`,
      { cause: error },
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new UsageError(
      `Invalid store "${redactStoreUrl(url)}": use a URL like postgres://user@host:5432/db`,
    );
  }
}

/**
 * The URL with its password (and a `password=` query option) replaced by `***`; the form used
 * in every message, status, diag and log line. Text that does not parse as a URL keeps only its
 * scheme and host-looking part, with anything between `://` and `@` replaced.
 *
 * @example
 * ```ts
 * redactStoreUrl("postgres://ship:s3cret@db:5432/team"); // "postgres://ship:***@db:5432/team"
 * ```
 */
export function redactStoreUrl(url: string): string {
  const withoutQueryPassword = url.replace(/([?&]password=)[^&#]*/gi, "$1***");
  const schemeEnd = withoutQueryPassword.indexOf("://");
  if (schemeEnd === -1) return withoutQueryPassword;
  const authorityStart = schemeEnd + 3;
  // The user info ends at the last "@" before the query (a sloppy password may hold "@" or "/").
  const queryAt = withoutQueryPassword.indexOf("?", authorityStart);
  const searchEnd = queryAt === -1 ? withoutQueryPassword.length : queryAt;
  const at = withoutQueryPassword.lastIndexOf("@", searchEnd);
  if (at < authorityStart) return withoutQueryPassword;
  const userInfo = withoutQueryPassword.slice(authorityStart, at);
  const colon = userInfo.indexOf(":");
  if (colon === -1) return withoutQueryPassword;
  return withoutQueryPassword.slice(0, authorityStart) + userInfo.slice(0, colon) + ":***" +
    withoutQueryPassword.slice(at);
}

/**
 * Replaces the URL's password (raw and percent-decoded) in `text` by `***`, for messages that
 * come from the driver or the server.
 */
export function redactSecrets(text: string, url: string): string {
  const secrets = new Set<string>();
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") {
      secrets.add(parsed.password);
      secrets.add(decodeURIComponent(parsed.password));
    }
    const queryPassword = parsed.searchParams.get("password");
    if (queryPassword) secrets.add(queryPassword);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  let out = text.split(url).join(redactStoreUrl(url));
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join("***");
  }
  return out;
}
