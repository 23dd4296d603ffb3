/**
 * Where the reading commands (`search`, `recent`, `show`, `sessions`, `stats`, `context`,
 * `export`) get recorded history from: this machine's index and logs, or the shared PostgreSQL
 * store (every origin). Each command is written once against this interface; the source is a
 * parameter.
 *
 * @module
 */
import type {
  IndexHit,
  IndexStats,
  RecordFilters,
  SearchRequest,
  SessionSummary,
} from "./message_index.ts";
import type { LineCheck, LogRecord } from "./record.ts";

/** An index hit, plus the data dir it was recorded in when read from the shared store. */
export interface HistoryHit extends IndexHit {
  /** The origin (stable id of the recording data dir); absent for this machine's own index. */
  readonly origin?: string;
}

/** A session summary, plus its origin when read from the shared store. */
export interface HistorySession extends SessionSummary {
  readonly origin?: string;
}

/** A record and its stored line (bytes as recorded, newline included). */
export interface HistoryRecord {
  readonly record: LogRecord;
  readonly line: Uint8Array;
  readonly origin?: string;
}

/** Filters of a history read: the index filters plus, on the shared store, one origin. */
export interface HistoryFilters extends RecordFilters {
  readonly origin?: string;
}

/** The reading operations, one implementation per record source. */
export interface HistoryReader {
  /** "local" for this machine's index and logs, "store" for the shared PostgreSQL store. */
  readonly kind: "local" | "store";
  /** Newest-first hits; throws a bad-query PersistError (exit 2) on bad query syntax. */
  search(request: SearchRequest & HistoryFilters): Promise<HistoryHit[]>;
  /** Reads and verifies the lines behind hits (never throws for damage). */
  checkLines(hits: readonly HistoryHit[]): Promise<LineCheck[]>;
  /** Every record with this seq (several origins may each have one). */
  locate(seq: number, filters?: HistoryFilters): Promise<HistoryHit[]>;
  /** The verified record behind a hit; a damaged line throws a DamagedDataError. */
  readRecord(hit: HistoryHit): Promise<HistoryRecord>;
  /** The bytes of a hit's line as stored, unverified (evidence for `show --raw`). */
  readBytes(hit: HistoryHit): Promise<Uint8Array>;
  /** Where a hit's line is stored, for `show`: e.g. `current_session.jsonl at byte 10 (…)`. */
  describeStorage(hit: HistoryHit): string;
  /** Highest seq recorded (in the origin, when filtered), 0 when none. */
  lastSeq(filters?: HistoryFilters): Promise<number>;
  sessions(filters?: HistoryFilters): Promise<HistorySession[]>;
  stats(filters: HistoryFilters, top: number): Promise<IndexStats>;
  /** Folder from which blob frames of `records` can be read (fetched first if need be). */
  blobDirFor(records: readonly { line: Uint8Array }[]): Promise<string>;
  close(): Promise<void>;
}
