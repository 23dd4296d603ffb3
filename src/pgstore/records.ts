/**
 * Records in the shared store: the rows the shipper writes (`insertRecords`, idempotent on
 * (origin, seq)), the blobs they point to, the origin registry, and how far an origin has
 * shipped. Queries for the reading commands live beside these.
 *
 * @module
 */
import { indexEntryOf } from "../enrich/index_entry.ts";
import type { LogRecord } from "../store/record.ts";
import type { PgStore, Sql } from "./connection.ts";
import { searchTextOf } from "./search_query.ts";

/** One record as a row of `shearwater.records` (without its origin). */
export interface ShipRow {
  readonly seq: number;
  /** ISO time; the partition key. */
  readonly receivedAt: string;
  readonly session: string | null;
  readonly type: string;
  readonly topic: string | null;
  readonly sender: string | null;
  /** The log line exactly as stored, CRC included, without its newline. */
  readonly line: string;
  /**
   * The words the SQLite index searches (`indexEntryOf(...).content`, tokenized as FTS5's
   * unicode61 does: {@link searchTextOf}), or "" for events.
   */
  readonly searchText: string;
  /** The local index's filter columns, from the same {@link indexEntryOf}. */
  readonly recipient: string | null;
  readonly kind: string | null;
  readonly replayOf: number | null;
  readonly bytes: number;
  readonly tokens: number;
}

/**
 * The row of a verified log record whose line text (without newline) is `line`. PostgreSQL text
 * cannot hold NUL, so NUL in the searchable fields becomes a space (the line keeps it, escaped
 * as JSON does).
 */
export function shipRowOf(record: LogRecord, line: string): ShipRow {
  const entry = indexEntryOf(record);
  return {
    seq: record.seq,
    receivedAt: new Date(entry.receivedAtMs).toISOString(),
    session: withoutNul(record.session),
    type: withoutNul(record.type) ?? "",
    topic: withoutNul(entry.topic),
    sender: withoutNul(entry.sender),
    line,
    searchText: searchTextOf(entry.content),
    recipient: withoutNul(entry.recipient),
    kind: withoutNul(entry.kind),
    replayOf: entry.replayOf ?? null,
    bytes: entry.bytes,
    tokens: entry.tokens,
  };
}

function withoutNul(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  return text.includes("\u0000") ? text.replaceAll("\u0000", " ") : text;
}

/**
 * Inserts `rows` of `origin` in one statement (arrays unnested: fourteen parameters whatever the
 * batch size); rows already there (same origin and seq) are skipped. Returns how many were new.
 * The partitions of the rows' months must exist ({@link ensurePartitions}).
 *
 * @example
 * ```ts
 * const added = await insertRecords(store.sql, origin, rows);
 * ```
 */
export async function insertRecords(
  sql: Sql,
  origin: string,
  rows: readonly ShipRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await sql`
    INSERT INTO shearwater.records
      (origin, seq, received_at, session, type, topic, sender, line, search_text, recipient,
       kind, replay_of, bytes, tokens)
    SELECT ${origin}, * FROM unnest(
      ${rows.map((row) => row.seq)}::bigint[],
      ${rows.map((row) => row.receivedAt)}::timestamptz[],
      ${rows.map((row) => row.session)}::text[],
      ${rows.map((row) => row.type)}::text[],
      ${rows.map((row) => row.topic)}::text[],
      ${rows.map((row) => row.sender)}::text[],
      ${rows.map((row) => row.line)}::text[],
      ${rows.map((row) => row.searchText)}::text[],
      ${rows.map((row) => row.recipient)}::text[],
      ${rows.map((row) => row.kind)}::text[],
      ${rows.map((row) => row.replayOf)}::bigint[],
      ${rows.map((row) => row.bytes)}::bigint[],
      ${rows.map((row) => row.tokens)}::bigint[])
    ON CONFLICT DO NOTHING`;
  return result.count;
}

/**
 * Stores blobs not yet in `shearwater.blobs` (content-addressed: a blob shipped by any origin is
 * not sent again). `read` is called only for the missing ones (undefined: skip it). Returns how
 * many were sent.
 */
export async function insertBlobs(
  sql: Sql,
  hashes: readonly string[],
  read: (sha256: string) => Uint8Array | undefined,
): Promise<number> {
  const unique = [...new Set(hashes)];
  if (unique.length === 0) return 0;
  const present = new Set(
    (await sql<{ sha256: string }[]>`
      SELECT sha256 FROM shearwater.blobs WHERE sha256 = ANY(${unique}::text[])`)
      .map((row) => row.sha256),
  );
  let sent = 0;
  for (const sha256 of unique) {
    if (present.has(sha256)) continue;
    // One at a time: a blob can be large, and memory holds one.
    const data = read(sha256);
    if (data === undefined) continue;
    await sql`INSERT INTO shearwater.blobs (sha256, data) VALUES (${sha256}, ${data})
      ON CONFLICT DO NOTHING`;
    sent++;
  }
  return sent;
}

/** Records `origin` in `shearwater.origins` once (hostname and data dir for people reading). */
export async function registerOrigin(
  store: PgStore,
  origin: string,
  details: { hostname: string; dataDir: string },
): Promise<void> {
  await store.sql`
    INSERT INTO shearwater.origins (origin, hostname, data_dir)
    VALUES (${origin}, ${details.hostname}, ${details.dataDir})
    ON CONFLICT DO NOTHING`;
}

/** The highest seq the store holds for `origin` (0 when none): where shipping resumes. */
export async function shippedSeq(sql: Sql, origin: string): Promise<number> {
  const [row] = await sql<{ seq: string | null }[]>`
    SELECT max(seq)::text AS seq FROM shearwater.records WHERE origin = ${origin}`;
  return row?.seq ? Number(row.seq) : 0;
}
