import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { PersistError } from "../../src/errors.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import {
  ensurePartitions,
  ensureSchema,
  LATEST_SCHEMA_VERSION,
  listPartitions,
  migrate,
  MIGRATIONS,
  PARTITION_MONTHS_AHEAD,
  partitionName,
  schemaVersion,
} from "../../src/pgstore/migrations.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";

Deno.test("partitionName() names a month's partition and refuses anything but YYYY-MM", () => {
  assertEquals(partitionName("2026-11"), "records_2026_11");
  for (const bad of ["2026-13", "2026-1", "26-11", "2026-11; DROP TABLE x", ""]) {
    let caught: unknown;
    try {
      partitionName(bad);
    } catch (error) {
      caught = error;
    }
    assert(caught instanceof PersistError && caught.exitCode === 2, `refused ${bad}`);
  }
});

Deno.test({
  name: "migrate() creates the schema once, its indexes and the months ahead; twice is a no-op",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    assertEquals(await schemaVersion(store), 0);
    const now = new Date("2026-11-15T00:00:00Z");
    const first = await migrate(store, { now, extraMonths: ["2025-01"] });
    assertEquals(first.from, 0);
    assertEquals(first.to, LATEST_SCHEMA_VERSION);
    assertEquals(first.applied.map((m) => m.version), MIGRATIONS.map((m) => m.version));
    const months = await listPartitions(store.sql);
    assertEquals(months.length, PARTITION_MONTHS_AHEAD + 2);
    assertEquals(months[0], "2025-01");
    assertEquals(months[1], "2026-11");
    assertEquals(months.at(-1), "2027-11");
    const second = await migrate(store, { now });
    assertEquals(second.applied.length, 0);
    assertEquals(second.partitionsCreated.length, 0);
    const indexes = (await cluster.psql(
      "SELECT indexname FROM pg_indexes WHERE schemaname='shearwater' AND tablename='records' ORDER BY 1",
    )).split("\n");
    for (
      const name of [
        "records_search_gin",
        "records_time",
        "records_session",
        "records_sender_time",
        "records_topic_time",
      ]
    ) {
      assert(indexes.includes(name), `index ${name} in ${indexes.join(",")}`);
    }
    // Every partition has the indexes (declared on the parent).
    const gin = await cluster.psql(
      "SELECT count(*) FROM pg_indexes WHERE schemaname='shearwater' AND tablename='records_2026_12' AND indexdef LIKE '%USING gin%'",
    );
    assertEquals(gin, "1");
    assertEquals(
      await cluster.psql("SELECT count(*) FROM shearwater.schema_migrations"),
      String(MIGRATIONS.length),
    );
  } finally {
    await store.close();
    await cluster.stop();
  }
});

Deno.test({
  name: "migrate() from two connections at once applies each version once",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const a = await openStore(cluster.url);
  const b = await openStore(cluster.url);
  try {
    const results = await Promise.all([migrate(a), migrate(b)]);
    assertEquals(results.flatMap((r) => r.applied).length, MIGRATIONS.length);
    assertEquals(
      await cluster.psql("SELECT count(*) FROM shearwater.schema_migrations"),
      String(MIGRATIONS.length),
    );
  } finally {
    await a.close();
    await b.close();
    await cluster.stop();
  }
});

Deno.test({
  name: "ensureSchema() for a role that may not migrate names `store migrate`; partitions too",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  await cluster.psql("CREATE ROLE reader LOGIN");
  const url = `postgres://reader@127.0.0.1:${cluster.port}/postgres`;
  await cluster.psql("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  await cluster.psql("REVOKE CREATE ON DATABASE postgres FROM PUBLIC");
  const limited = await openStore(url);
  try {
    const error = await assertRejects(() => ensureSchema(limited), PersistError);
    assertEquals(error.code, "store_schema_outdated");
    assert(error.message.startsWith("Run `shearwater-persist store migrate`"), error.message);
    // The owner migrates; the limited role (USAGE + SELECT, INSERT) then may not add months.
    const owner = await openStore(cluster.url);
    await migrate(owner);
    await owner.close();
    await cluster.psql(
      "GRANT USAGE ON SCHEMA shearwater TO reader; GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA shearwater TO reader",
    );
    assertEquals(await ensureSchema(limited), LATEST_SCHEMA_VERSION);
    const refused = await assertRejects(() => ensurePartitions(limited, ["2001-01"]), PersistError);
    assert(refused.message.includes("store migrate"), refused.message);
  } finally {
    await limited.close();
    await cluster.stop();
  }
});
