import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { ErrorCode, PersistError } from "../errors.ts";
import type {
  GroupCount,
  IndexedFile,
  IndexHit,
  IndexStats,
  MessageIndex,
  PlacedEntry,
  RecordFilters,
  SearchRequest,
  SessionSummary,
} from "./message_index.ts";

/** Bumped when the schema changes; an index of another version is rebuilt from the log. */
export const INDEX_SCHEMA_VERSION = 2;

const FTS_TABLE = `CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5 (
  content, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');`;

/**
 * FTS5's own tables behind `records_fts` that a rebuild copies from its twin table (small: one
 * row per block of the index); the one row per document of `records_fts_docsize` comes in
 * packed chunks instead ({@link FtsDocsizeChunk}).
 */
const FTS_COPIED_TABLES = ["data", "idx", "config"] as const;

const TABLES = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  first_seq INTEGER PRIMARY KEY, path TEXT NOT NULL, session TEXT NOT NULL,
  indexed_bytes INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  last_offset INTEGER NOT NULL, last_length INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY, type TEXT NOT NULL, session TEXT NOT NULL,
  received_at INTEGER NOT NULL, topic TEXT, sender TEXT, recipient TEXT, kind TEXT,
  bytes INTEGER NOT NULL, tokens INTEGER NOT NULL, preview TEXT,
  file_first_seq INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
  replay_of INTEGER);
${FTS_TABLE}
CREATE TABLE IF NOT EXISTS sessions (
  session TEXT PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, messages INTEGER NOT NULL,
  bytes INTEGER NOT NULL, tokens INTEGER NOT NULL, file_first_seq INTEGER);
CREATE TABLE IF NOT EXISTS session_agents (
  session TEXT NOT NULL, sender TEXT NOT NULL, messages INTEGER NOT NULL,
  PRIMARY KEY (session, sender)) WITHOUT ROWID;
