import { assertEquals } from "../_assert.ts";
import { chatRecord, eventRecord, sessionStartRecord } from "../log_fixtures.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import { migrate } from "../../src/pgstore/migrations.ts";
import { insertBlobs, insertRecords, shippedSeq, shipRowOf } from "../../src/pgstore/records.ts";
import { checkRecordLine, encodeRecordLine, type RecordBody } from "../../src/store/record.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";

function rowOf(body: RecordBody) {
  const line = encodeRecordLine(body);
  const checked = checkRecordLine(line);
  if (!checked.ok) throw new Error(checked.reason);
  return shipRowOf(checked.record, new TextDecoder().decode(line).trimEnd());
}

Deno.test("shipRowOf() keeps the line byte for byte and indexes what SQLite indexes", () => {
  const body = chatRecord(2, "s1", "deploy the\u0000 build");
  const row = rowOf(body);
  assertEquals(row.line + "\n", new TextDecoder().decode(encodeRecordLine(body)));
  assertEquals(row.seq, 2);
  assertEquals(row.type, "message");
  // The words as SQLite's unicode61 tokenizer finds them (NUL separates words there too).
  assertEquals(row.searchText, "deploy the build");
  assertEquals(rowOf(eventRecord(3, "s1", "gap")).searchText, "");
});

Deno.test({
  name:
    "insertRecords() is idempotent on (origin, seq): a batch twice adds nothing the second time",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    await migrate(store, { extraMonths: ["2026-11"] });
    const rows = [
      rowOf(sessionStartRecord(1, "s1")),
      ...Array.from({ length: 50 }, (_, i) => rowOf(chatRecord(i + 2, "s1", `note ${i} alpha`))),
    ];
    assertEquals(await insertRecords(store.sql, "origin-a", rows), 51);
    assertEquals(await insertRecords(store.sql, "origin-a", rows), 0);
    assertEquals(await insertRecords(store.sql, "origin-b", rows.slice(0, 10)), 10);
    assertEquals(await shippedSeq(store.sql, "origin-a"), 51);
    assertEquals(await shippedSeq(store.sql, "origin-b"), 10);
    assertEquals(await shippedSeq(store.sql, "nobody"), 0);
    const lines = await store.sql<{ line: string }[]>`
      SELECT line FROM shearwater.records WHERE origin = 'origin-a' ORDER BY seq`;
    assertEquals(lines.map((r) => r.line), rows.map((r) => r.line));
    const hits = await cluster.psql(
      "SELECT count(*) FROM shearwater.records WHERE search @@ to_tsquery('simple', 'alpha')",
    );
    assertEquals(hits, "59"); // 50 messages of origin-a, 9 of origin-b
    const sent = await insertBlobs(
      store.sql,
      ["aa", "bb", "aa"],
      (hash) => new TextEncoder().encode(hash),
    );
    assertEquals(sent, 2);
    assertEquals(
      await insertBlobs(store.sql, ["aa", "bb"], () => {
        throw new Error("not read again");
      }),
      0,
    );
  } finally {
    await store.close();
    await cluster.stop();
  }
});
