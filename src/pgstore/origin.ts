/**
 * The data dir's origin id: a random UUID created once, kept in `<data-dir>/origin` (one line,
 * mode 0600), that names this machine's records in the shared store. Copying a data dir copies
 * its origin (it is the same history); a new data dir gets a new one.
 *
 * @module
 */
import { DamagedDataError, operatingError } from "../errors.ts";
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
 * The data dir's origin id, created (a random UUID, fsynced, mode 0600) when missing. The file
 * appears whole or not at all: the id is written and fsynced to a temporary file, which is then
 * hard-linked to `origin` (the link fails when the name exists). So two processes racing get
 * the same id (the loser reads the winner's), and a failed write (a full disk) leaves no
 * half-written file behind to be taken for a damaged one.
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
  const temporary = `${originPath(root)}.${origin}.tmp`;
  try {
    const file = await Deno.open(temporary, {
      write: true,
      createNew: true,
      mode: PRIVATE_FILE_MODE,
    });
    try {
      await writeAll(file, new TextEncoder().encode(`${origin}\n`));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.link(temporary, originPath(root));
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    // Another process linked its id first: it wins.
    const winner = await readOrigin(root);
    if (winner !== undefined) return winner;
    throw error; // removed again meanwhile: let the caller try once more
  } finally {
    await Deno.remove(temporary).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  await syncDirectory(root);
  return origin;
}

/** The daemon's view of its origin: what to show now, and when it is safely on disk. */
export interface OriginKeeper {
  /** The origin id once it is on disk, else null (being created, or the file is damaged). */
  current(): string | null;
  /** Resolves with the id once it is on disk, or null when it never will be (damaged, stopped). */
  readonly saved: Promise<string | null>;
  /** Ends the retries (daemon stop). */
  stop(): void;
}

const KEEP_FIRST_RETRY_MS = 1000;
const KEEP_MAX_RETRY_MS = 30_000;

/**
 * Reads or creates the origin of the data dir `root` in the background, retrying while the
 * operating system refuses (a full disk): the recorder must never wait for it, and nothing is
 * shipped before the id is on disk (shipping under an id that a restart would not find again
 * would duplicate the history under a second origin). A damaged origin file is logged and left
 * alone: no origin, no shipping, until a person fixes it.
 */
export function keepOrigin(
  root: string,
  options: { onProblem: (event: string, fields: Record<string, unknown>) => void },
): OriginKeeper {
  let origin: string | null = null;
  let stopped = false;
  let wake: (() => void) | undefined;
  const saved = (async () => {
    let retryMs = 0;
    while (!stopped) {
      try {
        origin = await ensureOrigin(root);
        return origin;
      } catch (error) {
        if (error instanceof DamagedDataError) {
          options.onProblem("origin_damaged", { error: error.message });
          return null;
        }
        const described = operatingError(
          error,
          `Cannot create the origin file "${originPath(root)}"`,
        );
        if (described === undefined) throw error;
        if (retryMs === 0) options.onProblem("origin_not_saved", { error: described.message });
        retryMs = retryMs === 0 ? KEEP_FIRST_RETRY_MS : Math.min(KEEP_MAX_RETRY_MS, retryMs * 2);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    return null;
  })();
  return {
    current: () => origin,
    saved,
    stop() {
      stopped = true;
      wake?.();
    },
  };
}
