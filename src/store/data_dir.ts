/** Where each file of a data directory lives. */
export interface DataDirLayout {
  readonly root: string;
  readonly currentLog: string;
  readonly archiveDir: string;
  readonly checkpointsDir: string;
  /** Content-addressed files of frames too large for a log line (`blobs/<sha256>`). */
  readonly blobsDir: string;
  readonly indexDir: string;
  readonly recoveryDir: string;
  readonly recoveryJournal: string;
  readonly lockFile: string;
  readonly controlSocket: string;
}

/** Permission bits for folders holding conversations: owner only. */
export const PRIVATE_DIR_MODE = 0o700;
/** Permission bits for files holding conversations: owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * The paths of a data directory, as documented in the README.
 *
 * @example
 * ```ts
 * const layout = dataDirLayout("conversation_logs");
 * console.log(layout.currentLog); // conversation_logs/current_session.jsonl
 * ```
 */
export function dataDirLayout(root: string): DataDirLayout {
  const join = (...parts: string[]) => [root.replace(/\/+$/, "") || "/", ...parts].join("/");
  return Object.freeze({
    root,
    currentLog: join("current_session.jsonl"),
    archiveDir: join("archive"),
    checkpointsDir: join("checkpoints"),
    blobsDir: join("blobs"),
    indexDir: join("metadata_index"),
    recoveryDir: join("recovery"),
    recoveryJournal: join("recovery", "crash_recovery.jsonl"),
    lockFile: join("daemon.lock"),
    controlSocket: join("control.sock"),
  });
}

/**
 * Creates the data directory and its sub-folders (mode 0700) if missing, and tightens the mode
 * of existing ones. Returns the layout.
 */
export async function ensureDataDir(root: string): Promise<DataDirLayout> {
  const layout = dataDirLayout(root);
  for (
    const dir of [
      layout.root,
      layout.archiveDir,
      layout.checkpointsDir,
      layout.indexDir,
      layout.recoveryDir,
    ]
  ) {
    await Deno.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await Deno.chmod(dir, PRIVATE_DIR_MODE);
  }
  return layout;
}

/** Fsyncs a directory so that renames and new entries in it survive a crash. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.syncData();
  } finally {
    dir.close();
  }
}

/** Fsyncs a file's data (after a copy or a write through another handle). */
export async function syncFile(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    await file.syncData();
  } finally {
    file.close();
  }
}

/** Writes all of `bytes` to `file`, looping over short writes. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await file.write(bytes.subarray(offset));
  }
}

/** Compact UTC timestamp for file names: `YYYYMMDD_HHMMSS`. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
}

/** The folder part of a path ("." when there is none). */
export function parentDir(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash > 0) return path.slice(0, slash);
  return slash === 0 ? "/" : ".";
}

/** Writes a file via a temporary name, fsync, rename and folder fsync. */
export async function writeFileAtomically(
  path: string,
  bytes: Uint8Array,
  options: { syncFolder?: boolean } = {},
): Promise<void> {
  const temp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode: PRIVATE_FILE_MODE });
  try {
    await writeAll(file, bytes);
    await file.syncData();
  } finally {
    file.close();
  }
  await Deno.rename(temp, path);
  if (options.syncFolder ?? true) await syncDirectory(parentDir(path));
}
