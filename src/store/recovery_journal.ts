import { PRIVATE_FILE_MODE, syncFile, writeAll } from "./data_dir.ts";
import { fileSize } from "./file_info.ts";

/** One line of `recovery/crash_recovery.jsonl`. */
export interface JournalEntry {
  readonly event:
    | "start"
    | "heartbeat"
    | "stop"
    | "recovered"
    | "session_archived"
    | "seqs_reserved";
  readonly at: string;
  readonly pid: number;
  readonly session?: string;
  readonly durable_seq?: number;
  /** `seqs_reserved`: the last seq handed to another process (an import) to write. */
  readonly reserved_seq?: number;
  readonly [field: string]: unknown;
}

/** What the journal says about how the previous daemon ended. */
export interface PreviousRun {
  /**
   * True when a daemon started and never journaled a stop, or journaled a stop with a `failure`
   * (a fatal error, or received messages it could not write).
   */
  readonly unclean: boolean;
  /** The last start, heartbeat or stop entry, if the journal has any. */
  readonly last: JournalEntry | undefined;
  /** The highest durable sequence number any entry mentions. */
  readonly maxDurableSeq: number;
  /** The highest seq reserved for another process (`seqs_reserved`): never to be reused. */
  readonly maxReservedSeq: number;
  /** Lines that could not be parsed (a torn last line after a crash). */
  readonly unreadableLines: number;
}

const LIFECYCLE_EVENTS: ReadonlySet<string> = new Set(["start", "heartbeat", "stop"]);
const COMPACT_ABOVE_BYTES = 1024 * 1024;
const KEEP_LINES_AFTER_COMPACT = 500;
const encoder = new TextEncoder();

/**
 * The crash-recovery journal: the daemon appends `start`, periodic `heartbeat` (with the last
 * durable seq), and `stop` on a clean shutdown, each fsynced. A journal whose last run has no
 * `stop` tells the next start that the previous daemon died.
 *
 * @example
 * ```ts
 * const previous = await RecoveryJournal.readPreviousRun(path);
 * const journal = await RecoveryJournal.open(path);
 * await journal.append({ event: "start", at: new Date().toISOString(), pid: Deno.pid });
 * ```
 */
export class RecoveryJournal {
  readonly #file: Deno.FsFile;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens the journal for appending, first compacting it when it has grown large. */
  static async open(path: string): Promise<RecoveryJournal> {
    await compactIfLarge(path);
    const file = await Deno.open(path, {
      read: true,
      append: true,
      create: true,
      mode: PRIVATE_FILE_MODE,
    });
    try {
      await endWithNewline(file);
    } catch (error) {
      file.close();
      throw error;
    }
    return new RecoveryJournal(file);
  }

  /** Reads the journal and summarizes the previous run; a missing journal means a first start. */
  static async readPreviousRun(path: string): Promise<PreviousRun> {
    const entries = await readJournal(path);
    let maxDurableSeq = 0;
    let maxReservedSeq = 0;
    for (const entry of entries.entries) {
      if (typeof entry.reserved_seq === "number" && entry.reserved_seq > maxReservedSeq) {
        maxReservedSeq = entry.reserved_seq;
      }
      if (typeof entry.durable_seq === "number" && entry.durable_seq > maxDurableSeq) {
        maxDurableSeq = entry.durable_seq;
      }
    }
    const last = entries.entries.findLast((entry) => LIFECYCLE_EVENTS.has(entry.event));
    return {
      // A stop after a fatal error or with messages left unwritten is not clean either.
      unclean: last !== undefined && (last.event !== "stop" || last.failure !== undefined),
      last,
      maxDurableSeq,
      maxReservedSeq,
      unreadableLines: entries.unreadableLines,
    };
  }

  /** Appends one entry and fsyncs it. */
  async append(entry: JournalEntry): Promise<void> {
    await writeAll(this.#file, encoder.encode(JSON.stringify(entry) + "\n"));
    await this.#file.syncData();
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/** A torn last line (a crash mid-append) is closed off, so the next entry starts clean. */
async function endWithNewline(file: Deno.FsFile): Promise<void> {
  const size = (await file.stat()).size;
  if (size === 0) return;
  const last = new Uint8Array(1);
  await file.seek(size - 1, Deno.SeekMode.Start);
  await file.read(last);
  if (last[0] !== 0x0a) {
    await writeAll(file, encoder.encode("\n"));
    await file.syncData();
  }
}

/** Reads every parseable entry of a journal; unparseable lines are counted, not trusted. */
export async function readJournal(
  path: string,
): Promise<{ entries: JournalEntry[]; unreadableLines: number }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { entries: [], unreadableLines: 0 };
    throw error;
  }
  const entries: JournalEntry[] = [];
  let unreadableLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed = JSON.parse(line);
      if (typeof parsed?.event === "string" && typeof parsed?.at === "string") {
        entries.push(parsed);
      } else {
        unreadableLines++;
      }
    } catch {
      unreadableLines++;
    }
  }
  return { entries, unreadableLines };
}

async function compactIfLarge(path: string): Promise<void> {
  const size = await fileSize(path);
  if (size === null || size <= COMPACT_ABOVE_BYTES) return;
  const { entries } = await readJournal(path);
  const lastHeartbeat = entries.findLast((entry) => entry.event === "heartbeat");
  const kept = entries.filter((entry) => entry.event !== "heartbeat" || entry === lastHeartbeat);
  const tail = kept.slice(-KEEP_LINES_AFTER_COMPACT);
  const temp = `${path}.compact`;
  await Deno.writeTextFile(temp, tail.map((entry) => JSON.stringify(entry) + "\n").join(""), {
    mode: PRIVATE_FILE_MODE,
  });
  await syncFile(temp);
  await Deno.rename(temp, path);
}
