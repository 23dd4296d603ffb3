import { assert, assertEquals } from "../_assert.ts";
import { runCli, tempDir } from "../_helpers.ts";
import { concatBytes } from "../log_fixtures.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/pgstore/migrations.ts";
import { readOrigin } from "../../src/pgstore/origin.ts";
import { sha256HexSync, writeBlobSync } from "../../src/store/blob_store.ts";
import { ensureDataDir } from "../../src/store/data_dir.ts";
import { encodeRecordLine, type RecordBody } from "../../src/store/record.ts";
import { pgAvailable, startPgCluster } from "../pgstore/_pg_cluster.ts";
import { assertStoreMatchesLogs } from "../pgstore/_ship_checks.ts";

const encoder = new TextEncoder();

/**
 * A data dir with an archived session from March 2025 (a month no partition exists for), one
 * message whose payload lives in a blob, and a current session of November 2026.
 */
async function writeDataDir(root: string): Promise<string> {
  const layout = await ensureDataDir(`${root}/data`);
  const record = (seq: number, session: string, at: number, text: string): RecordBody =>
    messageRecord(
      [
        encoder.encode("agent.codex"),
        encoder.encode(JSON.stringify({ from: "codex", content: text })),
      ],
      { seq, session, receivedAt: new Date(at) },
    );
  const march = Date.parse("2025-03-10T12:00:00Z");
  const archived = Array.from(
    { length: 1200 },
    (_, i) => record(i + 1, "20250310_120000_aaaa", march + i * 1000, `archived ${i} retention`),
  );
  const big = encoder.encode("B".repeat(5000));
  writeBlobSync(layout.blobsDir, sha256HexSync(big), big);
  archived.push(messageRecord([encoder.encode("bin.big"), big], {
    seq: 1201,
    session: "20250310_120000_aaaa",
    receivedAt: new Date(march + 1_300_000),
  }, { blobThresholdBytes: 1000 }));
  await Deno.writeFile(
    `${layout.archiveDir}/session_20250310_120000_aaaa.jsonl`,
    concatBytes(archived.map(encodeRecordLine)),
    { mode: 0o600 },
  );
  const november = Date.parse("2026-11-25T10:00:00Z");
  const current = Array.from(
    { length: 300 },
    (_, i) => record(i + 1202, "20261125_100000_bbbb", november + i * 1000, `current ${i}`),
  );
  await Deno.writeFile(layout.currentLog, concatBytes(current.map(encodeRecordLine)), {
    mode: 0o600,
  });
  return layout.root;
}

