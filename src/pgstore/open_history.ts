/**
 * Opens the shared store for the reading commands: connection, schema check, and the
 * {@link PgHistoryReader} over it. Loaded only when a command reads the store (it loads the
 * PostgreSQL driver).
 *
 * @module
 */
import { resolveStoreUrl } from "./connection.ts";
import { PgHistoryReader } from "./history.ts";
import { openCurrentStore } from "./migrations.ts";

/**
 * The store URL a reading command uses: `--store`, else `SHEARWATER_STORE` or the config file's
 * `store` (both already merged into the configuration as `configured`); undefined for none.
 */
export function resolveReadStore(
  flag: string | undefined,
  configured: string | undefined,
): string | undefined {
  return resolveStoreUrl({ flag, config: configured });
}

/**
 * Connects to the store and returns a reader of every origin's history. An unreachable store is
 * a `store_unreachable` error (exit 69), a schema older than this program `store_schema_outdated`,
 * both with the URL's password hidden.
 *
 * @example
 * ```ts
 * const reader = await openStoreHistory("postgres://reader@db/team");
 * try { console.log(await reader.lastSeq()); } finally { await reader.close(); }
 * ```
 */
export async function openStoreHistory(url: string): Promise<PgHistoryReader> {
  const store = await openCurrentStore(url, { maxConnections: 1 });
  return new PgHistoryReader(
    async (text, params = []) => {
      try {
        return await store.sql.unsafe(text, params as never[]) as unknown as Record<
          string,
          unknown
        >[];
      } catch (error) {
        throw store.fail(error, `Cannot read the shared store ${store.redactedUrl}`);
      }
    },
    () => store.close(),
  );
}
