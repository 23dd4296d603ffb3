import { DatabaseSync } from "node:sqlite";
import { messageRecord, oversizedRecord } from "../../src/enrich/mod.ts";
import { indexPath } from "../../src/indexer/open_index.ts";
import { REBUILD_FTS_SUFFIX, REBUILD_SUFFIX } from "../../src/indexer/rebuild.ts";
import { refreshIndex } from "../../src/indexer/refresh.ts";
import { silentLogger } from "../../src/logger.ts";
import type { DataDirLayout } from "../../src/store/data_dir.ts";
import type { SearchRequest } from "../../src/store/message_index.ts";
import { encodeRecordLine, type RecordBody } from "../../src/store/record.ts";
import { SqliteIndex } from "../../src/store/sqlite_index.ts";
import { exists } from "../../src/store/file_info.ts";
import { mulberry32 } from "../prng.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import {
  concatBytes,
  eventRecord,
  sessionStartRecord,
  unusualMessageRecords,
  withDataDir,
} from "../log_fixtures.ts";

const encoder = new TextEncoder();
const START_MS = Date.parse("2026-11-20T08:00:00.000Z");
const SESSIONS = ["20261120_080000_aaaa", "20261121_080000_bbbb", "20261122_080000_cccc"];
const WORDS = [
  "checkpoint",
  "recorder",
  "café",
  "cafe",
  "naïve",
  "日本語",
  "🐦",
  "AND",
  "NOT",
  "OR",
  "NEAR",
  'quote"d',
  "star*",
  "col:umn",
  "under_score",
  "x-ray",
  "ß",
  "İstanbul",
];
const SENDERS = ["claude", "gemini", "codex", 'ev"il', "nul\u0000sender", "ünï"];

/** One message of the varied corpus: chat, hostile text, blobs, binary, replays. */
function variedMessage(seq: number, session: string, random: () => number): RecordBody {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const placement = { seq, session, receivedAt: new Date(START_MS + seq * 997) };
  const words = Array.from({ length: 3 + Math.floor(random() * 12) }, () => pick(WORDS));
  const sender = pick(SENDERS);
  const kind = random();
  if (kind < 0.03) {
    // Bigger than the blob threshold: stored as a blob, searched by its head.
    const text = `blob ${words.join(" ")} ` + "filler ".repeat(40_000);
    return messageRecord([encoder.encode("big.text"), encoder.encode(text)], placement);
  }
  if (kind < 0.05) {
    return oversizedRecord([encoder.encode("too.big"), new Uint8Array(3000)], placement, {
      maxMessageBytes: 1000,
    });
  }
  if (kind < 0.1) {
    return messageRecord(
      [encoder.encode("plain.text"), encoder.encode(`${words.join(" ")}\u0000tail ${seq}`)],
      placement,
    );
  }
  const payload: Record<string, unknown> = {
    from: sender,
    to: pick(SENDERS),
    type: pick(["chat", "tool_call", "status"]),
    content: words.join(" "),
  };
  if (kind < 0.15) payload.meta = { replay_of: Math.max(1, seq - 10) };
  return messageRecord(
    [encoder.encode(`agent.${sender}`), encoder.encode(JSON.stringify(payload))],
    placement,
    {},
  );
}

/** Lines of one session: start, varied messages, unusual frames, events, some damaged. */
function sessionLines(session: string, firstSeq: number, messages: number, seed: number) {
  const random = mulberry32(seed).next;
  const records: RecordBody[] = [sessionStartRecord(firstSeq, session)];
  let seq = firstSeq + 1;
  for (let i = 0; i < messages; i++) records.push(variedMessage(seq++, session, random));
  records.push(...unusualMessageRecords(seq, session));
  seq += 6;
  records.push(eventRecord(seq++, session, "gap"));
  const lines = records.map(encodeRecordLine);
  // Damage a few lines (a flipped bit in the body): skipped by both builds, never trusted.
  for (const at of [5, 17, 40]) {
    const line = lines[at];
    if (!line) continue;
    const byte = line.indexOf(0x22, 12) + 1;
    line[byte] = line[byte]! ^ 0x01;
  }
  return { lines, nextSeq: seq };
}

