import { DamagedDataError } from "../errors.ts";
import {
  checkLineChecksum,
  checkRecordLine,
  type LogRecord,
  type RecordHeadline,
  recordHeadline,
} from "./record.ts";

/** A record read from a log, with where its line sits in the file. */
export interface PlacedRecord {
  readonly record: LogRecord;
  /** Byte offset of the line's first byte. */
  readonly offset: number;
  /** Length of the line in bytes, newline included. */
  readonly length: number;
  /** The line's bytes, newline included (a view; copy it to keep it past the next record). */
  readonly line: Uint8Array;
}

/** A line that failed its checksum, found while scanning. */
export interface BadLine {
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
}

/** Options for {@link scanLog}. */
export interface ScanOptions {
  /** Where to start; must be the start of a line. Default 0. */
  readonly fromOffset?: number;
  /** Bytes read per `read` call. */
  readonly chunkBytes?: number;
  /** Called for lines that fail verification; they are skipped, never trusted. */
  readonly onBadLine?: (bad: BadLine) => void;
}

const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Reads the complete, verified records of a JSONL log from an offset, in file order. A last line
 * without its newline (being written, or torn) is not returned. A missing file yields nothing.
 *
 * @example
 * ```ts
 * for await (const { record, offset } of scanLog("current_session.jsonl")) console.log(record.seq, offset);
 * ```
 */
export async function* scanLog(
  path: string,
  options: ScanOptions = {},
): AsyncGenerator<PlacedRecord> {
  const check = (line: Uint8Array) => {
    const checked = checkRecordLine(line);
    return checked.ok ? { ok: true as const, value: checked.record } : checked;
  };
  for await (const placed of scanVerified(path, options, check)) {
    yield { record: placed.value, offset: placed.offset, length: placed.length, line: placed.line };
  }
}

/** A line whose checksum verified, with its summary fields ({@link recordHeadline}). */
export interface PlacedHeadline {
  readonly headline: RecordHeadline;
  readonly offset: number;
  readonly length: number;
  readonly line: Uint8Array;
}

/**
 * Like {@link scanLog}, but reads only seq, type, session, topic and meta of each verified line
 * (several times faster: frames are not parsed).
 */
export async function* scanLogHeadlines(
  path: string,
  options: ScanOptions = {},
): AsyncGenerator<PlacedHeadline> {
  const check = (line: Uint8Array) => {
    const checked = checkLineChecksum(line);
    if (!checked.ok) return checked;
    try {
      return { ok: true as const, value: recordHeadline(checked.text) };
    } catch {
      return { ok: false as const, reason: "checksum matches but the line is not valid JSON" };
    }
  };
  for await (const placed of scanVerified(path, options, check)) {
    yield {
      headline: placed.value,
      offset: placed.offset,
      length: placed.length,
      line: placed.line,
    };
  }
}

async function* scanVerified<T>(
  path: string,
  options: ScanOptions,
  check: (
    line: Uint8Array,
  ) => { ok: true; value: T } | { readonly ok: false; readonly reason: string },
): AsyncGenerator<{ value: T; offset: number; length: number; line: Uint8Array }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    let position = options.fromOffset ?? 0;
    await file.seek(position, Deno.SeekMode.Start);
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    let carry = new Uint8Array(0);
    for (;;) {
      const chunk = new Uint8Array(Math.max(chunkBytes, carry.length * 2));
      chunk.set(carry, 0);
      const n = await file.read(chunk.subarray(carry.length));
      if (n === null) return;
      const data = chunk.subarray(0, carry.length + n);
      let lineStart = 0;
      for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, i + 1)) {
        const line = data.subarray(lineStart, i + 1);
        const checked = check(line);
        if (checked.ok) {
          yield { value: checked.value, offset: position, length: line.length, line };
        } else {
          options.onBadLine?.({ offset: position, length: line.length, reason: checked.reason });
        }
        position += line.length;
        lineStart = i + 1;
      }
      carry = data.slice(lineStart);
    }
  } finally {
    file.close();
  }
}

/**
 * Reads and verifies the one line at `offset` (of `length` bytes, newline included). A line
 * that fails verification throws a {@link DamagedDataError} (read its bytes with
 * {@link readLineAt}).
 */
export async function readRecordAt(
  path: string,
  offset: number,
  length: number,
): Promise<{ record: LogRecord; line: Uint8Array }> {
  const line = await readLineAt(path, offset, length);
  const check = checkRecordLine(line);
  if (!check.ok) {
    throw new DamagedDataError(
      `Cannot read the record at byte ${offset} of "${path}": ${check.reason}`,
    );
  }
  return { record: check.record, line };
}

/**
 * Reads the bytes at `offset` (up to `length`; fewer if the file ends first) as they are,
 * without verifying them: for showing a damaged line.
 */
export async function readLineAt(
  path: string,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    const line = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const n = await file.read(line.subarray(read));
      if (n === null) break;
      read += n;
    }
    return line.subarray(0, read);
  } finally {
    file.close();
  }
}

/**
 * {@link readRecordAt} with synchronous file calls: a short command that checks a few lines
 * one after another spends more on four async file operations per line than on the reads.
 */
export function readRecordAtSync(
  path: string,
  offset: number,
  length: number,
): { record: LogRecord; line: Uint8Array } {
  const line = readLineAtSync(path, offset, length);
  const check = checkRecordLine(line);
  if (!check.ok) {
    throw new DamagedDataError(
      `Cannot read the record at byte ${offset} of "${path}": ${check.reason}`,
    );
  }
  return { record: check.record, line };
}

/** {@link readLineAt} with synchronous file calls (see {@link readRecordAtSync}). */
export function readLineAtSync(path: string, offset: number, length: number): Uint8Array {
  using file = Deno.openSync(path, { read: true });
  return readLineFromSync(file, offset, length);
}

/**
 * {@link readLineAtSync} from a file already open: a command reading many lines of one log
 * opens it once.
 */
export function readLineFromSync(file: Deno.FsFile, offset: number, length: number): Uint8Array {
  file.seekSync(offset, Deno.SeekMode.Start);
  const line = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const n = file.readSync(line.subarray(read));
    if (n === null) break;
    read += n;
  }
  return line.subarray(0, read);
}

/** The first verified record of a log (its identity: first seq and session), if any. */
export async function readFirstRecord(path: string): Promise<PlacedRecord | undefined> {
  for await (const placed of scanLog(path, { chunkBytes: 64 * 1024 })) return placed;
  return undefined;
}
