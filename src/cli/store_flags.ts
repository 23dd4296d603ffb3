/**
 * The `--store URL` flag shared by the commands that talk to the shared PostgreSQL store.
 *
 * @module
 */
import { resolveConfig } from "../config.ts";
import { UsageError } from "../errors.ts";
import { resolveStoreUrl } from "../pgstore/store_url.ts";

/** The `--store` option, for `parseCommandArgs`. */
export const STORE_OPTION = { store: { type: "string" } } as const;

/** The store URL from `--store`, `SHEARWATER_STORE` or the config file; a UsageError if none. */
export function storeUrlFromFlags(values: { store?: string; config?: string }): string {
  const config = resolveConfig({ configFile: values.config, store: values.store });
  const url = resolveStoreUrl({ config: config.store });
  if (url === undefined) {
    throw new UsageError(
      "Give the store to use: --store postgres://USER@HOST/DB, SHEARWATER_STORE, or " +
        '"store" in the config file',
    );
  }
  return url;
}