/** Archives two sessions and writes the current one, with a torn last line. */
async function writeCorpus(layout: DataDirLayout): Promise<void> {
  let seq = 1;
  for (const [i, session] of SESSIONS.entries()) {
    const { lines, nextSeq } = sessionLines(session, seq, 120 + 40 * i, 7 + i);
    seq = nextSeq;
    const path = i < SESSIONS.length - 1
      ? `${layout.archiveDir}/session_${session}.jsonl`
      : layout.currentLog;
    await Deno.mkdir(layout.archiveDir, { recursive: true });
    // The current log is written in three steps, indexed in between (the live path).
    if (path !== layout.currentLog) {
      await Deno.writeFile(path, concatBytes(lines), { mode: 0o600 });
      continue;
    }
    const third = Math.floor(lines.length / 3);
    await Deno.writeFile(path, concatBytes(lines.slice(0, third)), { mode: 0o600 });
    await refreshIndex(layout, { logger: silentLogger });
    const file = await Deno.open(path, { append: true });
    await file.write(concatBytes(lines.slice(third, 2 * third)));
    await refreshIndex(layout, { logger: silentLogger });
    await file.write(concatBytes(lines.slice(2 * third)));
    await file.write(encoder.encode('{"v":1,"seq":99999,"type":"message","sess')); // torn
    file.close();
  }
}

/** Everything a reader can get out of the index, in a comparable form. */
function snapshot(layout: DataDirLayout) {
  const index = SqliteIndex.open(indexPath(layout), { readOnly: true });
  try {
    const requests: SearchRequest[] = [];
    for (const word of WORDS) {
      requests.push({ text: `"${word.replaceAll('"', '""')}"`, limit: 10_000 });
    }
    requests.push(
      { text: "checkpoint recorder", limit: 10_000 },
      { text: '"checkpoint recorder"', limit: 10_000 },
      { text: "caf*", limit: 10_000 },
      { text: "blob", limit: 10_000 },
      { text: "tail", limit: 10_000 },
      { text: "filler", limit: 10_000 },
      { text: "checkpoint NOT cafe", limit: 10_000 },
      { text: "hello", limit: 10_000, includeEvents: true, includeReplays: true },
      { text: "checkpoint", limit: 10_000, includeReplays: true },
      { limit: 10_000 },
      { limit: 10_000, includeEvents: true, includeReplays: true },
      { limit: 10_000, sender: "nul\u0000sender" },
      { limit: 10_000, sender: 'ev"il', session: SESSIONS[1] },
      { limit: 10_000, topic: "big.text" },
      { limit: 10_000, kind: "tool_call", sinceMs: START_MS + 50_000, untilMs: START_MS + 200_000 },
    );
    return {
      searches: requests.map((request) => index.search(request)),
      sessions: index.sessions(),
      stats: index.stats({}, 10),
      count: index.count(),
      lastSeq: index.lastSeq(),
      files: index.files(),
    };
  } finally {
    index.close();
  }
}

/** Files a rebuild left beside index.db. */
async function strayFiles(layout: DataDirLayout): Promise<string[]> {
  const stray: string[] = [];
  for (const suffix of [REBUILD_SUFFIX, REBUILD_FTS_SUFFIX]) {
    if (await exists(indexPath(layout) + suffix)) stray.push(suffix);
  }
  return stray;
}

/** The rows of every table but the full-text one, as stored. */
function tableRows(layout: DataDirLayout): unknown[] {
  const db = new DatabaseSync(indexPath(layout), { readOnly: true });
  try {
    return ["meta", "files", "records", "sessions", "session_agents"].map((table) =>
      db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()
    );
  } finally {
    db.close();
  }
}

