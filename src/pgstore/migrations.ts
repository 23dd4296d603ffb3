/**
 * The store's schema, as ordered, versioned migrations run by the tool (`store migrate`, and at
 * the start of the daemon's shipper and `ship` when the role may), plus the monthly partitions of
 * `shearwater.records`. Every migration runs in one transaction under an advisory lock, so two
 * machines migrating at once apply each version once.
 *
 * @module
 */
import { ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { openStore, type OpenStoreOptions, type PgStore, type Sql } from "./connection.ts";

/** One schema change. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Key of the advisory lock migrations and partition creation hold (any stable number). */
const MIGRATION_LOCK_KEY = 0x5eab_a7e5;

/** Months of partitions created ahead of the current one by {@link migrate}. */
export const PARTITION_MONTHS_AHEAD = 12;

/** The migrations, oldest first. Never edit a released one: add the next version. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    description: "records (partitioned by month), origins, blobs, segments, checkpoints",
    sql: `
CREATE TABLE shearwater.origins (
  origin text PRIMARY KEY,
  hostname text,
  data_dir text,
  first_shipped_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shearwater.records (
  origin      text        NOT NULL,
  seq         bigint      NOT NULL,
  received_at timestamptz NOT NULL,
  session     text,
  type        text        NOT NULL,
  topic       text,
  sender      text,
  line        text        NOT NULL,
  search_text text        NOT NULL DEFAULT '',
  search      tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
  PRIMARY KEY (origin, seq, received_at)
) PARTITION BY RANGE (received_at);
CREATE INDEX records_search_gin ON shearwater.records USING gin (search);
CREATE INDEX records_time ON shearwater.records (received_at);
CREATE INDEX records_session ON shearwater.records (origin, session, seq);
CREATE INDEX records_sender_time ON shearwater.records (sender, received_at);
CREATE TABLE shearwater.blobs (sha256 text PRIMARY KEY, data bytea NOT NULL);
CREATE TABLE shearwater.segments (sha256 text PRIMARY KEY, data bytea NOT NULL);
CREATE TABLE shearwater.checkpoints (
  origin text NOT NULL,
  id text NOT NULL,
  manifest jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  pushed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (origin, id)
);`,
  },
  {
    version: 2,
    description: "records: the filter columns of the local index; checkpoint manifests as json",
    // The reading commands filter and count by these as the SQLite index does (reading them out
    // of each line would parse JSON on every candidate row). A manifest's checksum is over its
    // JSON text in its own key order: jsonb reorders keys (and refuses \u0000), json keeps the
    // text byte for byte.
    sql: `
ALTER TABLE shearwater.records
  ADD COLUMN recipient text,
  ADD COLUMN kind text,
  ADD COLUMN replay_of bigint,
  ADD COLUMN bytes bigint NOT NULL DEFAULT 0,
  ADD COLUMN tokens bigint NOT NULL DEFAULT 0;
CREATE INDEX records_topic_time ON shearwater.records (topic, received_at);
ALTER TABLE shearwater.checkpoints ALTER COLUMN manifest TYPE json USING manifest::json;`,
  },
]);

/** The schema version this program needs (the newest migration). */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * The store's schema version: the highest applied migration, 0 when the schema does not exist
 * yet.
 */
export async function schemaVersion(store: PgStore): Promise<number> {
  try {
    const [row] = await store.sql<{ exists: boolean }[]>`
      SELECT to_regclass('shearwater.schema_migrations') IS NOT NULL AS exists`;
    if (!row?.exists) return 0;
    const [max] = await store.sql<{ version: number | null }[]>`
      SELECT max(version) AS version FROM shearwater.schema_migrations`;
    return max?.version ?? 0;
  } catch (error) {
    throw store.fail(error, `Cannot read the schema version of ${store.redactedUrl}`);
  }
}

/** What {@link migrate} did. */
export interface MigrateResult {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly Migration[];
  /** Partitions created (`records_YYYY_MM`). */
  readonly partitionsCreated: readonly string[];
}

/**
 * Applies the migrations the store lacks, each in the transaction that records it in
 * `shearwater.schema_migrations`, under an advisory lock; then makes sure the partitions of the
 * current month and {@link PARTITION_MONTHS_AHEAD} ahead exist (and of `extraMonths`, e.g. the
 * months a data dir holds). A role that may not create tables gets a `store_schema_outdated`
 * error naming `store migrate`.
 *
 * @example
 * ```ts
 * const result = await migrate(store);
 * console.log(`schema ${result.from} -> ${result.to}`);
 * ```
 */
export async function migrate(
  store: PgStore,
  options: { now?: Date; extraMonths?: readonly string[] } = {},
): Promise<MigrateResult> {
  const from = await schemaVersion(store);
  const applied: Migration[] = [];
  try {
    if (from < LATEST_SCHEMA_VERSION) {
      await store.sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
        await tx`CREATE SCHEMA IF NOT EXISTS shearwater`;
        await tx`CREATE TABLE IF NOT EXISTS shearwater.schema_migrations (
          version int PRIMARY KEY, description text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now())`;
        const [row] = await tx<{ version: number | null }[]>`
          SELECT max(version) AS version FROM shearwater.schema_migrations`;
        const current = row?.version ?? 0;
        for (const migration of MIGRATIONS) {
          if (migration.version <= current) continue;
          await tx.unsafe(migration.sql);
          await tx`INSERT INTO shearwater.schema_migrations (version, description)
            VALUES (${migration.version}, ${migration.description})`;
          applied.push(migration);
        }
      });
    }
  } catch (error) {
    if (isPermissionError(error)) throw outdatedError(store, from);
    throw store.fail(error, `Cannot migrate the store ${store.redactedUrl}`);
  }
  const months = new Set(options.extraMonths ?? []);
  const now = options.now ?? new Date();
  for (let ahead = 0; ahead <= PARTITION_MONTHS_AHEAD; ahead++) {
    months.add(monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1))));
  }
  const partitionsCreated = await ensurePartitions(store, [...months]);
  return { from, to: await schemaVersion(store), applied, partitionsCreated };
}

