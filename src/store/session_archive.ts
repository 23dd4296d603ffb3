import { type DataDirLayout, parentDir, syncDirectory } from "./data_dir.ts";
import { readLastGoodRecord } from "./tail_repair.ts";
import { exists } from "./file_info.ts";

/**
 * A new session id: UTC time plus a random suffix, e.g. `20261125_132306_a1b2`. Sorts by time.
 *
 * @example
 * ```ts
 * const session = newSessionId(new Date());
 * ```
 */
export function newSessionId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  const suffix = crypto.getRandomValues(new Uint8Array(2));
  return `${stamp}_${[...suffix].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Moves `current_session.jsonl` into `archive/session_<id>.jsonl` with one atomic rename, then
 * fsyncs both folders. Returns the archive path, or undefined when there was no current log.
 * The caller must hold the data-dir lock (or be the daemon that owns the log).
 */
export async function archiveCurrentLog(
  layout: DataDirLayout,
  sessionId: string,
): Promise<string | undefined> {
  if (!(await exists(layout.currentLog))) return undefined;
  const target = await freeArchivePath(layout, sessionId);
  await Deno.rename(layout.currentLog, target);
  await syncDirectory(layout.archiveDir);
  await syncDirectory(parentDir(layout.currentLog));
  return target;
}

/** Archived session logs, oldest first (names sort by time). */
export function listArchivedLogs(layout: DataDirLayout): Promise<string[]> {
  return new Promise((resolve) => resolve(listArchivedLogsSync(layout)));
}

/**
 * {@link listArchivedLogs} with a synchronous directory read, for the checks a short command
 * makes at start-up (an async directory iterator costs more than the listing).
 */
export function listArchivedLogsSync(layout: DataDirLayout): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(layout.archiveDir)) {
      if (entry.isFile && entry.name.endsWith(".jsonl")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort().map((name) => `${layout.archiveDir}/${name}`);
}

/** The highest sequence number stored in the current log or any archived log's last record. */
export async function highestStoredSeq(layout: DataDirLayout): Promise<number> {
  let highest = 0;
  for (const path of [...await listArchivedLogs(layout), layout.currentLog]) {
    const last = await readLastGoodRecord(path);
    if (last && last.seq > highest) highest = last.seq;
  }
  return highest;
}

/**
 * A path in the archive for `sessionId` that nothing holds yet: `session_<id>.jsonl`, else with
 * `_1`, `_2`, … appended (an archived session is never overwritten).
 *
 * @example
 * ```ts
 * const target = await freeArchivePath(layout, "20261125_133107_959e");
 * ```
 */
export async function freeArchivePath(layout: DataDirLayout, sessionId: string): Promise<string> {
  for (let n = 0;; n++) {
    const path = `${layout.archiveDir}/session_${sessionId}${n === 0 ? "" : `_${n}`}.jsonl`;
    try {
      await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return path;
      throw error;
    }
  }
}