Deno.test("reindex rebuilds an index that answers every query exactly as the live-built one", async () => {
  await withDataDir(async (layout) => {
    await writeCorpus(layout);
    await refreshIndex(layout, { logger: silentLogger });
    const before = snapshot(layout);
    const rowsBefore = tableRows(layout);
    assert(before.searches.filter((hits) => hits.length > 0).length > 20, "queries find hits");
    assert(before.count > 400, `${before.count} records indexed`);
    const rebuilt = await refreshIndex(layout, { logger: silentLogger, fresh: true });
    assertEquals(rebuilt.rebuiltBecause, "reindex requested");
    assertEquals([rebuilt.records, rebuilt.badLines], [before.count, 3 * SESSIONS.length]);
    assertEquals(snapshot(layout), before);
    assertEquals(tableRows(layout), rowsBefore);
    assertEquals(await strayFiles(layout), []);
    // A live pass on the rebuilt index finds nothing left to do; the full-text index it copied
    // in from the thread that built it is whole, and takes new rows and deletions.
    assertEquals((await refreshIndex(layout, { logger: silentLogger })).records, 0);
    const db = new DatabaseSync(indexPath(layout));
    try {
      db.exec("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 0)");
      db.exec("INSERT INTO records_fts (rowid, content) VALUES (999999, 'zebra checkpoint')");
      db.exec("DELETE FROM records_fts WHERE rowid = 999999");
      db.exec("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 0)");
    } finally {
      db.close();
    }
  });
});

Deno.test("reindex keeps the old index readable until the new one replaces it", async () => {
  await withDataDir(async (layout) => {
    await writeCorpus(layout);
    await refreshIndex(layout, { logger: silentLogger });
    const before = snapshot(layout);
    let seenDuringBuild: number | undefined;
    await refreshIndex(layout, {
      logger: silentLogger,
      fresh: true,
      onProgress: () => {
        if (seenDuringBuild !== undefined) return;
        const reader = SqliteIndex.open(indexPath(layout), { readOnly: true });
        try {
          seenDuringBuild = reader.count();
        } finally {
          reader.close();
        }
      },
    });
    assertEquals(seenDuringBuild, before.count);
    assertEquals(snapshot(layout), before);
  });
});

Deno.test("a reindex that fails halfway leaves the old index as it was and no stray file", async () => {
  await withDataDir(async (layout) => {
    await writeCorpus(layout);
    await refreshIndex(layout, { logger: silentLogger });
    const before = snapshot(layout);
    await assertRejects(
      () =>
        refreshIndex(layout, {
          logger: silentLogger,
          fresh: true,
          onProgress: () => {
            throw new Error("interrupted");
          },
        }),
      Error,
      "interrupted",
    );
    assertEquals(snapshot(layout), before);
    assertEquals(await strayFiles(layout), []);
  });
});

Deno.test("a reindex killed with -9 halfway leaves the old index; the next one completes", async () => {
  await withDataDir(async (layout) => {
    await writeCorpus(layout);
    await refreshIndex(layout, { logger: silentLogger });
    const before = snapshot(layout);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_reindex_until_killed.ts", import.meta.url).pathname,
        layout.root,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let said = "";
      while (!said.includes("building")) {
        const { value, done } = await reader.read();
        if (done) break;
        said += value;
      }
      assert(said.includes("building"), `child said ${JSON.stringify(said)}`);
      assert(await exists(indexPath(layout) + REBUILD_SUFFIX), "the new index is being built");
      child.kill("SIGKILL");
      await reader.cancel();
    } finally {
      await child.status;
    }
    assertEquals(snapshot(layout), before);
    const rebuilt = await refreshIndex(layout, { logger: silentLogger, fresh: true });
    assertEquals(rebuilt.records, before.count);
    assertEquals(snapshot(layout), before);
    assertEquals(await strayFiles(layout), []);
  });
});
