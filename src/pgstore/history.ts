/**
 * The shared store's side of {@link HistoryReader}: reads `shearwater.records` (every origin, or
 * one), decodes each stored `line` with the same checks as a local log line, and derives hits
 * with the same {@link indexEntryOf} the local index uses, so the commands print the same thing
 * whichever source they read.
 *
 * @module
 */
import { indexEntryOf } from "../enrich/index_entry.ts";
import { DamagedDataError, ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { blobRefsInLine, ensureBlobDirSync, writeBlobSync } from "../store/blob_store.ts";
import type {
  HistoryFilters,
  HistoryHit,
  HistoryReader,
  HistoryRecord,
  HistorySession,
} from "../store/history_reader.ts";
import type { GroupCount, IndexStats, SearchRequest } from "../store/message_index.ts";
import { checkRecordLine, type LineCheck } from "../store/record.ts";
import { toTsquery } from "./search_query.ts";

/** One row as the driver returns it. */
export type Row = Record<string, unknown>;

/** Runs one parameterized statement and returns its rows (the driver behind it is not known here). */
export type QueryRunner = (text: string, params?: readonly unknown[]) => Promise<Row[]>;

const encoder = new TextEncoder();

/** The columns a hit is made from: the line, and the indexed columns should it fail its check. */
const LINE_COLUMNS = `r.origin, r.seq, r.session, r.type, r.topic, r.sender, r.recipient,
  r.kind, r.bytes, r.tokens, r.replay_of,
  (extract(epoch FROM r.received_at) * 1000)::bigint AS received_ms, r.line`;

/**
 * Reads the shared history through `query`. `close` runs when the reader closes (to end the
 * connection); a temp folder for fetched blobs is removed then too.
 */
export class PgHistoryReader implements HistoryReader {
  readonly kind = "store" as const;
  readonly #query: QueryRunner;
  readonly #close: () => Promise<void>;
  #blobDir: string | undefined;

  constructor(query: QueryRunner, close: () => Promise<void>) {
    this.#query = query;
    this.#close = close;
  }

  async search(request: SearchRequest & HistoryFilters): Promise<HistoryHit[]> {
    const where = new Where();
    if (request.text !== undefined && request.text.trim() !== "") {
      where.add("r.search @@ to_tsquery('simple', ?)", toTsquery(request.text));
    }
    addFilters(where, request, request.includeEvents ? undefined : "message");
    const rows = await this.#query(
      `SELECT ${LINE_COLUMNS} FROM shearwater.records r ${where.sql()}
       ORDER BY r.received_at DESC, r.origin DESC, r.seq DESC LIMIT ${where.next()}`,
      [...where.params, request.limit],
    );
    return rows.map(hitOfRow);
  }

  checkLines(hits: readonly HistoryHit[]): Promise<LineCheck[]> {
    return Promise.resolve(hits.map((hit) => checkStoredLine(hit)));
  }

  async locate(seq: number, filters: HistoryFilters = {}): Promise<HistoryHit[]> {
    const where = new Where();
    where.add("r.seq = ?", seq);
    if (filters.origin !== undefined) where.add("r.origin = ?", filters.origin);
    const rows = await this.#query(
      `SELECT ${LINE_COLUMNS} FROM shearwater.records r ${where.sql()} ORDER BY r.origin`,
      where.params,
    );
    return rows.map(hitOfRow);
  }

  readRecord(hit: HistoryHit): Promise<HistoryRecord> {
    const check = checkStoredLine(hit);
    if (!check.ok) {
      return Promise.reject(
        new DamagedDataError(
          `Cannot read record ${hit.seq} of origin ${hit.origin} from the shared store: ` +
            check.reason,
        ),
      );
    }
    return Promise.resolve({ record: check.record, line: lineBytes(hit), origin: hit.origin });
  }

  readBytes(hit: HistoryHit): Promise<Uint8Array> {
    return Promise.resolve(lineBytes(hit));
  }

  describeStorage(hit: HistoryHit): string {
    return `shared store, origin ${hit.origin} (${hit.length} bytes)`;
  }

  async lastSeq(filters: HistoryFilters = {}): Promise<number> {
    const where = new Where();
    if (filters.origin !== undefined) where.add("r.origin = ?", filters.origin);
    const rows = await this.#query(
      `SELECT coalesce(max(r.seq), 0) AS seq FROM shearwater.records r ${where.sql()}`,
      where.params,
    );
    return Number(rows[0]?.seq ?? 0);
  }

  async sessions(filters: HistoryFilters = {}): Promise<HistorySession[]> {
    const where = new Where();
    if (filters.origin !== undefined) where.add("r.origin = ?", filters.origin);
    const rows = await this.#query(
      `SELECT r.origin, r.session, min(r.seq) AS first_seq, max(r.seq) AS last_seq,
         (extract(epoch FROM min(r.received_at)) * 1000)::bigint AS started_ms,
         (extract(epoch FROM max(r.received_at)) * 1000)::bigint AS ended_ms,
         count(*) FILTER (WHERE r.type = 'message') AS messages,
         coalesce(sum(r.bytes) FILTER (WHERE r.type = 'message'), 0) AS bytes,
         coalesce(sum(r.tokens) FILTER (WHERE r.type = 'message'), 0) AS tokens,
         coalesce((SELECT array_agg(a.sender ORDER BY a.n DESC, a.sender) FROM (
           SELECT s.sender, count(*) AS n FROM shearwater.records s
           WHERE s.origin = r.origin AND s.session = r.session AND s.type = 'message'
             AND s.sender IS NOT NULL GROUP BY s.sender) a), '{}') AS agents
       FROM shearwater.records r ${where.sql()}
       GROUP BY r.origin, r.session ORDER BY started_ms, r.origin`,
      where.params,
    );
    return rows.map((row) => ({
      origin: String(row.origin),
      session: String(row.session ?? ""),
      firstSeq: Number(row.first_seq),
      lastSeq: Number(row.last_seq),
      startedAtMs: Number(row.started_ms),
      endedAtMs: Number(row.ended_ms),
      messages: Number(row.messages),
      bytes: Number(row.bytes),
      tokens: Number(row.tokens),
      agents: (row.agents as string[] | null) ?? [],
      file: null,
    }));
  }

  async stats(filters: HistoryFilters, top: number): Promise<IndexStats> {
    const where = new Where();
    addFilters(where, filters, "message");
    // Ordered as SQLite orders: text by its bytes (COLLATE "C"), NULL below every value.
    const group = async (expression: string, order: "messages" | "key DESC", limit: number) =>
      (await this.#query(
        `SELECT ${expression} AS key, count(*) AS messages, coalesce(sum(r.bytes), 0) AS bytes,
           coalesce(sum(r.tokens), 0) AS tokens
         FROM shearwater.records r ${where.sql()} GROUP BY 1
         ORDER BY ${
          order === "messages"
            ? `messages DESC, ${expression} COLLATE "C" NULLS FIRST`
            : `${expression} DESC NULLS LAST`
        }
         LIMIT ${where.next()}`,
        [...where.params, limit],
      )).map((row): GroupCount => ({
        key: row.key === null ? "(unknown)" : asIndexed(String(row.key))!,
        messages: Number(row.messages),
        bytes: Number(row.bytes),
        tokens: Number(row.tokens),
      }));
    const [totals] = await this.#query(
      `SELECT count(*) AS messages, coalesce(sum(r.bytes), 0) AS bytes,
         coalesce(sum(r.tokens), 0) AS tokens FROM shearwater.records r ${where.sql()}`,
      where.params,
    );
    const byHour = (await group(
      "(floor(extract(epoch FROM r.received_at) / 3600) * 3600000)::bigint",
      "key DESC",
      48,
    )).map((row) => ({ ...row, key: new Date(Number(row.key)).toISOString() })).reverse();
    const biggest = (await this.#query(
      `SELECT ${LINE_COLUMNS} FROM shearwater.records r ${where.sql()}
       ORDER BY r.bytes DESC, r.seq DESC LIMIT ${where.next()}`,
      [...where.params, top],
    )).map(hitOfRow);
    return {
      totals: {
        messages: Number(totals?.messages ?? 0),
        bytes: Number(totals?.bytes ?? 0),
        tokens: Number(totals?.tokens ?? 0),
      },
      bySender: await group("r.sender", "messages", top),
      byTopic: await group("r.topic", "messages", top),
      bySession: await group('r.session COLLATE "C"', "key DESC", top),
      byHour,
      biggest,
    };
  }

  /**
   * Every record of one session (of one origin when filtered), oldest first by origin and seq;
   * throws a PersistError (`session_not_found`, exit 1) when the store holds none.
   */
  async sessionRecords(session: string, filters: HistoryFilters = {}): Promise<HistoryRecord[]> {
    const where = new Where();
    where.add("r.session = ?", session);
    if (filters.origin !== undefined) where.add("r.origin = ?", filters.origin);
    const rows = await this.#query(
      `SELECT ${LINE_COLUMNS} FROM shearwater.records r ${where.sql()}
       ORDER BY r.origin, r.seq`,
      where.params,
    );
    if (rows.length === 0) {
      throw new PersistError(
        `Cannot find session "${session}" in the shared store: see "shearwater-persist ` +
          `sessions --store …"`,
        { code: ErrorCode.sessionNotFound, exitCode: ExitCode.failure },
      );
    }
    return rows.map(hitOfRow).map((hit) => {
      const check = checkStoredLine(hit);
      if (!check.ok) {
        throw new DamagedDataError(
          `Cannot read session "${session}": record ${hit.seq} of origin ${hit.origin} in the ` +
            `shared store failed verification: ${check.reason}`,
        );
      }
      return { record: check.record, line: lineBytes(hit), origin: hit.origin };
    });
  }

  async blobDirFor(records: readonly { line: Uint8Array }[]): Promise<string> {
    const wanted = new Map<string, number>();
    for (const { line } of records) {
      for (const ref of blobRefsInLine(line)) wanted.set(ref.sha256, ref.bytes);
    }
    this.#blobDir ??= await Deno.makeTempDir({ prefix: "shearwater-blobs-" });
    if (wanted.size === 0) return this.#blobDir;
    ensureBlobDirSync(this.#blobDir);
    const rows = await this.#query(
      "SELECT sha256, data FROM shearwater.blobs WHERE sha256 = ANY($1::text[])",
      [[...wanted.keys()]],
    );
    for (const row of rows) {
      // Written under its hash; the decoder checks size and hash when it reads it.
      writeBlobSync(this.#blobDir, String(row.sha256), row.data as Uint8Array);
    }
    return this.#blobDir;
  }

  async close(): Promise<void> {
    try {
      if (this.#blobDir !== undefined) await Deno.remove(this.#blobDir, { recursive: true });
    } finally {
      await this.#close();
    }
  }
}

/** A hit with the row's line kept alongside (not part of the printed hit). */
const LINES = new WeakMap<HistoryHit, string>();

/** The stored line (kept without its newline) as the log holds it: newline included. */
function lineBytes(hit: HistoryHit): Uint8Array {
  return encoder.encode(`${LINES.get(hit) ?? ""}\n`);
}

function checkStoredLine(hit: HistoryHit): LineCheck {
  const check = checkRecordLine(lineBytes(hit));
  if (!check.ok) return check;
  if (check.record.seq !== hit.seq) {
    return { ok: false, reason: `the stored line holds seq ${check.record.seq}` };
  }
  return check;
}

/** A hit from a row: from its verified line (as a local hit is), else from its columns. */
function hitOfRow(row: Row): HistoryHit {
  const line = String(row.line);
  const bytes = encoder.encode(`${line}\n`);
  const check = checkRecordLine(bytes);
  const place = { file: "", offset: 0, length: bytes.length, origin: String(row.origin) };
  let hit: HistoryHit;
  if (check.ok && check.record.seq === Number(row.seq)) {
    const { content: _content, replayOf, ...entry } = indexEntryOf(check.record);
    hit = {
      ...entry,
      topic: asIndexed(entry.topic),
      sender: asIndexed(entry.sender),
      recipient: asIndexed(entry.recipient),
      kind: asIndexed(entry.kind),
      preview: asIndexed(entry.preview),
      ...(typeof replayOf === "number" ? { replayOf } : {}),
      ...place,
    };
  } else {
    hit = {
      seq: Number(row.seq),
      type: String(row.type),
      session: String(row.session ?? ""),
      receivedAtMs: Number(row.received_ms),
      topic: nullableText(row.topic),
      sender: nullableText(row.sender),
      recipient: nullableText(row.recipient),
      kind: nullableText(row.kind),
      bytes: Number(row.bytes ?? 0),
      tokens: Number(row.tokens ?? 0),
      preview: null,
      ...(row.replay_of === null || row.replay_of === undefined
        ? {}
        : { replayOf: Number(row.replay_of) }),
      ...place,
    };
  }
  LINES.set(hit, line);
  return hit;
}

/**
 * A text field as the local index gives it back: SQLite returns it as bytes, decoded by a
 * TextDecoder that drops a leading byte order mark. The same here, so hits print the same.
 */
function asIndexed(text: string | null): string | null {
  return text !== null && text.startsWith("\ufeff") ? text.slice(1) : text;
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** A WHERE clause built with numbered parameters (`?` becomes `$n`). */
class Where {
  readonly conditions: string[] = [];
  readonly params: unknown[] = [];

  add(condition: string, value: unknown): void {
    this.params.push(value);
    this.conditions.push(condition.replace("?", `$${this.params.length}`));
  }

  sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(" AND ")}` : "";
  }

  /** The placeholder of the parameter after these (for LIMIT). */
  next(): string {
    return `$${this.params.length + 1}`;
  }
}

function addFilters(where: Where, filters: HistoryFilters, type: string | undefined): void {
  if (type !== undefined) where.add("r.type = ?", type);
  if (filters.origin !== undefined) where.add("r.origin = ?", filters.origin);
  if (filters.sender !== undefined) where.add("r.sender = ?", filters.sender);
  if (filters.topic !== undefined) where.add("r.topic = ?", filters.topic);
  if (filters.session !== undefined) where.add("r.session = ?", filters.session);
  if (filters.kind !== undefined) where.add("r.kind = ?", filters.kind);
  if (filters.sinceMs !== undefined) {
    where.add("r.received_at >= to_timestamp(?::double precision / 1000)", filters.sinceMs);
  }
  if (filters.untilMs !== undefined) {
    where.add("r.received_at <= to_timestamp(?::double precision / 1000)", filters.untilMs);
  }
  // A replayed message repeats conversation already recorded: hidden unless asked for.
  if (filters.includeReplays !== true) where.conditions.push("r.replay_of IS NULL");
}
