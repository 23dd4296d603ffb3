/**
 * Checks shared by the shipping tests: the local logs of a data dir against the rows of its
 * origin in the store, record for record.
 */
import { assertEquals } from "../_assert.ts";
import { daemonStatus, waitFor } from "../_helpers.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import { dataDirLayout } from "../../src/store/data_dir.ts";
import { scanLog } from "../../src/store/log_reader.ts";
import { listArchivedLogs } from "../../src/store/session_archive.ts";

/** Every verified record of a data dir's logs as [seq, line without newline], by seq. */
export async function localLines(dataDir: string): Promise<[number, string][]> {
  const layout = dataDirLayout(dataDir);
  const out: [number, string][] = [];
  const decoder = new TextDecoder();
  for (const path of [...await listArchivedLogs(layout), layout.currentLog]) {
    for await (const placed of scanLog(path)) {
      out.push([placed.record.seq, decoder.decode(placed.line).replace(/\n$/, "")]);
    }
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** The store's rows of `origin` as [seq, line], by seq. */
export async function storeLines(url: string, origin: string): Promise<[number, string][]> {
  const store = await openStore(url);
  try {
    const rows = await store.sql<{ seq: string; line: string }[]>`
      SELECT seq::text AS seq, line FROM shearwater.records WHERE origin = ${origin} ORDER BY records.seq`;
    return rows.map((row) => [Number(row.seq), row.line]);
  } finally {
    await store.close();
  }
}

/** Asserts the store holds exactly the data dir's records for its origin: no loss, no duplicate. */
export async function assertStoreMatchesLogs(
  url: string,
  origin: string,
  dataDir: string,
): Promise<number> {
  const local = await localLines(dataDir);
  const shipped = await storeLines(url, origin);
  if (shipped.length !== local.length) {
    console.error(
      "SHIPPED",
      shipped.map(([s]) => s).join(","),
      "LOCAL",
      local.map(([s]) => s).join(","),
    );
  }
  assertEquals(shipped.length, local.length, "rows in the store vs records in the logs");
  assertEquals(new Set(shipped.map(([seq]) => seq)).size, shipped.length, "no duplicate seq");
  assertEquals(shipped, local);
  return local.length;
}

/** Waits until the running daemon reports everything durable shipped. */
export async function waitForShipped(dataDir: string, timeoutMs = 90_000): Promise<void> {
  await waitFor("the shipper to catch up", async () => {
    const status = await daemonStatus(dataDir);
    return status?.store?.reachable === true && status.durable_seq === status.seq &&
      status.store.shipped_seq >= status.durable_seq && status.store.lag_records === 0;
  }, timeoutMs);
}

/**
 * A file of /proc/PID (`cmdline`, `environ`) as text, read through `cat`: Deno asks for
 * --allow-all to read /proc directly, and the test task does not grant it.
 */
export async function procFile(pid: number, name: "cmdline" | "environ"): Promise<string> {
  const output = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${name}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`cat /proc/${pid}/${name}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}
