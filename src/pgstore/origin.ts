/**
 * The data dir's origin id: a random UUID created once, kept in `<data-dir>/origin` (one line,
 * mode 0600), that names this machine's records in the shared store. Copying a data dir copies
 * its origin (it is the same history); a new data dir gets a new one.
 *
 * @module
 */
import { DamagedDataError } from "../errors.ts";
import { PRIVATE_FILE_MODE, syncDirectory, writeAll } from "../store/data_dir.ts";

const ORIGIN_FILE = "origin";
const ORIGIN_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Path of the origin file in the data dir `root`. */
export function originPath(root: string): string {
  return `${root.replace(/\/+$/, "") || "/"}/${ORIGIN_FILE}`;
}

/**
 * The data dir's origin id, or undefined when none was created yet. A file that does not hold
 * one UUID line is a {@link DamagedDataError}.
 */
export async function readOrigin(root: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(originPath(root));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const origin = text.trim();
  if (!ORIGIN_PATTERN.test(origin)) {
    throw new DamagedDataError(
      `Cannot use the origin file "${originPath(root)}": it does not hold one origin id ` +
        "(a UUID); restore it from a backup, or remove it only if this data dir never shipped",
    );
  }
  return origin;
}

/**
 * The data dir's origin id, created (a random UUID, fsynced, mode 0600) when missing. Two
 * processes racing get the same id: the file is created exclusively and the loser reads it.
 *
 * @example
 * ```ts
 * const origin = await ensureOrigin("conversation_logs"); // "3f0c…"
 * ```
 */
export async function ensureOrigin(root: string): Promise<string> {
  const existing = await readOrigin(root);
  if (existing !== undefined) return existing;
  const origin = crypto.randomUUID();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(originPath(root), {
      write: true,
      createNew: true,
      mode: PRIVATE_FILE_MODE,
    });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    // Another process created it between our read and our create: its id wins.
    return await waitForOrigin(root);
  }
  try {
    await writeAll(file, new TextEncoder().encode(`${origin}\n`));
    await file.syncData();
  } finally {
    file.close();
  }
  await syncDirectory(root);
  return origin;
}

async function waitForOrigin(root: string): Promise<string> {
  // The winner writes one short line right after creating the file.
  for (let attempt = 0;; attempt++) {
    try {
      const origin = await readOrigin(root);
      if (origin !== undefined) return origin;
    } catch (error) {
      if (!(error instanceof DamagedDataError) || attempt >= 50) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