`;

// Secondary indexes: a rebuild creates them after the bulk load (one sort each, several times
// cheaper than keeping five B-trees up to date row by row).
const INDEXES = `
CREATE INDEX IF NOT EXISTS records_time ON records (received_at);
CREATE INDEX IF NOT EXISTS records_sender_time ON records (sender, received_at);
CREATE INDEX IF NOT EXISTS records_topic_time ON records (topic, received_at);
CREATE INDEX IF NOT EXISTS records_session ON records (session, seq);
CREATE INDEX IF NOT EXISTS records_file ON records (file_first_seq, seq);
`;

const SCHEMA = TABLES + INDEXES;

/**
 * FTS5 settings while a rebuild loads: a 64 MiB pending-terms buffer (fewer, bigger level-0
 * segments), merges of 8 segments at a time, and no crisis merge before 64 segments; the
 * build ends with an `optimize` (one segment) and the defaults put back for the live indexer.
 */
const FTS_BULK_CONFIG: readonly [string, number][] = [
  ["hashsize", 64 * 1024 * 1024],
  ["automerge", 8],
  ["crisismerge", 64],
];
const FTS_DEFAULT_CONFIG: readonly [string, number][] = [
  ["hashsize", 1024 * 1024],
  ["automerge", 4],
  ["crisismerge", 16],
];

// Text that comes from messages is read back as bytes: SQLite keeps a string with a NUL whole,
// but node:sqlite returns TEXT values cut at the first NUL. {@link text} decodes them.
const HIT_COLUMNS = `r.seq, r.type, r.session, r.received_at, CAST(r.topic AS BLOB) AS topic,
  CAST(r.sender AS BLOB) AS sender, CAST(r.recipient AS BLOB) AS recipient,
  CAST(r.kind AS BLOB) AS kind, r.bytes, r.tokens, CAST(r.preview AS BLOB) AS preview,
  f.path AS file, r.offset, r.length, r.replay_of`;

/** Thrown for a full-text query SQLite cannot parse; exit code 2. */
export class BadQueryError extends PersistError {
  constructor(query: string, detail: string) {
    super(
      `Cannot search for ${JSON.stringify(query)}: ${detail} ` +
        `(use words, "quoted phrases", AND, OR, NOT, prefix*)`,
      { code: ErrorCode.badQuery, exitCode: 2 },
    );
    this.name = "BadQueryError";
  }
}

/**
 * True when an error says the disk (or SQLite's database) is full: a passing condition, never
 * a reason to set the index aside.
 *
 * @example
 * ```ts
 * if (isDiskFullError(error)) await sleep(backoffMs);
 * ```
 */
export function isDiskFullError(error: unknown): boolean {
  const message = (error as Error)?.message ?? "";
  return /database or disk is full|SQLITE_FULL|No space left|ENOSPC/i.test(message);
}

/** Thrown when index.db is not a usable index (corrupt, foreign, other schema version). */
export class IndexUnusableError extends PersistError {
  constructor(path: string, reason: string, cause?: unknown) {
    super(`Cannot use the index "${path}": ${reason}`, { code: ErrorCode.indexUnusable, cause });
    this.name = "IndexUnusableError";
  }
}

/**
 * The SQLite implementation of {@link MessageIndex}: WAL mode, one row per record, a contentless
 * FTS5 table over message content (the text stays in the log, so the index stays smaller than
 * it), and per-session aggregates kept up to date on every batch.
 *
 * @example
 * ```ts
 * const index = SqliteIndex.open("conversation_logs/metadata_index/index.db", { readOnly: true });
 * const hits = index.search({ text: "checkpoint", limit: 20 });
 * ```
 */
export class SqliteIndex implements MessageIndex {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  /** Set by a rebuild that loads the full-text index elsewhere (see {@link createForRebuild}). */
  #contentSink: ((seqs: number[], contents: string[]) => void) | undefined;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /**
   * Opens an index. A writer creates the schema when the file is new; a reader opens read-only
   * and never blocks the writer (WAL). Throws {@link IndexUnusableError} when the file is not a
   * usable index.
   */
  static open(path: string, options: { readOnly: boolean }): SqliteIndex {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { readOnly: options.readOnly });
    } catch (error) {
      if (isDiskFullError(error)) throw error;
      throw new IndexUnusableError(path, (error as Error).message, error);
    }
    const index = new SqliteIndex(path, db);
    try {
      index.#prepare(options.readOnly);
    } catch (error) {
      db.close();
      if (error instanceof IndexUnusableError || isDiskFullError(error)) throw error;
      throw new IndexUnusableError(path, (error as Error).message, error);
    }
    return index;
  }

  /**
   * Creates a new index file for a rebuild (`reindex`): no journal, no fsync, a large page
   * cache, the secondary indexes left for {@link finishRebuild}. The file is private to the
   * rebuild until it is renamed into place, so none of this is visible to readers; a crash
   * leaves a stray file that the next rebuild deletes. `path` must not exist.
   *
   * With `contentSink`, {@link applyBatch} hands each batch's full-text rows to it instead of
   * inserting them: another thread loads them into a file made by {@link createFtsForRebuild},
   * which {@link finishRebuild} copies in.
   */
  static createForRebuild(
    path: string,
    options: { contentSink?: (seqs: number[], contents: string[]) => void } = {},
  ): SqliteIndex {
    // Not defensive: finishRebuild writes the FTS5 shadow tables (copied from a twin table).
    const db = new DatabaseSync(path, { defensive: false } as RebuildDatabaseOptions);
    Deno.chmodSync(path, 0o600);
    const index = new SqliteIndex(path, db);
    index.#contentSink = options.contentSink;
    try {
      bulkPragmas(db);
      db.exec("BEGIN");
      db.exec(TABLES);
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(
        String(INDEX_SCHEMA_VERSION),
      );
      index.#configureFts(FTS_BULK_CONFIG);
      db.exec("COMMIT");
    } catch (error) {
      db.close();
      throw error;
    }
    return index;
  }

  /**
   * Creates a rebuild's secondary indexes, after the bulk load (sorting with a helper thread).
   * Part of {@link finishRebuild}; called on its own to overlap with the full-text thread's
   * final merge.
   */
  createRebuildIndexes(): void {
    this.#db.exec("PRAGMA threads = 2");
    this.#db.exec(INDEXES);
  }

  /**
   * Ends a rebuild started by {@link createForRebuild}: copies in the full-text index built in
   * `ftsPath` (when the content went to a sink) or merges its own into one segment, creates
   * the secondary indexes if {@link createRebuildIndexes} did not, puts the live FTS5 settings
   * back and switches the file to WAL, as {@link open} expects it. Closes the index.
   */
  finishRebuild(ftsPath?: string): void {
    this.#statements.clear();
    if (ftsPath !== undefined) {
      this.#copyFtsFrom(ftsPath);
    } else {
      this.#db.exec("INSERT INTO records_fts (records_fts) VALUES ('optimize')");
      this.#configureFts(FTS_DEFAULT_CONFIG);
    }
    this.createRebuildIndexes(); // IF NOT EXISTS: nothing to do when done already
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.close();
  }

  /**
   * Inserts one chunk of the twin full-text table's per-document rows (a rebuild, while its
   * full-text thread reads the next chunk).
   */
  addFtsDocsize(chunk: FtsDocsizeChunk): void {
    const insert = this.#statement(
      "INSERT INTO records_fts_docsize (id, sz, origin) VALUES (?, ?, ?)",
    );
    const { ids, origins, ends, sizes } = chunk;
    this.#db.exec("BEGIN");
    try {
      let start = 0;
      for (let i = 0; i < ids.length; i++) {
        insert.run(ids[i]!, sizes.subarray(start, ends[i]!), origins[i]!);
        start = ends[i]!;
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Replaces the rows of `records_fts`'s shadow tables (but `docsize`, see
   * {@link addFtsDocsize}) with those of the twin table in `ftsPath`, row by row (Deno allows
   * `ATTACH` only with every permission granted).
   */
  #copyFtsFrom(ftsPath: string): void {
    const source = new DatabaseSync(ftsPath, { readOnly: true });
    try {
      this.#db.exec("BEGIN");
      for (const table of FTS_COPIED_TABLES) {
        const name = `records_fts_${table}`;
        const columns = (source.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[])
          .map((column) => column.name);
        const read = source.prepare(`SELECT ${columns.join(", ")} FROM ${name}`);
        read.setReadBigInts(true); // FTS5 block ids can pass 2^53
        const write = this.#db.prepare(
          `INSERT INTO ${name} (${columns.join(", ")}) VALUES (${
            columns.map(() => "?").join(", ")
          })`,
        );
        this.#db.exec(`DELETE FROM ${name}`);
        for (const row of read.iterate() as Iterable<Record<string, SQLInputValue>>) {
          write.run(...columns.map((column) => row[column]!));
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    } finally {
      source.close();
    }
  }

  /**
   * Creates the twin full-text table of a rebuild in its own file, to be loaded by another
   * thread through the returned functions: `add` inserts one batch (in one transaction),
   * `finish` merges it into one segment, puts the live settings back and closes it.
   */
  static createFtsForRebuild(path: string): {
    add(seqs: readonly number[], contents: readonly string[]): void;
    finish(): void;
    docsize(rowsPerChunk: number): Iterable<FtsDocsizeChunk>;
    close(): void;
  } {
    const db = new DatabaseSync(path);
    Deno.chmodSync(path, 0o600);
    try {
      bulkPragmas(db);
      db.exec(FTS_TABLE);
      configureFts(db, FTS_BULK_CONFIG);
    } catch (error) {
      db.close();
      throw error;
    }
    const insert = db.prepare("INSERT INTO records_fts (rowid, content) VALUES (?, ?)");
    return {
      add(seqs, contents) {
        db.exec("BEGIN");
        try {
          for (let i = 0; i < seqs.length; i++) insert.run(seqs[i]!, contents[i]!);
          db.exec("COMMIT");
        } catch (error) {
          if (db.isTransaction) db.exec("ROLLBACK");
          throw error;
        }
      },
      finish() {
        db.exec("INSERT INTO records_fts (records_fts) VALUES ('optimize')");
        configureFts(db, FTS_DEFAULT_CONFIG);
      },
      *docsize(rowsPerChunk) {
        const read = db.prepare("SELECT id, sz, origin FROM records_fts_docsize ORDER BY id");
        // Rows as arrays: a third cheaper to read (node:sqlite has it; its types lag behind).
        (read as StatementSync & { setReturnArrays(enabled: boolean): void }).setReturnArrays(true);
        let rows: [number, Uint8Array, number][] = [];
        const pack = (): FtsDocsizeChunk => {
          const ids = new Float64Array(rows.length);
          const origins = new Float64Array(rows.length);
          const ends = new Uint32Array(rows.length);
          let bytes = 0;
          for (const row of rows) bytes += row[1].length;
          const sizes = new Uint8Array(bytes);
          let at = 0;
          rows.forEach(([id, sz, origin], i) => {
            ids[i] = id;
            origins[i] = origin;
            sizes.set(sz, at);
            at += sz.length;
            ends[i] = at;
          });
          rows = [];
          return { ids, origins, ends, sizes };
        };
        for (const row of read.iterate() as Iterable<[number, Uint8Array, number]>) {
          rows.push(row);
          if (rows.length >= rowsPerChunk) yield pack();
        }
        if (rows.length > 0) yield pack();
      },
      close() {
        if (db.isOpen) db.close();
      },
    };
  }

  #configureFts(settings: readonly [string, number][]): void {
    configureFts(this.#db, settings);
  }

  #prepare(readOnly: boolean): void {
    this.#db.exec("PRAGMA busy_timeout = 5000");
    if (readOnly) {
      this.#checkVersion();
      return;
    }
    this.#db.exec("PRAGMA journal_mode = WAL");
    // The index is derived from the fsynced log and rebuilt when damaged: no fsync needed here.
    this.#db.exec("PRAGMA synchronous = OFF");
    const existing = this.#db.prepare(
      "SELECT count(*) AS n FROM sqlite_master WHERE name = 'meta'",
    ).get() as { n: number };
    if (existing.n === 0) {
      this.#db.exec("BEGIN");
      this.#db.exec(SCHEMA);
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(
        String(INDEX_SCHEMA_VERSION),
      );
      this.#db.exec("COMMIT");
    }
    this.#checkVersion();
  }

  #checkVersion(): void {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    if (row?.value !== String(INDEX_SCHEMA_VERSION)) {
      throw new IndexUnusableError(
        this.path,
        `schema version ${row?.value ?? "missing"}, expected ${INDEX_SCHEMA_VERSION}`,
      );
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  files(): IndexedFile[] {
    const rows = this.#statement("SELECT * FROM files ORDER BY first_seq").all() as Record<
      string,
      number | string
    >[];
    return rows.map((row) => ({
      firstSeq: row.first_seq as number,
      path: row.path as string,
      session: row.session as string,
      indexedBytes: row.indexed_bytes as number,
      lastSeq: row.last_seq as number,
      lastOffset: row.last_offset as number,
      lastLength: row.last_length as number,
    }));
  }

  applyBatch(file: IndexedFile, entries: readonly PlacedEntry[]): void {
    const insertRecord = this.#statement(
      // Not INSERT OR REPLACE: with secondary indexes and FTS5 in the same transaction it cost
      // ~4x per row here; an upsert keeps re-indexing a record idempotent at plain-insert speed.
      `INSERT INTO records (seq, type, session, received_at, topic, sender, recipient,
        kind, bytes, tokens, preview, file_first_seq, offset, length, replay_of)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (seq) DO UPDATE SET type = excluded.type, session = excluded.session,
        received_at = excluded.received_at, topic = excluded.topic, sender = excluded.sender,
        recipient = excluded.recipient, kind = excluded.kind, bytes = excluded.bytes,
        tokens = excluded.tokens, preview = excluded.preview,
        file_first_seq = excluded.file_first_seq, offset = excluded.offset,
        length = excluded.length, replay_of = excluded.replay_of`,
    );
    const insertText = this.#statement("INSERT INTO records_fts (rowid, content) VALUES (?, ?)");
    const sink = this.#contentSink;
    const seqs: number[] = [];
    const contents: string[] = [];
    this.#db.exec("BEGIN");
    try {
      for (const entry of entries) {
        insertRecord.run(
          entry.seq,
          entry.type,
          entry.session,
          entry.receivedAtMs,
          entry.topic,
          entry.sender,
          entry.recipient,
          entry.kind,
          entry.bytes,
          entry.tokens,
          entry.preview,
          file.firstSeq,
          entry.offset,
          entry.length,
          entry.replayOf ?? null,
        );
        if (!entry.content) continue;
        if (sink) {
          seqs.push(entry.seq);
          contents.push(entry.content);
        } else {
          insertText.run(entry.seq, entry.content);
        }
      }
      this.#updateSessions(entries, file.firstSeq);
      this.#statement(
        `INSERT INTO files (first_seq, path, session, indexed_bytes, last_seq, last_offset,
          last_length) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (first_seq) DO UPDATE SET path = excluded.path,
          indexed_bytes = excluded.indexed_bytes, last_seq = excluded.last_seq,
          last_offset = excluded.last_offset, last_length = excluded.last_length`,
      ).run(
        file.firstSeq,
        file.path,
        file.session,
        file.indexedBytes,
        file.lastSeq,
        file.lastOffset,
        file.lastLength,
      );
      this.#db.exec("COMMIT");
    } catch (error) {
      // A COMMIT that fails on a full disk has already rolled back: a second ROLLBACK would
      // replace the real error with "cannot rollback - no transaction is active".
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
    if (sink && seqs.length > 0) sink(seqs, contents);
  }

  #updateSessions(entries: readonly PlacedEntry[], fileFirstSeq: number): void {
    const perSession = new Map<string, SessionDelta>();
    for (const entry of entries) {
      let delta = perSession.get(entry.session);
      if (!delta) {
        delta = {
          firstSeq: entry.seq,
          lastSeq: entry.seq,
          startedAt: entry.receivedAtMs,
          endedAt: entry.receivedAtMs,
          messages: 0,
          bytes: 0,
          tokens: 0,
          agents: new Map(),
        };
        perSession.set(entry.session, delta);
      }
      delta.lastSeq = Math.max(delta.lastSeq, entry.seq);
      delta.firstSeq = Math.min(delta.firstSeq, entry.seq);
      delta.startedAt = Math.min(delta.startedAt, entry.receivedAtMs);
      delta.endedAt = Math.max(delta.endedAt, entry.receivedAtMs);
      if (entry.type !== "message") continue;
      delta.messages++;
      delta.bytes += entry.bytes;
      delta.tokens += entry.tokens;
      if (entry.sender) delta.agents.set(entry.sender, (delta.agents.get(entry.sender) ?? 0) + 1);
    }
    const upsertSession = this.#statement(
      `INSERT INTO sessions (session, first_seq, last_seq, started_at, ended_at, messages, bytes,
        tokens, file_first_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session) DO UPDATE SET first_seq = min(first_seq, excluded.first_seq),
        last_seq = max(last_seq, excluded.last_seq),
        started_at = min(started_at, excluded.started_at),
        ended_at = max(ended_at, excluded.ended_at), messages = messages + excluded.messages,
        bytes = bytes + excluded.bytes, tokens = tokens + excluded.tokens,
        file_first_seq = excluded.file_first_seq`,
    );
    const upsertAgent = this.#statement(
      `INSERT INTO session_agents (session, sender, messages) VALUES (?, ?, ?)
       ON CONFLICT (session, sender) DO UPDATE SET messages = messages + excluded.messages`,
    );
    for (const [session, delta] of perSession) {
      upsertSession.run(
        session,
        delta.firstSeq,
        delta.lastSeq,
        delta.startedAt,
        delta.endedAt,
        delta.messages,
        delta.bytes,
        delta.tokens,
        fileFirstSeq,
      );
      for (const [sender, messages] of delta.agents) upsertAgent.run(session, sender, messages);
    }
  }

  renameFile(firstSeq: number, path: string): void {
    this.#statement("UPDATE files SET path = ? WHERE first_seq = ?").run(path, firstSeq);
  }

  dropFile(firstSeq: number): void {
    this.#db.exec("BEGIN");
    try {
      const sessions = this.#statement(
        "SELECT DISTINCT session FROM records WHERE file_first_seq = ?",
      ).all(firstSeq) as { session: string }[];
      this.#statement(
        "DELETE FROM records_fts WHERE rowid IN (SELECT seq FROM records WHERE file_first_seq = ?)",
      ).run(firstSeq);
      this.#statement("DELETE FROM records WHERE file_first_seq = ?").run(firstSeq);
      this.#statement("DELETE FROM files WHERE first_seq = ?").run(firstSeq);
      for (const { session } of sessions) this.#recomputeSession(session);
      this.#db.exec("COMMIT");
    } catch (error) {
      // A COMMIT that fails on a full disk has already rolled back: a second ROLLBACK would
      // replace the real error with "cannot rollback - no transaction is active".
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #recomputeSession(session: string): void {
    this.#statement("DELETE FROM sessions WHERE session = ?").run(session);
    this.#statement("DELETE FROM session_agents WHERE session = ?").run(session);
    this.#statement(
      `INSERT INTO sessions (session, first_seq, last_seq, started_at, ended_at, messages, bytes,
        tokens, file_first_seq)
       SELECT session, min(seq), max(seq), min(received_at), max(received_at),
        sum(type = 'message'), sum(CASE WHEN type = 'message' THEN bytes ELSE 0 END),
        sum(CASE WHEN type = 'message' THEN tokens ELSE 0 END), max(file_first_seq)
       FROM records WHERE session = ? GROUP BY session`,
    ).run(session);
    this.#statement(
      `INSERT INTO session_agents (session, sender, messages)
       SELECT session, sender, count(*) FROM records
       WHERE session = ? AND type = 'message' AND sender IS NOT NULL GROUP BY sender`,
    ).run(session);
  }

  search(request: SearchRequest): IndexHit[] {
    const { where, params } = filterClause(request, request.includeEvents ? undefined : "message");
    if (request.text !== undefined && request.text.trim() !== "") {
      const sql = `SELECT ${HIT_COLUMNS} FROM records_fts
        JOIN records r ON r.seq = records_fts.rowid
        JOIN files f ON f.first_seq = r.file_first_seq
        WHERE records_fts MATCH ? ${where.length ? "AND " + where.join(" AND ") : ""}
        ORDER BY records_fts.rowid DESC LIMIT ?`;
      try {
        return (this.#statement(sql).all(request.text, ...params, request.limit) as HitRow[])
          .map(hitOf);
      } catch (error) {
        const message = (error as Error).message;
        if (/fts5|syntax error|no such column|unterminated|unknown special query/i.test(message)) {
          throw new BadQueryError(request.text, message.replace(/^.*?fts5: /, ""));
        }
        throw error;
      }
    }
    const sql = `SELECT ${HIT_COLUMNS} FROM records r
      JOIN files f ON f.first_seq = r.file_first_seq
      ${where.length ? "WHERE " + where.join(" AND ") : ""}
      ORDER BY r.received_at DESC, r.seq DESC LIMIT ?`; // served by the (…, received_at) indexes
    return (this.#statement(sql).all(...params, request.limit) as HitRow[]).map(hitOf);
  }

  locate(seq: number): IndexHit | undefined {
    const row = this.#statement(
      `SELECT ${HIT_COLUMNS} FROM records r JOIN files f ON f.first_seq = r.file_first_seq
       WHERE r.seq = ?`,
    ).get(seq) as HitRow | undefined;
    return row ? hitOf(row) : undefined;
  }

  sessions(): SessionSummary[] {
    const rows = this.#statement(
      `SELECT s.*, f.path AS file FROM sessions s
       LEFT JOIN files f ON f.first_seq = s.file_first_seq ORDER BY s.first_seq`,
    ).all() as Record<string, number | string | null>[];
    const agents = this.#statement(
      `SELECT CAST(sender AS BLOB) AS sender FROM session_agents WHERE session = ?
       ORDER BY messages DESC, sender`,
    );
    return rows.map((row) => ({
      session: row.session as string,
      firstSeq: row.first_seq as number,
      lastSeq: row.last_seq as number,
      startedAtMs: row.started_at as number,
      endedAtMs: row.ended_at as number,
      messages: row.messages as number,
      bytes: row.bytes as number,
      tokens: row.tokens as number,
      agents: (agents.all(row.session as string) as { sender: Uint8Array }[]).map((agent) =>
        text(agent.sender)!
      ),
      file: (row.file as string | null) ?? null,
    }));
  }

  stats(filters: RecordFilters, top: number): IndexStats {
    const { where, params } = filterClause(filters, "message");
    const whereSql = `WHERE ${where.join(" AND ")}`;
    const group = (expression: string, order: string, limit: number): GroupCount[] =>
      (this.#db.prepare(
        `SELECT ${expression} AS key, CAST(${expression} AS BLOB) AS key_bytes,
          count(*) AS messages, sum(r.bytes) AS bytes, sum(r.tokens) AS tokens
         FROM records r ${whereSql}
         GROUP BY key ORDER BY ${order} LIMIT ?`,
      ).all(...params, limit) as HitRow[]).map((row) => ({
        key: row.key === null ? "(unknown)" : text(row.key_bytes)!,
        messages: row.messages as number,
        bytes: (row.bytes as number | null) ?? 0,
        tokens: (row.tokens as number | null) ?? 0,
      }));
    const totals = this.#db.prepare(
      `SELECT count(*) AS messages, coalesce(sum(r.bytes), 0) AS bytes,
        coalesce(sum(r.tokens), 0) AS tokens FROM records r ${whereSql}`,
    ).get(...params) as { messages: number; bytes: number; tokens: number };
    const byHour = group("(r.received_at / 3600000) * 3600000", "key DESC", 48)
      .map((row) => ({ ...row, key: new Date(Number(row.key)).toISOString() }))
      .reverse();
    const biggest = (this.#db.prepare(
      `SELECT ${HIT_COLUMNS} FROM records r JOIN files f ON f.first_seq = r.file_first_seq
       ${whereSql} ORDER BY r.bytes DESC, r.seq DESC LIMIT ?`,
    ).all(...params, top) as HitRow[]).map(hitOf);
    return {
      totals,
      bySender: group("r.sender", "messages DESC, key", top),
      byTopic: group("r.topic", "messages DESC, key", top),
      bySession: group("r.session", "key DESC", top),
      byHour,
      biggest,
    };
  }

  lastSeq(): number {
    const row = this.#statement("SELECT coalesce(max(seq), 0) AS seq FROM records").get() as {
      seq: number;
    };
    return row.seq;
  }

  count(): number {
    return (this.#statement("SELECT count(*) AS n FROM records").get() as { n: number }).n;
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}

/**
 * Rows of a full-text table's `docsize` shadow table, packed in typed arrays (sent between
 * threads without copying): document `i` is `ids[i]`, its column sizes
 * `sizes[ends[i - 1] ?? 0 .. ends[i]]`, its `origin` `origins[i]`.
 */
export interface FtsDocsizeChunk {
  readonly ids: Float64Array;
  readonly origins: Float64Array;
  readonly ends: Uint32Array;
  readonly sizes: Uint8Array;
}

/** node:sqlite's options, with the flag its type declarations do not know yet. */
type RebuildDatabaseOptions = ConstructorParameters<typeof DatabaseSync>[1] & {
  defensive?: boolean;
};

/** A rebuild's file is private until renamed into place: no journal, no fsync, big cache. */
function bulkPragmas(db: DatabaseSync): void {
  db.exec("PRAGMA journal_mode = OFF");
  db.exec("PRAGMA synchronous = OFF");
  db.exec("PRAGMA cache_size = -131072"); // 128 MiB
  db.exec("PRAGMA temp_store = MEMORY");
}

function configureFts(db: DatabaseSync, settings: readonly [string, number][]): void {
  // FTS5 takes the setting's name only as a literal, not as a bound parameter.
  for (const [name, value] of settings) {
    db.exec(`INSERT INTO records_fts (records_fts, rank) VALUES ('${name}', ${Math.trunc(value)})`);
  }
}

interface SessionDelta {
  firstSeq: number;
  lastSeq: number;
  startedAt: number;
  endedAt: number;
  messages: number;
  bytes: number;
  tokens: number;
  agents: Map<string, number>;
}

type HitRow = Record<string, number | string | Uint8Array | null>;

const utf8 = new TextDecoder();

/** A text column read as `CAST(… AS BLOB)`, decoded whole (NULs included). */
function text(value: number | string | Uint8Array | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Uint8Array ? utf8.decode(value) : String(value);
}

function hitOf(row: HitRow): IndexHit {
  return {
    seq: row.seq as number,
    type: row.type as string,
    session: row.session as string,
    receivedAtMs: row.received_at as number,
    topic: text(row.topic),
    sender: text(row.sender),
    recipient: text(row.recipient),
    kind: text(row.kind),
    bytes: row.bytes as number,
    tokens: row.tokens as number,
    preview: text(row.preview),
    file: row.file as string,
    offset: row.offset as number,
    length: row.length as number,
    // Only on replays, so hits of ordinary messages keep their shape.
    ...(typeof row.replay_of === "number" ? { replayOf: row.replay_of } : {}),
  };
}

function filterClause(
  filters: RecordFilters,
  type: string | undefined,
): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (type !== undefined) {
    where.push("r.type = ?");
    params.push(type);
  }
  const equal: ["sender" | "topic" | "session" | "kind", string][] = [
    ["sender", "r.sender"],
    ["topic", "r.topic"],
    ["session", "r.session"],
    ["kind", "r.kind"],
  ];
  for (const [key, column] of equal) {
    const value = filters[key];
    if (value !== undefined) {
      where.push(`${column} = ?`);
      params.push(value);
    }
  }
  if (filters.sinceMs !== undefined) {
    where.push("r.received_at >= ?");
    params.push(filters.sinceMs);
  }
  if (filters.untilMs !== undefined) {
    where.push("r.received_at <= ?");
    params.push(filters.untilMs);
  }
  // A replayed message repeats conversation already recorded: hidden unless asked for.
  if (filters.includeReplays !== true) where.push("r.replay_of IS NULL");
  if (where.length === 0) where.push("1 = 1");
  return { where, params };
}
