import { assertEquals } from "../_assert.ts";
import { tempDir } from "../_helpers.ts";
import { chatRecord, concatBytes, sessionStartRecord } from "../log_fixtures.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import { LogShipper } from "../../src/pgstore/log_shipper.ts";
import { migrate } from "../../src/pgstore/migrations.ts";
import { ensureDataDir } from "../../src/store/data_dir.ts";
import { encodeRecordLine } from "../../src/store/record.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";
import { storeLines } from "./_ship_checks.ts";

Deno.test({
  name: "LogShipper.pass() stops at the durable seq, skips a damaged line, follows appends",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const dir = await tempDir("log-shipper");
  const store = await openStore(cluster.url);
  try {
    await migrate(store, { extraMonths: ["2026-11"] });
    const layout = await ensureDataDir(`${dir.path}/data`);
    const lines = [
      encodeRecordLine(sessionStartRecord(1, "s1")),
      ...Array.from({ length: 20 }, (_, i) => encodeRecordLine(chatRecord(i + 2, "s1", `n ${i}`))),
    ];
    const damaged = encodeRecordLine(chatRecord(22, "s1", "damaged"));
    damaged[20] = damaged[20]! ^ 0x01; // one flipped bit: the CRC no longer matches
    await Deno.writeFile(layout.currentLog, concatBytes([...lines, damaged]));
    const shipper = new LogShipper(layout, "origin-x");
    const first = await shipper.pass(store, 10);
    assertEquals(first.shippedSeq, 10);
    assertEquals((await storeLines(cluster.url, "origin-x")).map(([seq]) => seq).at(-1), 10);
    const second = await shipper.pass(store);
    assertEquals(second.added, 11);
    assertEquals(second.badLines, 1);
    const more = encodeRecordLine(chatRecord(23, "s1", "after the damage"));
    const file = await Deno.open(layout.currentLog, { append: true });
    await file.write(more);
    file.close();
    const third = await shipper.pass(store);
    assertEquals(third.added, 1);
    const seqs = (await storeLines(cluster.url, "origin-x")).map(([seq]) => seq);
    assertEquals(seqs, [...Array.from({ length: 21 }, (_, i) => i + 1), 23]);
    // A new shipper (a restart) finds everything there and sends nothing.
    const restarted = await new LogShipper(layout, "origin-x").pass(store);
    assertEquals(restarted.sent, 0);
    assertEquals(restarted.shippedSeq, 23);
  } finally {
    await store.close();
    await dir.cleanup();
    await cluster.stop();
  }
});
