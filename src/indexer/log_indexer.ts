import type { Logger } from "../logger.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { readFirstRecord, readRecordAt } from "../store/log_reader.ts";
import type { IndexedFile, MessageIndex, PlacedEntry } from "../store/message_index.ts";
import { listArchivedLogs } from "../store/session_archive.ts";
import { statOrNull } from "../store/file_info.ts";
import { type EntrySource, scanEntries } from "./entry_source.ts";

/** Progress of a catch-up, for progress bars. */
export interface CatchUpProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly records: number;
}

/** What one catch-up pass did. */
export interface CatchUpResult {
  readonly records: number;
  /** Files whose index entries no longer matched the file and were re-indexed from scratch. */
  readonly reindexedFiles: number;
  /** Lines that failed their checksum and were skipped (reported, never trusted). */
  readonly badLines: number;
}

/** Options for {@link LogIndexer}. */
export interface LogIndexerOptions {
  readonly logger: Logger;
  /** Records per index transaction. */
  readonly batchSize?: number;
  readonly onProgress?: (progress: CatchUpProgress) => void;
  /** Checked between batches; true stops the pass early (the index stays consistent). */
  readonly shouldStop?: () => boolean;
  /**
   * How long a fully indexed archived log is trusted without a `stat` (the live indexer
   * passes several times a second); default 0: every pass looks.
   */
  readonly archiveRecheckMs?: number;
  /** Called after each committed batch with the highest seq it indexed. */
  readonly onBatch?: (lastSeq: number) => void;
  /** Reads the entries of a log; default {@link scanEntries} (on this thread). */
  readonly entrySource?: EntrySource;
  /**
   * For a backlog: the source used instead of `entrySource` when a pass has at least
   * `fromBytes` of a file to read (e.g. a `ParsingWorker`'s, parsing on another thread).
   */
  readonly backlogSource?: { readonly source: () => EntrySource; readonly fromBytes: number };
}

const DEFAULT_BATCH_SIZE = 5000;

interface FileSeen {
  readonly size: number;
  readonly mtimeMs: number;
  readonly complete: boolean;
  /** `performance.now()` of the pass that saw it. */
  readonly atMs: number;
}

/**
 * Brings the index up to date with the logs (archive, then current session): each file is read
 * from where the index left it, so a pass after a crash resumes where the last committed batch
 * ended. Files are identified by their first record's seq, so archiving a session (a rename)
 * only updates the path. A file that no longer holds what was indexed (truncated by tail
 * repair) is re-indexed from scratch. The logs are only read, never changed.
 *
 * @example
 * ```ts
 * const indexer = new LogIndexer(layout, index, { logger });
 * await indexer.catchUp();
 * ```
 */
export class LogIndexer {
  readonly #layout: DataDirLayout;
  readonly #index: MessageIndex;
  readonly #options: LogIndexerOptions;
  readonly #seen = new Map<string, FileSeen>();
  /** Indexed files not found in the last pass; dropped when missing twice in a row. */
  #missing = new Set<number>();
  readonly #firstSeqByPath = new Map<string, number>();
  /**
   * What the last pass learnt of each file: while its inode stays and it only grows (the
   * daemon appending), the next pass trusts it without reading its first and last indexed
   * records again, so following the current log costs a `stat` and the new bytes.
   */
  readonly #identities = new Map<string, FileIdentity>();

  constructor(layout: DataDirLayout, index: MessageIndex, options: LogIndexerOptions) {
    this.#layout = layout;
    this.#index = index;
    this.#options = options;
  }

