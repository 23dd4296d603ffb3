import { assertEquals } from "../_assert.ts";
import { runCli } from "../_helpers.ts";
import {
  concatBytes,
  encodeLines,
  eventRecord,
  sessionRecords,
  unusualMessageRecords,
} from "../log_fixtures.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import { migrate } from "../../src/pgstore/migrations.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";
import { shipLogFile } from "./_ship_log.ts";

const encoder = new TextEncoder();
const SESSION_A = "20261125_133107_aaaa";
const SESSION_B = "20261125_133107_bbbb";
const ORIGIN_A = "aaaaaaaa-0000-4000-8000-000000000001";
const ORIGIN_B = "bbbbbbbb-0000-4000-8000-000000000002";

/** A data dir whose log holds a session of chat messages, unusual frames and an event. */
async function writeDataDir(root: string, session: string, words: string): Promise<string> {
  const dataDir = `${root}/${session}`;
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const records = [
    ...sessionRecords(session, { firstSeq: 1, messages: 12 }).map((record, i) =>
      i === 0 || i % 4 !== 0 ? record : messageRecord([
        // Some messages with words only this data dir has.
        encoder.encode("agent.claude"),
        encoder.encode(
          JSON.stringify({ from: "claude", to: "all", content: `${words} deploy ${i}` }),
        ),
      ], { seq: record.seq, session, receivedAt: new Date(record.received_at) })
    ),
    ...unusualMessageRecords(14, session),
    eventRecord(20, session, "gap"),
  ];
  await Deno.writeFile(`${dataDir}/current_session.jsonl`, concatBytes(encodeLines(records)), {
    mode: 0o600,
  });
  return dataDir;
}

/** Runs a reading command locally and against the store; returns both results. */
async function both(dataDir: string, url: string, args: string[], origin?: string) {
  const local = await runCli([...args, "--data-dir", dataDir], { env: { NO_COLOR: "1" } });
  const store = await runCli(
    [...args, "--store", url, ...(origin ? ["--origin", origin] : [])],
    { env: { NO_COLOR: "1" } },
  );
  return { local, store };
}

