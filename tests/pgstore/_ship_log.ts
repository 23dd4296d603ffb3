/**
 * Test helper: puts the records of a log file into the store the way the shipper does
 * (`shipRowOf` + `insertRecords`), for tests of the reading side that need no daemon.
 */
import type { PgStore } from "../../src/pgstore/connection.ts";
import { insertRecords, registerOrigin, shipRowOf } from "../../src/pgstore/records.ts";
import { checkRecordLine } from "../../src/store/record.ts";

/** Ships every line of the log at `path` as records of `origin`; returns how many. */
export async function shipLogFile(store: PgStore, origin: string, path: string): Promise<number> {
  const text = await Deno.readTextFile(path);
  const rows = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const check = checkRecordLine(new TextEncoder().encode(line));
    if (!check.ok) throw new Error(`bad line in ${path}: ${check.reason}`);
    rows.push(shipRowOf(check.record, line));
  }
  await registerOrigin(store, origin, { hostname: "test", dataDir: path });
  return await insertRecords(store.sql, origin, rows);
}
