import { ErrorCode, ExitCode, PersistError, UsageError } from "../errors.ts";
import { openStore, type PgStore } from "../pgstore/connection.ts";
import {
  checkMonth,
  LATEST_SCHEMA_VERSION,
  listPartitions,
  migrate,
  partitionName,
  schemaVersion,
} from "../pgstore/migrations.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { confirmChange } from "./confirm.ts";
import { printJson, printLine } from "./output.ts";
import { formatBytes, formatCount } from "./render.ts";
import { STORE_OPTION, storeUrlFromFlags } from "./store_flags.ts";
import { visibleLine } from "./visible.ts";

const OPTIONS = { ...COMMON_OPTIONS, ...STORE_OPTION, yes: { type: "boolean" } } as const;
const ACTIONS = ["migrate", "status", "drop-month"] as const;

/** `shearwater-persist store ACTION`: the shared store's schema, contents and retention. */
export const storeCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("store", args, OPTIONS, true);
    const [action, ...rest] = positionals;
    if (!ACTIONS.includes(action as typeof ACTIONS[number])) {
      throw new UsageError(
        `Unknown store action "${action ?? ""}": use ${ACTIONS.join(", ")} ` +
          '(see "shearwater-persist store --help")',
      );
    }
    const month = rest[0];
    if (action === "drop-month") {
      if (month === undefined || rest.length > 1) {
        throw new UsageError("Give one month to drop: store drop-month YYYY-MM");
      }
      checkMonth(month);
    } else if (rest.length > 0) {
      throw new UsageError(`Unexpected argument "${rest[0]}" for store ${action}`);
    }
    const store = await openStore(storeUrlFromFlags(values));
    try {
      if (action === "migrate") return await runMigrate(store, values.json);
      if (action === "status") return await runStatus(store, values.json);
      return await runDropMonth(store, month!, { json: values.json, yes: values.yes });
    } finally {
      await store.close();
    }
  },
};

async function runMigrate(store: PgStore, json: boolean | undefined): Promise<number> {
  const result = await migrate(store);
  if (json) {
    printJson({
      store: store.redactedUrl,
      from: result.from,
      to: result.to,
      applied: result.applied.map((m) => ({ version: m.version, description: m.description })),
      partitions_created: result.partitionsCreated,
    });
    return 0;
  }
  printLine(
    result.applied.length === 0
      ? `Schema of ${store.redactedUrl} is current (version ${result.to}).`
      : `Migrated ${store.redactedUrl} from version ${result.from} to ${result.to}:`,
  );
  for (const m of result.applied) printLine(`  ${m.version}  ${m.description}`);
  printLine(
    result.partitionsCreated.length === 0
      ? "Partitions: all months up to a year ahead exist."
      : `Partitions created: ${result.partitionsCreated.join(", ")}`,
  );
  return 0;
}

interface PartitionRow {
  month: string;
  rows: number;
  bytes: number;
}

interface OriginRow {
  origin: string;
  hostname: string | null;
  data_dir: string | null;
  records: number;
  max_seq: number;
  first_at: string | null;
  last_at: string | null;
}