Deno.test({
  name: "reading commands with --store print what they print locally, with the same exit codes",
  ignore: !pgAvailable,
}, async () => {
  const root = await Deno.makeTempDir({ prefix: "shearwater_read_" });
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    await migrate(store, { extraMonths: ["2026-11"] });
    const dataDir = await writeDataDir(root, SESSION_A, "alpha");
    await shipLogFile(store, ORIGIN_A, `${dataDir}/current_session.jsonl`);
    const cases: string[][] = [
      ["search", "message"],
      ["search", '"message 5"'],
      ["search", "alpha OR 日本語", "-n", "3"],
      ["search", "deploy NOT alpha"], // no match: exit 1
      ["search", "deploy AND"], // bad query: exit 2
      ["search", "--sender", "gemini", "--since", "2026-11-25T13:00"],
      ["search", "message", "--session", SESSION_A, "--until", "2026-11-25T13:31:07.006Z"],
      ["recent", "5"],
      ["recent", "4", "--events"],
      ["sessions"],
      ["stats"],
      ["export", "--session", SESSION_A, "--format", "jsonl"],
      ["export", "--session", SESSION_A, "--format", "md"],
      ["export", "--search", "message", "--format", "jsonl"],
      ["context", "--session", SESSION_A],
      ["show", "9999"],
    ];
    for (const args of cases) {
      const { local, store: shared } = await both(dataDir, cluster.url, args);
      assertEquals(shared.code, local.code, `${args.join(" ")}: ${shared.stderr}`);
      assertEquals(shared.stdout, local.stdout, args.join(" "));
    }
    // --json: the store's fields are a superset (plus origin).
    const { local, store: shared } = await both(dataDir, cluster.url, [
      "search",
      "message",
      "--json",
    ]);
    const localJson = JSON.parse(local.stdout);
    const sharedJson = JSON.parse(shared.stdout);
    assertEquals(sharedJson.count, localJson.count);
    for (const [i, result] of localJson.results.entries()) {
      const { origin, file: _f, offset: _o, ...rest } = sharedJson.results[i];
      const { file: _lf, offset: _lo, ...localRest } = result;
      assertEquals(origin, ORIGIN_A);
      assertEquals(rest, localRest);
    }
    // show: the same record and frames; only where it is stored differs.
    const show = await both(dataDir, cluster.url, ["show", "15"]);
    assertEquals(show.store.code, 0, show.store.stderr);
    const withoutStored = (text: string) =>
      text.split("\n").filter((line) => !line.startsWith("  stored")).join("\n");
    assertEquals(withoutStored(show.store.stdout), withoutStored(show.local.stdout));
    assertEquals(show.store.stdout.includes(`origin ${ORIGIN_A}`), true, show.store.stdout);
    const raw = await both(dataDir, cluster.url, ["show", "15", "--raw"]);
    assertEquals(raw.store.stdout, raw.local.stdout);
  } finally {
    await store.close();
    await cluster.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "--store reads every origin, marks hits with their origin, and --origin narrows",
  ignore: !pgAvailable,
}, async () => {
  const root = await Deno.makeTempDir({ prefix: "shearwater_read_" });
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    await migrate(store, { extraMonths: ["2026-11"] });
    const dataDirA = await writeDataDir(root, SESSION_A, "alpha");
    const dataDirB = await writeDataDir(root, SESSION_B, "bravo");
    await shipLogFile(store, ORIGIN_A, `${dataDirA}/current_session.jsonl`);
    await shipLogFile(store, ORIGIN_B, `${dataDirB}/current_session.jsonl`);
    const url = cluster.url;
    const all = await runCli(["search", "deploy", "--store", url, "--json"]);
    assertEquals(all.code, 0, all.stderr);
    const origins = new Set(
      JSON.parse(all.stdout).results.map((r: { origin: string }) => r.origin),
    );
    assertEquals([...origins].sort(), [ORIGIN_A, ORIGIN_B]);
    const text = await runCli(["search", "deploy", "--store", url], { env: { NO_COLOR: "1" } });
    assertEquals(text.stdout.includes(`@${ORIGIN_A.slice(0, 8)}`), true, text.stdout);
    assertEquals(text.stdout.includes(`@${ORIGIN_B.slice(0, 8)}`), true, text.stdout);
    // Narrowed to one origin: exactly that data dir's local output.
    const { local, store: narrowed } = await both(dataDirB, url, ["search", "deploy"], ORIGIN_B);
    assertEquals(narrowed.stdout, local.stdout);
    // SHEARWATER_STORE alone makes them read the store too.
    const fromEnv = await runCli(["search", "deploy", "--json"], {
      env: { SHEARWATER_STORE: url },
    });
    assertEquals(fromEnv.code, 0, fromEnv.stderr);
    assertEquals(JSON.parse(fromEnv.stdout).count, JSON.parse(all.stdout).count);
    const sessions = await runCli(["sessions", "--store", url, "--json"]);
    assertEquals(JSON.parse(sessions.stdout).count, 2);
    // Both origins have a seq 15: show asks which one, then shows it.
    const ambiguous = await runCli(["show", "15", "--store", url]);
    assertEquals(ambiguous.code, 2);
    assertEquals(ambiguous.stderr.includes("--origin"), true, ambiguous.stderr);
    const one = await runCli(["show", "15", "--store", url, "--origin", ORIGIN_B, "--json"]);
    assertEquals(one.code, 0, one.stderr);
    assertEquals(JSON.parse(one.stdout).origin, ORIGIN_B);
    // The store has no current session, and a checkpoint is pulled first: both say so (exit 2).
    const noSession = await runCli(["context", "--store", url]);
    assertEquals(noSession.code, 2, noSession.stderr);
    assertEquals(noSession.stderr.includes("--session"), true, noSession.stderr);
    const checkpoint = await runCli([
      "export",
      "--checkpoint",
      "latest",
      "--format",
      "md",
      "--store",
      url,
    ]);
    assertEquals(checkpoint.code, 2, checkpoint.stderr);
    assertEquals(checkpoint.stderr.includes("checkpoint pull"), true, checkpoint.stderr);
    const unknown = await runCli(["context", "--session", "nope", "--store", url]);
    assertEquals(unknown.code, 1, unknown.stderr);
    // --origin without a store is a usage error; an unreachable store exit 69, no password.
    const noStore = await runCli(["search", "x", "--origin", ORIGIN_A, "--data-dir", dataDirA]);
    assertEquals(noStore.code, 2);
    const down = await runCli([
      "search",
      "x",
      "--store",
      `postgres://reader:s3cretpw@127.0.0.1:${cluster.port + 1}/postgres`,
    ]);
    assertEquals(down.code, 69, down.stderr);
    assertEquals(down.stderr.includes("s3cretpw"), false, down.stderr);
  } finally {
    await store.close();
    await cluster.stop();
    await Deno.remove(root, { recursive: true });
  }
});