/**
 * Makes sure the store's schema is current before the shipper or `ship` writes: migrates when it
 * is older and the role may; a store newer than this program is used as is (migrations only add).
 * Throws `store_schema_outdated` (naming `store migrate`) when it is older and the role may not.
 */
export async function ensureSchema(store: PgStore): Promise<number> {
  const version = await schemaVersion(store);
  if (version >= LATEST_SCHEMA_VERSION) return version;
  return (await migrate(store)).to;
}

/**
 * A store whose schema is older than this program, for commands that only read: a
 * `store_schema_outdated` error naming `store migrate`, or undefined when it is current.
 */
export async function checkSchemaCurrent(store: PgStore): Promise<PersistError | undefined> {
  const version = await schemaVersion(store);
  return version >= LATEST_SCHEMA_VERSION ? undefined : outdatedError(store, version);
}

/**
 * Opens the store for commands that only read or add (no migration): one whose schema is
 * older than this program throws `store_schema_outdated` naming `store migrate`, closed.
 */
export async function openCurrentStore(
  url: string,
  options: OpenStoreOptions = {},
): Promise<PgStore> {
  const store = await openStore(url, options);
  try {
    const outdated = await checkSchemaCurrent(store);
    if (outdated) throw outdated;
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** `YYYY-MM` of a date (UTC). */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** `records_YYYY_MM`: the partition holding the month `YYYY-MM`. */
export function partitionName(month: string): string {
  checkMonth(month);
  return `records_${month.replace("-", "_")}`;
}

/** Throws unless `month` is `YYYY-MM` with a month 01–12. */
export function checkMonth(month: string): void {
  if (!/^[0-9]{4}-(0[1-9]|1[0-2])$/.test(month)) {
    throw new PersistError(`Invalid month "${month}": use YYYY-MM, e.g. 2026-11`, {
      code: ErrorCode.usage,
      exitCode: ExitCode.usage,
    });
  }
}

/** The month partitions of `shearwater.records` that exist, as `YYYY-MM`, oldest first. */
export async function listPartitions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE n.nspname = 'shearwater' AND p.relname = 'records'`;
  return rows.map((row) => row.name)
    .filter((name) => /^records_[0-9]{4}_[0-9]{2}$/.test(name))
    .map((name) => name.slice("records_".length).replace("_", "-"))
    .sort();
}

/**
 * Creates the month partitions of `months` (`YYYY-MM`) that are missing, under the migration
 * lock; returns the names created. A role that may not create them gets a `store_failed` error
 * naming `store migrate`.
 */
export async function ensurePartitions(
  store: PgStore,
  months: readonly string[],
): Promise<string[]> {
  const { sql, redactedUrl } = store;
  for (const month of months) checkMonth(month);
  const existing = new Set(await listPartitions(sql));
  const missing = [...new Set(months)].filter((month) => !existing.has(month)).sort();
  if (missing.length === 0) return [];
  const created: string[] = [];
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      const present = new Set(await listPartitions(tx as unknown as Sql));
      for (const month of missing) {
        if (present.has(month)) continue;
        const [year, monthNumber] = month.split("-").map(Number) as [number, number];
        const start = new Date(Date.UTC(year, monthNumber - 1, 1)).toISOString();
        const end = new Date(Date.UTC(year, monthNumber, 1)).toISOString();
        // Identifiers and bounds come from checkMonth-validated digits only.
        await tx.unsafe(
          `CREATE TABLE shearwater.${partitionName(month)} PARTITION OF shearwater.records ` +
            `FOR VALUES FROM ('${start}') TO ('${end}')`,
        );
        created.push(partitionName(month));
      }
    });
  } catch (error) {
    if (isPermissionError(error)) {
      throw new PersistError(
        `Cannot create the partitions ${missing.join(", ")} of ${redactedUrl}: the role may not; ` +
          "run `shearwater-persist store migrate` as the schema's owner",
        { code: ErrorCode.storeFailed, exitCode: ExitCode.failure, cause: error },
      );
    }
    throw store.fail(error, `Cannot create partitions in ${redactedUrl}`);
  }
  return created;
}

/** True for PostgreSQL's insufficient_privilege (and "must be owner"). */
export function isPermissionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "42501";
}

function outdatedError(store: PgStore, version: number): PersistError {
  return new PersistError(
    `Run \`shearwater-persist store migrate\` as the schema's owner: the store ${store.redactedUrl} ` +
      `has schema version ${version}, this program needs ${LATEST_SCHEMA_VERSION}, and this role ` +
      "may not migrate it",
    { code: ErrorCode.storeSchemaOutdated, exitCode: ExitCode.failure },
  );
}
