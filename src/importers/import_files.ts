/**
 * Imports transcript files into a data dir as archived sessions: each file is read, the lines
 * already imported are left out, seqs are taken from a {@link SeqSource} (the daemon, or the
 * offline lock holder), and the records are written to a temporary file, fsynced, and renamed
 * into `archive/` in one step, so the indexer never sees half a session.
 *
 * @module
 */
import { ErrorCode, operatingError, PersistError } from "../errors.ts";
import {
  type DataDirLayout,
  ensureDataDir,
  PRIVATE_FILE_MODE,
  syncDirectory,
  writeAll,
} from "../store/data_dir.ts";
import { encodeRecordLine, type RecordBody } from "../store/record.ts";
import { freeArchivePath, newSessionId } from "../store/session_archive.ts";
import { withFileLock } from "../store/data_dir_lock.ts";
import { importedKeys } from "./imported_keys.ts";
import { importedRecords } from "./import_records.ts";
import { readTranscript } from "./read_transcript.ts";
import type { LineProblem, TranscriptFormat } from "./transcript.ts";
import { fileSize } from "../store/file_info.ts";

/** Hands out seq ranges that nothing else will ever use. */
export interface SeqSource {
  /** Reserves `count` consecutive seqs; resolves with the first. */
  reserve(count: number): Promise<number>;
}

/** What importing one file did. */
export interface FileOutcome {
  readonly path: string;
  readonly format: TranscriptFormat | null;
  /** Lines imported now. */
  readonly imported: number;
  /** Lines that were imported before (or twice in this file). */
  readonly already: number;
  readonly problems: readonly LineProblem[];
  /** The archived session written, or null when nothing new was imported. */
  readonly session: string | null;
  readonly archive: string | null;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  /** Why the file could not be read at all, or null. */
  readonly error: string | null;
}

/** Options for {@link importFiles}. */
export interface ImportOptions {
  readonly format: TranscriptFormat | "auto";
  readonly seqs: SeqSource;
  /** Called after each file with the bytes read so far and in all. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number, files: number) => void;
  /** The clock, for `imported_at` and session ids. */
  readonly now?: () => Date;
}

/**
 * Imports `files` (absolute paths) into `layout`, one archived session per file that has new
 * lines. A file that cannot be read is reported in its outcome; the others import all the same.
 * Imports into one data dir run one at a time (`import.lock`), so none adds a line twice.
 *
 * @example
 * ```ts
 * const outcomes = await importFiles(layout, ["/home/me/chat.jsonl"], { format: "auto", seqs });
 * ```
 */
export async function importFiles(
  layout: DataDirLayout,
  files: readonly string[],
  options: ImportOptions,
): Promise<FileOutcome[]> {
  await ensureDataDir(layout.root);
  // Two imports at once would both find a line new: one import at a time per data dir.
  return await withFileLock(
    `${layout.root}/import.lock`,
    () => importUnderLock(layout, files, options),
  );
}

async function importUnderLock(
  layout: DataDirLayout,
  files: readonly string[],
  options: ImportOptions,
): Promise<FileOutcome[]> {
  await removeUnfinishedImports(layout);
  const known = await importedKeys(layout);
  const sizes = await Promise.all(files.map(async (file) => (await fileSize(file)) ?? 0));
  const bytesTotal = sizes.reduce((sum, size) => sum + size, 0);
  let bytesDone = 0;
  const outcomes: FileOutcome[] = [];
  for (const [i, path] of files.entries()) {
    outcomes.push(await importFile(layout, path, known, options));
    bytesDone += sizes[i]!;
    options.onProgress?.(bytesDone, bytesTotal, i + 1);
  }
  return outcomes;
}

async function importFile(
  layout: DataDirLayout,
  path: string,
  known: Set<string>,
  options: ImportOptions,
): Promise<FileOutcome> {
  const empty = {
    path,
    format: null,
    imported: 0,
    already: 0,
    problems: [],
    session: null,
    archive: null,
    firstSeq: null,
    lastSeq: null,
    error: null,
  };
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const described = operatingError(error, `Cannot read "${path}"`);
    if (!described) throw error;
    return { ...empty, error: described.message };
  }
  const transcript = await readTranscript(bytes, options.format);
  const fresh = transcript.lines.filter((line) => {
    if (known.has(line.entry.key)) return false;
    known.add(line.entry.key);
    return true;
  });
  const outcome = {
    ...empty,
    format: transcript.format,
    already: transcript.lines.length - fresh.length,
    problems: transcript.problems,
  };
  if (fresh.length === 0) return outcome;
  const importedAt = (options.now ?? (() => new Date()))();
  const count = fresh.length + 2;
  const firstSeq = await options.seqs.reserve(count);
  const firstTime = fresh.find((line) => line.entry.time !== null)?.entry.time ?? importedAt;
  const session = newSessionId(firstTime);
  const records = importedRecords(fresh, { path, format: transcript.format }, {
    firstSeq,
    session,
    importedAt,
  });
  const archive = await writeArchive(layout, session, records);
  return {
    ...outcome,
    imported: fresh.length,
    session,
    archive,
    firstSeq,
    lastSeq: firstSeq + count - 1,
  };
}

/** Writes `records` to a hidden temporary file, fsyncs it, and renames it into `archive/`. */
async function writeArchive(
  layout: DataDirLayout,
  session: string,
  records: readonly RecordBody[],
): Promise<string> {
  const temporary = `${layout.archiveDir}/.import_${session}_${Deno.pid}.tmp`;
  const file = await Deno.open(temporary, {
    write: true,
    create: true,
    truncate: true,
    mode: PRIVATE_FILE_MODE,
  });
  try {
    for (const record of records) await writeAll(file, encodeRecordLine(record));
    await file.syncData();
  } finally {
    file.close();
  }
  const target = await freeArchivePath(layout, session);
  await Deno.rename(temporary, target);
  await syncDirectory(layout.archiveDir);
  return target;
}

/**
 * Removes temporary files of imports that died before their rename (under the import lock, so
 * none of them is being written): their seqs are simply never used.
 */
async function removeUnfinishedImports(layout: DataDirLayout): Promise<void> {
  for await (const entry of Deno.readDir(layout.archiveDir)) {
    if (entry.isFile && /^\.import_.*\.tmp$/.test(entry.name)) {
      await Deno.remove(`${layout.archiveDir}/${entry.name}`);
    }
  }
}

/**
 * The files to import for `paths`: a file as it is, a folder by every `*.jsonl` file under it
 * (sorted). A path that does not exist is a {@link PersistError} (exit 66).
 */
export async function filesToImport(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    const path = await Deno.realPath(given).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new PersistError(`Cannot import "${given}": no such file or folder`, {
        code: ErrorCode.importNotFound,
        exitCode: 66,
      });
    });
    const info = await Deno.stat(path);
    if (info.isDirectory) files.push(...(await jsonlFilesUnder(path)).sort());
    else files.push(path);
  }
  return [...new Set(files)];
}

async function jsonlFilesUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory) found.push(...await jsonlFilesUnder(path));
    else if (entry.isFile && entry.name.endsWith(".jsonl")) found.push(path);
  }
  return found;
}
