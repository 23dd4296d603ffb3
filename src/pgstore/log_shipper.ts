/**
 * Ships a data dir's records into the shared store, reading the logs (the log is the queue):
 * archives oldest first, then the current session, in batches, blobs before the records that
 * point to them, idempotent on (origin, seq). The daemon's ship worker runs it after every
 * durable advance; `ship` runs it once over everything. Knows nothing of ZeroMQ or the CLI.
 *
 * @module
 */
import { ErrorCode, PersistError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { type BlobRef, blobRefsInLine, readBlobSync } from "../store/blob_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { statOrNull } from "../store/file_info.ts";
import { readFirstRecord, scanLog, scanLogHeadlines } from "../store/log_reader.ts";
import { listArchivedLogs } from "../store/session_archive.ts";
import type { PgStore } from "./connection.ts";
import { ensurePartitions, listPartitions, monthOf } from "./migrations.ts";
import { insertBlobs, insertRecords, shippedSeq, type ShipRow, shipRowOf } from "./records.ts";

/** Progress of a pass, for progress bars. */
export interface ShipProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Records sent so far in this pass. */
  readonly records: number;
}

/** What one pass did. */
export interface ShipPassResult {
  /** Records sent (new or already there). */
  readonly sent: number;
  /** Records the store did not hold before (the rest were already there). */
  readonly added: number;
  /** Blobs sent (ones the store lacked). */
  readonly blobs: number;
  /** Lines that failed their checksum: never shipped. */
  readonly badLines: number;
  /** Highest seq shipped so far by this shipper (or found in the store at start). */
  readonly shippedSeq: number;
}

/** Options of {@link LogShipper}. */
export interface LogShipperOptions {
  readonly logger?: Logger;
  /** Records per INSERT (default 1000). */
  readonly batchSize?: number;
  /** Most line bytes per INSERT (default 8 MiB), so a batch of large lines stays bounded. */
  readonly batchBytes?: number;
  readonly onProgress?: (progress: ShipProgress) => void;
  /** Called after each committed batch with the highest seq it held. */
  readonly onBatch?: (lastSeq: number) => void;
  /** Checked between batches: true ends the pass early (nothing half-done). */
  readonly shouldStop?: () => boolean;
}

interface FileCursor {
  /** Byte offset after the last record shipped (or skipped as already there). */
  offset: number;
  /** Records with seq up to this were found in the store when the file was first seen. */
  readonly skipThrough: number;
  /** Size and mtime when the file was last read to its end (archives are then done). */
  doneAt?: { size: number; mtimeMs: number };
}

interface PendingBatch {
  rows: ShipRow[];
  /** Blobs the batch's lines point to: hash → size. */
  blobs: Map<string, number>;
  bytes: number;
  endOffset: number;
}

const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_BATCH_BYTES = 8 * 1024 * 1024;
const textDecoder = new TextDecoder();

/**
 * Ships the records of one data dir (one origin). Each file is identified by its first record's
 * seq, so archiving the current session (a rename) keeps its place. The first time a file is
 * seen, its records up to the store's highest seq for this origin are counted against the store:
 * when the store holds as many in that range, they are skipped; otherwise the whole file is sent
 * again (rows already there are skipped by the store), so a gap left by anything never stays.
 *
 * @example
 * ```ts
 * const shipper = new LogShipper(layout, origin);
 * const result = await shipper.pass(store, durableSeq);
 * ```
 */
export class LogShipper {
  readonly #layout: DataDirLayout;
  readonly #origin: string;
  readonly #options: LogShipperOptions;
  readonly #cursors = new Map<number, FileCursor>();
  readonly #months = new Set<string>();
  readonly #reportedBadLines = new Set<string>();
  #shippedSeq = 0;

  constructor(layout: DataDirLayout, origin: string, options: LogShipperOptions = {}) {
    this.#layout = layout;
    this.#origin = origin;
    this.#options = options;
  }

  /** Highest seq shipped by this shipper or found in the store. */
  get shippedSeq(): number {
    return this.#shippedSeq;
  }

