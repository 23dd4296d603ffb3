/**
 * The search index behind a small interface, so that another backend (PostgreSQL for teams that
 * outgrow one machine) can replace SQLite without touching the indexer or the CLI.
 *
 * @module
 */
import type { IndexEntry } from "../enrich/index_entry.ts";

export type { IndexEntry } from "../enrich/index_entry.ts";

/** How far one log file has been indexed. Files are identified by their first record's seq. */
export interface IndexedFile {
  readonly firstSeq: number;
  /** Path relative to the data dir, e.g. `current_session.jsonl` or `archive/session_x.jsonl`. */
  readonly path: string;
  readonly session: string;
  /** Bytes of the file indexed so far (always the end of a complete line). */
  readonly indexedBytes: number;
  /** Seq, offset and length of the last indexed record, to check the file still holds it. */
  readonly lastSeq: number;
  readonly lastOffset: number;
  readonly lastLength: number;
}

/** An index entry with where its line lives. */
export interface PlacedEntry extends IndexEntry {
  readonly offset: number;
  readonly length: number;
}

/** Filters shared by search, recent and stats; all optional. */
export interface RecordFilters {
  readonly sender?: string;
  readonly topic?: string;
  readonly session?: string;
  readonly kind?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  /** Also replayed messages (`meta.replay_of`); they are left out by default. */
  readonly includeReplays?: boolean;
}

/** A search: optional full-text query (FTS5 syntax) plus filters, newest first. */
export interface SearchRequest extends RecordFilters {
  readonly text?: string;
  readonly limit: number;
  /** Include daemon events (gap, broker_down, …) as well as messages. */
  readonly includeEvents?: boolean;
}

/** One result row: the indexed fields (not the full text) and where the record's line lives. */
export interface IndexHit extends Omit<IndexEntry, "content"> {
  /** Path relative to the data dir, offset and length of the record's line. */
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/** One session as the index knows it. */
export interface SessionSummary {
  readonly session: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly messages: number;
  readonly bytes: number;
  readonly tokens: number;
  readonly agents: readonly string[];
  readonly file: string | null;
}

/** A count in one group of {@link IndexStats}. */
export interface GroupCount {
  readonly key: string;
  readonly messages: number;
  readonly bytes: number;
  readonly tokens: number;
}

/** Aggregates over messages matching filters. */
export interface IndexStats {
  readonly totals: { readonly messages: number; readonly bytes: number; readonly tokens: number };
  readonly bySender: readonly GroupCount[];
  readonly byTopic: readonly GroupCount[];
  readonly bySession: readonly GroupCount[];
  /** Key is the hour's start as ISO time (UTC). */
  readonly byHour: readonly GroupCount[];
  readonly biggest: readonly IndexHit[];
}

/** The index's operations. Writers hold the index lock; readers may run alongside. */
export interface MessageIndex {
  /** Every file the index has entries from. */
  files(): IndexedFile[];
  /** Adds entries of one file and records its new progress, atomically. */
  applyBatch(file: IndexedFile, entries: readonly PlacedEntry[]): void;
  /** Updates a file's path (after it was archived). */
  renameFile(firstSeq: number, path: string): void;
  /** Removes everything indexed from a file (it changed under the index). */
  dropFile(firstSeq: number): void;
  /** Newest-first results; throws {@link BadQueryError}-like PersistError on bad FTS syntax. */
  search(request: SearchRequest): IndexHit[];
  /** Where one record lives. */
  locate(seq: number): IndexHit | undefined;
  sessions(): SessionSummary[];
  stats(filters: RecordFilters, top: number): IndexStats;
  /** Highest seq indexed, 0 when empty. */
  lastSeq(): number;
  /** Number of records indexed. */
  count(): number;
  close(): void;
}