  /** Indexes everything new in the logs; returns what it did. */
  async catchUp(): Promise<CatchUpResult> {
    const known = new Map(this.#index.files().map((file) => [file.firstSeq, file]));
    const pending = await this.#filesToRead(known);
    const bytesTotal = pending.reduce((sum, file) => sum + file.size - file.from, 0);
    let bytesDone = 0;
    let records = 0;
    let badLines = 0;
    let reindexedFiles = 0;
    for (const file of pending) {
      if (this.#options.shouldStop?.()) break;
      if (file.drop) {
        this.#options.logger.warn("index_file_changed", {
          file: file.relativePath,
          reason: file.drop,
        });
        this.#index.dropFile(file.firstSeq);
        reindexedFiles++;
      }
      const done = await this.#indexFile(file, (batchBytes, batchRecords) => {
        bytesDone += batchBytes;
        records += batchRecords;
        this.#options.onProgress?.({ bytesDone, bytesTotal, records });
      });
      badLines += done.badLines;
      this.#firstSeqByPath.set(file.path, file.firstSeq);
      this.#seen.set(file.path, {
        size: file.size,
        mtimeMs: file.mtimeMs,
        complete: done.complete && file.archived,
        atMs: performance.now(),
      });
    }
    reindexedFiles += this.#dropVanishedFiles(known, pending);
    return { records, reindexedFiles, badLines };
  }

  /** Drops index entries of files that are gone (deleted by hand) two passes in a row. */
  #dropVanishedFiles(known: Map<number, IndexedFile>, pending: PendingFile[]): number {
    const present = new Set(pending.map((file) => file.firstSeq));
    for (const [path, seen] of this.#seen) {
      if (seen.complete) present.add(this.#firstSeqByPath.get(path) ?? -1);
    }
    const missing = new Set([...known.keys()].filter((firstSeq) => !present.has(firstSeq)));
    let dropped = 0;
    for (const firstSeq of missing) {
      if (!this.#missing.has(firstSeq)) continue;
      this.#options.logger.warn("index_file_vanished", { file: known.get(firstSeq)?.path });
      this.#index.dropFile(firstSeq);
      dropped++;
    }
    this.#missing = missing;
    return dropped;
  }

  async #filesToRead(known: Map<number, IndexedFile>): Promise<PendingFile[]> {
    const archived = await listArchivedLogs(this.#layout);
    const paths = [...archived, this.#layout.currentLog];
    // A file gone from the folder (deleted by hand) no longer counts as seen, so as present.
    for (const path of this.#seen.keys()) if (!paths.includes(path)) this.#seen.delete(path);
    for (const path of this.#identities.keys()) {
      if (!paths.includes(path)) this.#identities.delete(path);
    }
    const pending: PendingFile[] = [];
    const recheckMs = this.#options.archiveRecheckMs ?? 0;
    for (const path of paths) {
      const seen = this.#seen.get(path);
      if (seen?.complete && performance.now() - seen.atMs < recheckMs) continue;
      const stat = await statOrNull(path);
      if (stat === null) continue; // rotated away meanwhile
      const mtimeMs = stat.mtime?.getTime() ?? 0;
      if (seen?.complete && seen.size === stat.size && seen.mtimeMs === mtimeMs) {
        this.#seen.set(path, { ...seen, atMs: performance.now() });
        continue;
      }
      const cached = this.#identities.get(path);
      const sameFile = cached !== undefined && stat.ino !== null && cached.ino === stat.ino &&
        stat.size >= cached.size;
      let first: { firstSeq: number; session: string } | undefined = sameFile ? cached : undefined;
      if (!first) {
        const read = await readFirstRecord(path);
        if (!read) continue;
        first = { firstSeq: read.record.seq, session: read.record.session };
      }
      const relativePath = path.slice(this.#layout.root.replace(/\/+$/, "").length + 1);
      const progress = known.get(first.firstSeq);
      const drop = !progress
        ? undefined
        : sameFile && progress.indexedBytes <= stat.size
        ? undefined
        : await this.#mismatch(path, stat.size, progress);
      this.#identities.set(path, {
        ino: stat.ino,
        size: stat.size,
        firstSeq: first.firstSeq,
        session: first.session,
      });
      if (progress && !drop && progress.path !== relativePath) {
        this.#index.renameFile(progress.firstSeq, relativePath);
      }
      const from = progress && !drop ? progress.indexedBytes : 0;
      pending.push({
        path,
        relativePath,
        firstSeq: first.firstSeq,
        session: first.session,
        size: stat.size,
        mtimeMs,
        from,
        drop,
        archived: path !== this.#layout.currentLog,
        last: progress && !drop ? progress : undefined,
      });
    }
    return pending;
  }

  /** Why the indexed part of a file no longer matches it, or undefined when it does. */
  async #mismatch(path: string, size: number, progress: IndexedFile): Promise<string | undefined> {
    if (progress.indexedBytes > size) {
      return `file is shorter (${size} bytes) than what was indexed (${progress.indexedBytes})`;
    }
    try {
      const { record } = await readRecordAt(path, progress.lastOffset, progress.lastLength);
      if (record.seq !== progress.lastSeq) return `record at byte ${progress.lastOffset} changed`;
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  }

  async #indexFile(
    file: PendingFile,
    onBatch: (bytes: number, records: number) => void,
  ): Promise<{ complete: boolean; badLines: number }> {
    const batchSize = this.#options.batchSize ?? DEFAULT_BATCH_SIZE;
    let badLines = 0;
    let batch: PlacedEntry[] = [];
    let batchStart = file.from;
    let indexedBytes = file.from;
    let last = file.last;
    if (file.from >= file.size) return { complete: file.from === file.size, badLines };
    const flush = () => {
      if (batch.length === 0 && indexedBytes === batchStart) return;
      const lastEntry = batch.at(-1);
      const progress: IndexedFile = {
        firstSeq: file.firstSeq,
        path: file.relativePath,
        session: file.session,
        indexedBytes,
        lastSeq: lastEntry?.seq ?? last?.lastSeq ?? 0,
        lastOffset: lastEntry?.offset ?? last?.lastOffset ?? 0,
        lastLength: lastEntry?.length ?? last?.lastLength ?? 0,
      };
      this.#index.applyBatch(progress, batch);
      if (lastEntry) this.#options.onBatch?.(lastEntry.seq);
      last = progress;
      onBatch(indexedBytes - batchStart, batch.length);
      batch = [];
      batchStart = indexedBytes;
    };
    const backlog = this.#options.backlogSource;
    const source = backlog && file.size - file.from >= backlog.fromBytes
      ? backlog.source()
      : this.#options.entrySource ?? scanEntries;
    for await (
      const entry of source(file.path, {
        fromOffset: file.from,
        // A pass ends at the size seen when it began, so a growing log cannot keep it going.
        toOffset: file.size,
        onBadLine: (bad) => {
          badLines++;
          indexedBytes = bad.offset + bad.length;
          this.#options.logger.warn("index_skipped_bad_line", {
            file: file.relativePath,
            offset: bad.offset,
            reason: bad.reason,
          });
        },
      })
    ) {
      batch.push(entry);
      indexedBytes = entry.offset + entry.length;
      if (batch.length >= batchSize) {
        flush();
        if (this.#options.shouldStop?.()) return { complete: false, badLines };
      }
    }
    flush();
    return { complete: indexedBytes === file.size, badLines };
  }
}

interface FileIdentity {
  readonly ino: number | null;
  readonly size: number;
  readonly firstSeq: number;
  readonly session: string;
}

interface PendingFile {
  readonly path: string;
  readonly relativePath: string;
  readonly firstSeq: number;
  readonly session: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly from: number;
  readonly drop: string | undefined;
  readonly archived: boolean;
  readonly last: IndexedFile | undefined;
}