  /**
   * Ships every verified record with seq ≤ `limitSeq` not shipped yet (default: all). A failure
   * (store gone, refused) throws; what was committed before stays, and the next pass resumes
   * after it.
   */
  async pass(store: PgStore, limitSeq = Number.POSITIVE_INFINITY): Promise<ShipPassResult> {
    try {
      return await this.#pass(store, limitSeq);
    } catch (error) {
      // A partition dropped meanwhile (retention) must be looked up again, not trusted.
      this.#months.clear();
      throw error;
    }
  }

  async #pass(store: PgStore, limitSeq: number): Promise<ShipPassResult> {
    if (this.#months.size === 0) {
      for (const month of await listPartitions(store.sql)) this.#months.add(month);
    }
    const files = await this.#filesToRead();
    const bytesTotal = files.reduce((sum, file) => sum + file.size, 0);
    const totals = { sent: 0, added: 0, blobs: 0, badLines: 0, bytesDone: 0 };
    for (const file of files) {
      if (this.#options.shouldStop?.()) break;
      let cursor = this.#cursors.get(file.firstSeq);
      if (cursor === undefined) {
        cursor = {
          offset: 0,
          skipThrough: await this.#alreadyShippedThrough(store, file.path, file.firstSeq),
        };
        this.#cursors.set(file.firstSeq, cursor);
      }
      const startOffset = cursor.offset;
      totals.bytesDone += startOffset;
      const done = await this.#shipFile(store, file.path, cursor, limitSeq, (batch) => {
        totals.sent += batch.sent;
        totals.added += batch.added;
        totals.blobs += batch.blobs;
        totals.bytesDone += batch.bytes;
        this.#options.onProgress?.({
          bytesDone: totals.bytesDone,
          bytesTotal,
          records: totals.sent,
        });
      });
      totals.badLines += done.badLines;
      if (done.reachedEnd && file.archived) {
        cursor.doneAt = { size: file.size, mtimeMs: file.mtimeMs };
      }
      if (!done.reachedEnd) break; // stopped at the durable limit or asked to stop
    }
    return {
      sent: totals.sent,
      added: totals.added,
      blobs: totals.blobs,
      badLines: totals.badLines,
      shippedSeq: this.#shippedSeq,
    };
  }

  async #filesToRead(): Promise<
    { path: string; firstSeq: number; size: number; mtimeMs: number; archived: boolean }[]
  > {
    const paths = [...await listArchivedLogs(this.#layout), this.#layout.currentLog];
    const files = [];
    for (const path of paths) {
      const stat = await statOrNull(path);
      if (stat === null) continue; // archived or removed meanwhile: found next pass
      const first = await readFirstRecord(path);
      if (first === undefined) continue;
      const mtimeMs = stat.mtime?.getTime() ?? 0;
      const cursor = this.#cursors.get(first.record.seq);
      const archived = path !== this.#layout.currentLog;
      if (cursor?.doneAt && cursor.doneAt.size === stat.size && cursor.doneAt.mtimeMs === mtimeMs) {
        continue;
      }
      if (cursor && cursor.offset > stat.size) {
        // The file is shorter than what was read (tail repair after a crash): read it again;
        // the store skips what it holds.
        this.#cursors.delete(first.record.seq);
      }
      files.push({ path, firstSeq: first.record.seq, size: stat.size, mtimeMs, archived });
    }
    return files;
  }

  /**
   * The seq up to which this file's records are all in the store already (0: send it all).
   * Counts the file's records up to the store's highest seq for this origin and compares with
   * the store's count in the same range.
   */
  async #alreadyShippedThrough(store: PgStore, path: string, firstSeq: number): Promise<number> {
    const highest = await shippedSeq(store.sql, this.#origin);
    this.#shippedSeq = Math.max(this.#shippedSeq, highest);
    if (highest < firstSeq) return 0;
    let inFile = 0;
    let lastInFile = 0;
    for await (const { headline } of scanLogHeadlines(path)) {
      if (headline.seq > highest) break;
      inFile++;
      lastInFile = headline.seq;
    }
    if (inFile === 0) return 0;
    const [row] = await store.sql<{ count: string }[]>`
      SELECT count(*)::text AS count FROM shearwater.records
      WHERE origin = ${this.#origin} AND seq BETWEEN ${firstSeq} AND ${lastInFile}`;
    const inStore = Number(row?.count ?? 0);
    if (inStore === inFile) return lastInFile;
    this.#options.logger?.info("ship_file_resent", {
      file: path,
      reason: `the store holds ${inStore} of the ${inFile} records up to seq ${lastInFile}`,
    });
    return 0;
  }

  async #shipFile(
    store: PgStore,
    path: string,
    cursor: FileCursor,
    limitSeq: number,
    onBatch: (batch: { sent: number; added: number; blobs: number; bytes: number }) => void,
  ): Promise<{ reachedEnd: boolean; badLines: number }> {
    const batchSize = this.#options.batchSize ?? DEFAULT_BATCH_SIZE;
    const batchBytes = this.#options.batchBytes ?? DEFAULT_BATCH_BYTES;
    let badLines = 0;
    let batch: PendingBatch = { rows: [], blobs: new Map(), bytes: 0, endOffset: cursor.offset };
    const flush = async () => {
      const startOffset = cursor.offset;
      const committed = await this.#commit(store, batch);
      cursor.offset = batch.endOffset;
      if (batch.rows.length > 0) {
        this.#shippedSeq = Math.max(this.#shippedSeq, batch.rows.at(-1)!.seq);
        this.#options.onBatch?.(this.#shippedSeq);
      }
      onBatch({ ...committed, bytes: batch.endOffset - startOffset });
      batch = { rows: [], blobs: new Map(), bytes: 0, endOffset: cursor.offset };
    };
    for await (
      const placed of scanLog(path, {
        fromOffset: cursor.offset,
        onBadLine: (bad) => {
          badLines++;
          // A damaged line is met again on every pass until a good one follows it: say it once.
          const key = `${path}:${bad.offset}`;
          if (this.#reportedBadLines.has(key)) return;
          this.#reportedBadLines.add(key);
          this.#options.logger?.warn("ship_line_skipped", {
            file: path,
            offset: bad.offset,
            reason: bad.reason,
          });
        },
      })
    ) {
      if (placed.record.seq > limitSeq) {
        if (batch.rows.length > 0 || batch.endOffset !== cursor.offset) await flush();
        return { reachedEnd: false, badLines };
      }
      batch.endOffset = placed.offset + placed.length;
      if (placed.record.seq <= cursor.skipThrough) continue;
      const lineText = textDecoder.decode(placed.line.subarray(0, placed.line.length - 1));
      batch.rows.push(shipRowOf(placed.record, lineText));
      for (const ref of blobRefsInLine(placed.line)) batch.blobs.set(ref.sha256, ref.bytes);
      batch.bytes += placed.length;
      if (batch.rows.length >= batchSize || batch.bytes >= batchBytes) {
        await flush();
        if (this.#options.shouldStop?.()) return { reachedEnd: false, badLines };
      }
    }
    if (batch.rows.length > 0 || batch.endOffset !== cursor.offset) await flush();
    return { reachedEnd: true, badLines };
  }

  async #commit(
    store: PgStore,
    batch: PendingBatch,
  ): Promise<{ sent: number; added: number; blobs: number }> {
    if (batch.rows.length === 0) return { sent: 0, added: 0, blobs: 0 };
    const blobs = await insertBlobs(
      store.sql,
      [...batch.blobs.keys()],
      (sha256) => this.#readBlob({ sha256, bytes: batch.blobs.get(sha256)! }),
    );
    const months = new Set(batch.rows.map((row) => monthOf(new Date(row.receivedAt))));
    const missing = [...months].filter((month) => !this.#months.has(month));
    if (missing.length > 0) {
      await ensurePartitions(store, missing);
      for (const month of missing) this.#months.add(month);
    }
    const added = await insertRecords(store.sql, this.#origin, batch.rows);
    return { sent: batch.rows.length, added, blobs };
  }

  /**
   * A blob's bytes, checked against its hash; a missing or damaged blob is logged and not
   * shipped (the record still is: reading it says the blob is missing, as locally).
   */
  #readBlob(ref: BlobRef): Uint8Array | undefined {
    try {
      return readBlobSync(this.#layout.blobsDir, ref);
    } catch (error) {
      if (
        !(error instanceof PersistError) ||
        (error.code !== ErrorCode.blobMissing && error.code !== ErrorCode.blobDamaged)
      ) throw error;
      this.#options.logger?.warn("ship_blob_skipped", { sha256: ref.sha256, error: error.message });
      return undefined;
    }
  }
}
