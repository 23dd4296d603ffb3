/**
 * What has been imported already, read back from the archived records themselves
 * (`meta.imported_from.key`), so it survives a reindex, a lost index and a restart.
 *
 * @module
 */
import type { DataDirLayout } from "../store/data_dir.ts";
import { readFirstRecord, scanLogHeadlines } from "../store/log_reader.ts";
import { listArchivedLogs } from "../store/session_archive.ts";
import { isObject } from "./transcript.ts";

/**
 * The keys of every imported line in `layout`'s archive. Only archives whose `session_start`
 * says they were imported are read past their first line.
 *
 * @example
 * ```ts
 * const known = await importedKeys(layout);
 * if (!known.has(entry.key)) ...
 * ```
 */
export async function importedKeys(layout: DataDirLayout): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const path of await listArchivedLogs(layout)) {
    const first = await readFirstRecord(path);
    if (first?.record.type !== "session_start" || !isObject(first.record.imported_from)) continue;
    for await (const { headline } of scanLogHeadlines(path)) {
      if (headline.type !== "message" || !isObject(headline.meta)) continue;
      const from = headline.meta.imported_from;
      if (isObject(from) && typeof from.key === "string") keys.add(from.key);
    }
  }
  return keys;
}