Deno.test({
  name: "ship backfills logs, archives and blobs; twice gives the same rows; a hole is refilled",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const dir = await tempDir("ship-cmd");
  try {
    const dataDir = await writeDataDir(dir.path);
    const first = await runCli(["ship", "--data-dir", dataDir, "--store", cluster.url, "--json"]);
    assertEquals(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout);
    assertEquals(summary.added, 1501);
    assertEquals(summary.blobs, 1);
    const origin = (await readOrigin(dataDir))!;
    assertEquals(summary.origin, origin);
    assertEquals(await assertStoreMatchesLogs(cluster.url, origin, dataDir), 1501);
    assertEquals(await cluster.psql("SELECT count(*) FROM shearwater.blobs"), "1");
    assert(
      (await cluster.psql("SELECT count(*) FROM shearwater.records_2025_03")) === "1201",
      "the March 2025 partition was created for the archive",
    );
    const again = await runCli(["ship", "--data-dir", dataDir, "--store", cluster.url, "--json"]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(JSON.parse(again.stdout).added, 0);
    assertEquals(await assertStoreMatchesLogs(cluster.url, origin, dataDir), 1501);
    // A hole in the middle (rows lost, or never shipped): the next ship fills exactly it.
    await cluster.psql(
      `DELETE FROM shearwater.records WHERE origin = '${origin}' AND seq BETWEEN 500 AND 520`,
    );
    const refill = await runCli(["ship", "--data-dir", dataDir, "--store", cluster.url, "--json"]);
    assertEquals(refill.code, 0, refill.stderr);
    assertEquals(JSON.parse(refill.stdout).added, 21);
    assertEquals(await assertStoreMatchesLogs(cluster.url, origin, dataDir), 1501);
  } finally {
    await dir.cleanup();
    await cluster.stop();
  }
});

Deno.test({
  name: "ship and store with a wrong password or no server: exit 69, the password never shown",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const dir = await tempDir("ship-cmd-auth");
  try {
    await cluster.psql("CREATE ROLE shipper LOGIN PASSWORD 'right-one'");
    await Deno.writeTextFile(
      `${cluster.dataDir}/pg_hba.conf`,
      "host all shipper 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n",
    );
    await cluster.psql("SELECT pg_reload_conf()");
    const dataDir = await writeDataDir(dir.path);
    const wrong = `postgres://shipper:S3cr3t-wrong@127.0.0.1:${cluster.port}/postgres`;
    for (
      const args of [
        ["ship", "--data-dir", dataDir, "--store", wrong],
        ["store", "status", "--store", wrong],
      ]
    ) {
      const result = await runCli(args);
      assertEquals(result.code, 69, result.stderr);
      assert(!(result.stdout + result.stderr).includes("S3cr3t-wrong"), result.stderr);
      assert(result.stderr.includes("shipper:***@"), result.stderr);
    }
    const env = { SHEARWATER_STORE: wrong };
    const viaEnv = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../main.ts", import.meta.url).pathname,
        "ship",
        "--data-dir",
        dataDir,
      ],
      env,
      stdin: "null",
    }).output();
    assertEquals(viaEnv.code, 69);
    assert(!new TextDecoder().decode(viaEnv.stderr).includes("S3cr3t-wrong"));
  } finally {
    await dir.cleanup();
    await cluster.stop();
  }
});

Deno.test({
  name: "store migrate, status and drop-month (refused without --yes off a terminal)",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  const dir = await tempDir("store-cmd");
  try {
    const migrated = await runCli(["store", "migrate", "--store", cluster.url, "--json"]);
    assertEquals(migrated.code, 0, migrated.stderr);
    assertEquals(JSON.parse(migrated.stdout).to, LATEST_SCHEMA_VERSION);
    const dataDir = await writeDataDir(dir.path);
    assertEquals((await runCli(["ship", "--data-dir", dataDir, "--store", cluster.url])).code, 0);
    const status = await runCli(["store", "status", "--store", cluster.url, "--json"]);
    assertEquals(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout);
    assertEquals(parsed.schema_version, LATEST_SCHEMA_VERSION);
    const origin = (await readOrigin(dataDir))!;
    assertEquals(
      parsed.origins.map((o: { origin: string; records: number }) => [o.origin, o.records]),
      [
        [origin, 1501],
      ],
    );
    assert(parsed.partitions.some((p: { month: string }) => p.month === "2025-03"));
    const human = await runCli(["store", "status", "--store", cluster.url]);
    assert(human.stdout.includes(`${origin}  1,501 records, up to seq 1501`), human.stdout);
    const refused = await runCli(["store", "drop-month", "2025-03", "--store", cluster.url]);
    assertEquals(refused.code, 2, refused.stderr);
    assert(refused.stderr.includes("--yes"), refused.stderr);
    const dropped = await runCli([
      "store",
      "drop-month",
      "2025-03",
      "--yes",
      "--store",
      cluster.url,
      "--json",
    ]);
    assertEquals(dropped.code, 0, dropped.stderr);
    assertEquals(JSON.parse(dropped.stdout).rows_dropped, 1201);
    const store = await openStore(cluster.url);
    try {
      const [row] = await store.sql<{ n: string }[]>`
        SELECT count(*)::text AS n FROM shearwater.records WHERE origin = ${origin}`;
      assertEquals(row?.n, "300");
    } finally {
      await store.close();
    }
    const missing = await runCli([
      "store",
      "drop-month",
      "2025-03",
      "--yes",
      "--store",
      cluster.url,
    ]);
    assertEquals(missing.code, 1);
    const bad = await runCli(["store", "drop-month", "2025-3", "--yes", "--store", cluster.url]);
    assertEquals(bad.code, 2);
  } finally {
    await dir.cleanup();
    await cluster.stop();
  }
});