async function runStatus(store: PgStore, json: boolean | undefined): Promise<number> {
  const version = await schemaVersion(store);
  let partitions: PartitionRow[] = [];
  let origins: OriginRow[] = [];
  if (version > 0) {
    try {
      partitions = await partitionRows(store);
      origins = (await store.sql<
        {
          origin: string;
          hostname: string | null;
          data_dir: string | null;
          records: string;
          max_seq: string;
          first_at: Date | null;
          last_at: Date | null;
        }[]
      >`
        SELECT r.origin, o.hostname, o.data_dir, count(*)::text AS records,
          max(r.seq)::text AS max_seq, min(r.received_at) AS first_at, max(r.received_at) AS last_at
        FROM shearwater.records r LEFT JOIN shearwater.origins o USING (origin)
        GROUP BY r.origin, o.hostname, o.data_dir ORDER BY r.origin`).map((row) => ({
        ...row,
        records: Number(row.records),
        max_seq: Number(row.max_seq),
        first_at: row.first_at?.toISOString() ?? null,
        last_at: row.last_at?.toISOString() ?? null,
      }));
    } catch (error) {
      throw store.fail(error, `Cannot read the status of ${store.redactedUrl}`);
    }
  }
  if (json) {
    printJson({
      store: store.redactedUrl,
      schema_version: version,
      program_schema_version: LATEST_SCHEMA_VERSION,
      partitions,
      origins,
    });
    return 0;
  }
  printLine(`Store       ${store.redactedUrl}`);
  printLine(
    `Schema      version ${version}` +
      (version < LATEST_SCHEMA_VERSION
        ? ` (this program needs ${LATEST_SCHEMA_VERSION}: run "shearwater-persist store migrate")`
        : ""),
  );
  const used = partitions.filter((p) => p.rows > 0);
  printLine(
    `Partitions  ${partitions.length} months (${used.length} with rows)` +
      (partitions.length > 0 ? `, ${partitions[0]!.month} to ${partitions.at(-1)!.month}` : ""),
  );
  for (const p of used) {
    printLine(`  ${p.month}  ~${formatCount(p.rows)} rows, ${formatBytes(p.bytes)}`);
  }
  printLine(`Origins     ${origins.length}`);
  for (const o of origins) {
    printLine(
      `  ${o.origin}  ${formatCount(o.records)} records, up to seq ${o.max_seq}` +
        (o.hostname ? `, ${visibleLine(o.hostname)}:${visibleLine(o.data_dir ?? "")}` : "") +
        (o.last_at ? `, last ${o.last_at}` : ""),
    );
  }
  return 0;
}

async function partitionRows(store: PgStore): Promise<PartitionRow[]> {
  const months = await listPartitions(store.sql);
  const sizes = await store.sql<{ name: string; rows: string; bytes: string }[]>`
    SELECT c.relname AS name, greatest(c.reltuples, 0)::bigint::text AS rows,
      pg_total_relation_size(c.oid)::text AS bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'shearwater' AND c.relname LIKE 'records\\_%'`;
  const byName = new Map(sizes.map((row) => [row.name, row]));
  return months.map((month) => {
    const row = byName.get(partitionName(month));
    return { month, rows: Number(row?.rows ?? 0), bytes: Number(row?.bytes ?? 0) };
  });
}

async function runDropMonth(
  store: PgStore,
  month: string,
  options: { json?: boolean; yes?: boolean },
): Promise<number> {
  const months = await listPartitions(store.sql);
  if (!months.includes(month)) {
    throw new PersistError(
      `Cannot drop ${month}: ${store.redactedUrl} has no partition for it ` +
        `(partitions: ${months.length === 0 ? "none" : `${months[0]} to ${months.at(-1)}`})`,
      { code: ErrorCode.storeFailed, exitCode: ExitCode.failure },
    );
  }
  const name = partitionName(month);
  const [count] = await store.sql<{ rows: string }[]>`
    SELECT count(*)::text AS rows FROM shearwater.${store.sql(name)}`;
  const rows = Number(count?.rows ?? 0);
  const question = `Drop ${formatCount(rows)} records of ${month} (every origin) from ` +
    `${store.redactedUrl}? This cannot be undone`;
  if (!confirmChange(question, options.yes)) {
    printLine("Nothing dropped.");
    return ExitCode.failure;
  }
  try {
    await store.sql.begin(async (tx) => {
      await tx`ALTER TABLE shearwater.records DETACH PARTITION shearwater.${tx(name)}`;
      await tx`DROP TABLE shearwater.${tx(name)}`;
    });
  } catch (error) {
    throw store.fail(error, `Cannot drop the partition ${name}`);
  }
  if (options.json) {
    printJson({ store: store.redactedUrl, month, partition: name, rows_dropped: rows });
  } else {
    printLine(`Dropped ${name}: ${formatCount(rows)} records of ${month}.`);
  }
  return 0;
}
