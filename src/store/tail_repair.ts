import { checkRecordLine, type LogRecord } from "./record.ts";
import { fileTimestamp, writeFileAtomically } from "./data_dir.ts";

/** What {@link repairLogTail} found and did. */
export interface TailRepair {
  /** The last record whose checksum verifies, if any. */
  readonly lastRecord: LogRecord | undefined;
  /** Size of the log after repair (the end of the last good record). */
  readonly goodBytes: number;
  /** Bytes that followed the last good record and were set aside (0 when the tail was clean). */
  readonly setAsideBytes: number;
  /** Where the set-aside bytes were copied, when there were any. */
  readonly setAsidePath: string | undefined;
  /** Why the first bad line was rejected, when there was one. */
  readonly reason: string | undefined;
}

const INITIAL_WINDOW_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

/**
 * Validates the end of a JSONL log by checksum. A torn or corrupt tail (everything after the
 * last record that verifies) is copied to `recoveryDir`, fsynced, and only then cut off the log,
 * which is fsynced too. A missing log counts as empty.
 *
 * @example
 * ```ts
 * const repair = await repairLogTail("logs/current_session.jsonl", "logs/recovery");
 * if (repair.setAsideBytes > 0) console.log(`set aside ${repair.setAsidePath}`);
 * ```
 */
export async function repairLogTail(logPath: string, recoveryDir: string): Promise<TailRepair> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(logPath, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return {
        lastRecord: undefined,
        goodBytes: 0,
        setAsideBytes: 0,
        setAsidePath: undefined,
        reason: undefined,
      };
    }
    throw error;
  }
  try {
    const size = (await file.stat()).size;
    const found = await findLastGoodRecord(file, size);
    if (found.goodBytes === size) {
      return { ...found, setAsideBytes: 0, setAsidePath: undefined, reason: undefined };
    }
    const tail = await readRange(file, found.goodBytes, size);
    const setAsidePath = `${recoveryDir}/torn_tail_${
      fileTimestamp(new Date())
    }_offset_${found.goodBytes}.bin`;
    await writeFileAtomically(setAsidePath, tail);
    await file.truncate(found.goodBytes);
    await file.syncData();
    return { ...found, setAsideBytes: tail.length, setAsidePath };
  } finally {
    file.close();
  }
}

async function findLastGoodRecord(
  file: Deno.FsFile,
  size: number,
): Promise<{ lastRecord: LogRecord | undefined; goodBytes: number; reason: string | undefined }> {
  let reason: string | undefined;
  let windowBytes = INITIAL_WINDOW_BYTES;
  // Only lines that end with a newline can be complete; anything after the last newline is torn.
  for (;;) {
    const start = Math.max(0, size - windowBytes);
    const data = await readRange(file, start, size);
    let lineEnd = data.lastIndexOf(NEWLINE);
    if (lineEnd !== data.length - 1 && reason === undefined) {
      reason = lineEnd === -1 && start === 0
        ? "no complete line"
        : "last line is incomplete (torn write)";
    }
    while (lineEnd >= 0) {
      const previousNewline = data.lastIndexOf(NEWLINE, lineEnd - 1);
      if (previousNewline === -1 && start > 0) break; // line starts before the window: widen it
      const line = data.subarray(previousNewline + 1, lineEnd + 1);
      const check = checkRecordLine(line);
      if (check.ok) {
        return { lastRecord: check.record, goodBytes: start + lineEnd + 1, reason };
      }
      reason ??= `line at byte ${start + previousNewline + 1}: ${check.reason}`;
      lineEnd = previousNewline;
    }
    if (start === 0) return { lastRecord: undefined, goodBytes: 0, reason };
    windowBytes *= 4;
  }
}

/** Reads the last record whose checksum verifies, without changing the file. */
export async function readLastGoodRecord(logPath: string): Promise<LogRecord | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(logPath, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return (await findLastGoodRecord(file, (await file.stat()).size)).lastRecord;
  } finally {
    file.close();
  }
}

async function readRange(file: Deno.FsFile, start: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(end - start);
  await file.seek(start, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < out.length) {
    const n = await file.read(out.subarray(offset));
    if (n === null) break;
    offset += n;
  }
  return out.subarray(0, offset);
}
