import { DataDirBusyError } from "../errors.ts";
import { PRIVATE_FILE_MODE, writeAll } from "./data_dir.ts";

/**
 * Runs `work` holding an exclusive lock on the file at `path` (created, mode 0600), waiting for
 * the lock while another process holds it. Closing the file releases the lock, also when `work`
 * throws or the process dies.
 *
 * @example
 * ```ts
 * await withFileLock(`${layout.root}/import.lock`, () => importUnderLock(layout, files));
 * ```
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const file = await Deno.open(path, {
    read: true,
    write: true,
    create: true,
    mode: PRIVATE_FILE_MODE,
  });
  try {
    await file.lock(true);
    return await work();
  } finally {
    file.close(); // closing releases the lock
  }
}

/** What the lock holder writes into the lock file, so others can name it. */
export interface LockHolder {
  readonly pid: number;
  readonly started_at: string;
  readonly role: string;
}

/** An exclusive lock on a data directory; released by {@link DataDirLock.release} or death. */
export class DataDirLock {
  readonly #file: Deno.FsFile;
  readonly path: string;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.path = path;
  }

  /**
   * Takes the lock without waiting. Throws {@link DataDirBusyError} naming the holder's PID when
   * another process holds it. The OS drops the lock when the holder exits, even on `kill -9`.
   *
   * @example
   * ```ts
   * const lock = await DataDirLock.acquire("conversation_logs/daemon.lock", "daemon");
   * try { ... } finally { lock.release(); }
   * ```
   */
  static async acquire(path: string, role: string): Promise<DataDirLock> {
    const file = await Deno.open(path, {
      read: true,
      write: true,
      create: true,
      mode: PRIVATE_FILE_MODE,
    });
    let locked: boolean;
    try {
      locked = await file.tryLock(true);
    } catch (error) {
      file.close();
      throw error;
    }
    if (!locked) {
      file.close();
      const holder = await readLockHolder(path);
      const who = holder
        ? `${holder.role} PID ${holder.pid} (running since ${holder.started_at})`
        : "another process";
      throw new DataDirBusyError(
        `Cannot lock data dir "${path.replace(/\/daemon\.lock$/, "")}": it is in use by ${who}`,
        { holderPid: holder?.pid },
      );
    }
    const holder: LockHolder = { pid: Deno.pid, started_at: new Date().toISOString(), role };
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await writeAll(file, new TextEncoder().encode(JSON.stringify(holder) + "\n"));
    await file.syncData();
    return new DataDirLock(file, path);
  }

  /** Device and inode of the lock file held open, to tell whether its path still leads to it. */
  async identity(): Promise<{ dev: number; ino: number | null }> {
    const info = await this.#file.stat();
    return { dev: info.dev, ino: info.ino };
  }

  /** Releases the lock and closes the file. */
  release(): void {
    this.#file.unlockSync();
    this.#file.close();
  }
}

/** Reads who holds (or last held) the lock; undefined when the file is missing or unreadable. */
export async function readLockHolder(path: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed?.pid === "number") return parsed as LockHolder;
  } catch {
    // A lock file being rewritten by its new holder can be read half-written: treat as unknown.
  }
  return undefined;
}

/** True when some process currently holds the lock at `path`. */
export async function isLockHeld(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    const locked = await file.tryLock(true);
    if (locked) await file.unlock();
    return !locked;
  } finally {
    file.close();
  }
}
