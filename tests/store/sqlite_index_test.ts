import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertThrows } from "../_assert.ts";
import {
  BadQueryError,
  INDEX_SCHEMA_VERSION,
  IndexUnusableError,
  SqliteIndex,
} from "../../src/store/sqlite_index.ts";
import type { PlacedEntry } from "../../src/store/message_index.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("SqliteIndex keeps text after a NUL: hits, sessions' agents and stats read it whole", async () => {
  const dir = await tempDir("index_nul");
  const index = SqliteIndex.open(`${dir.path}/index.db`, { readOnly: false });
  try {
    const entry: PlacedEntry = {
      seq: 1,
      type: "message",
      session: "s1",
      receivedAtMs: Date.parse("2026-11-25T10:00:00Z"),
      topic: "nul\u0000topic",
      sender: "ann\u0000ie",
      recipient: "bo\u0000b",
      kind: "no\u0000te",
      bytes: 10,
      tokens: 3,
      preview: "before\u0000after",
      content: "before\u0000afterword",
      offset: 0,
      length: 100,
    };
    index.applyBatch({
      firstSeq: 1,
      path: "current_session.jsonl",
      session: "s1",
      indexedBytes: 100,
      lastSeq: 1,
      lastOffset: 0,
      lastLength: 100,
    }, [entry]);
    const [hit] = index.search({ text: "afterword", limit: 5 });
    assertEquals(
      [hit?.topic, hit?.sender, hit?.recipient, hit?.kind, hit?.preview],
      ["nul\u0000topic", "ann\u0000ie", "bo\u0000b", "no\u0000te", "before\u0000after"],
    );
    assertEquals(index.search({ sender: "ann\u0000ie", limit: 5 }).length, 1);
    assertEquals(index.locate(1)?.topic, "nul\u0000topic");
    assertEquals(index.sessions()[0]?.agents, ["ann\u0000ie"]);
    const stats = index.stats({}, 5);
    assertEquals(stats.bySender[0]?.key, "ann\u0000ie");
    assertEquals(stats.byTopic[0]?.key, "nul\u0000topic");
    assertEquals(stats.byHour[0]?.key, "2026-11-25T10:00:00.000Z");
  } finally {
    index.close();
    await dir.cleanup();
  }
});

const HOUR_MS = 3_600_000;
const T0 = Date.parse("2026-11-25T10:00:00Z");

/** An index entry of a chat message; fields override the defaults. */
function entry(seq: number, fields: Partial<PlacedEntry> = {}): PlacedEntry {
  return {
    seq,
    type: "message",
    session: "s1",
    receivedAtMs: T0 + seq * 1000,
    topic: "agents",
    sender: "claude",
    recipient: null,
    kind: "chat",
    bytes: 100,
    tokens: 10,
    preview: `preview ${seq}`,
    content: `message number ${seq}`,
    offset: (seq - 1) * 100,
    length: 100,
    ...fields,
  };
}

/** Progress of a file whose last entry is `last`. */
function progress(firstSeq: number, path: string, session: string, last: PlacedEntry) {
  return {
    firstSeq,
    path,
    session,
    indexedBytes: last.offset + last.length,
    lastSeq: last.seq,
    lastOffset: last.offset,
    lastLength: last.length,
  };
}

/** Runs `fn` with a writable index in a temp dir, holding a small conversation. */
async function withFilledIndex(fn: (index: SqliteIndex, path: string) => void): Promise<void> {
  const dir = await tempDir("sqlite_index");
  const path = `${dir.path}/index.db`;
  const index = SqliteIndex.open(path, { readOnly: false });
  try {
    const archived = [
      entry(1, { type: "session_start", sender: null, kind: "session_start", content: null }),
      entry(2, { sender: "claude", content: "the kiwi is ripe" }),
      entry(3, { sender: "gemini", content: "mango and kiwi", bytes: 500, tokens: 50 }),
    ];
    const current = [
      entry(4, { session: "s2", sender: "gemini", receivedAtMs: T0 + HOUR_MS }),
      entry(5, {
        session: "s2",
        sender: "codex",
        topic: "ops",
        kind: "alert",
        receivedAtMs: T0 + HOUR_MS + 1,
      }),
      entry(6, {
        session: "s2",
        type: "gap",
        sender: null,
        content: null,
        receivedAtMs: T0 + HOUR_MS + 2,
      }),
      entry(7, {
        session: "s2",
        sender: "gemini",
        content: "kiwi again",
        receivedAtMs: T0 + HOUR_MS + 3,
      }),
    ];
    index.applyBatch(progress(1, "archive/session_s1.jsonl", "s1", archived.at(-1)!), archived);
    index.applyBatch(progress(4, "current_session.jsonl", "s2", current.at(-1)!), current);
    fn(index, path);
  } finally {
    index.close();
    await dir.cleanup();
  }
}

Deno.test("SqliteIndex.files() returns each file's progress as applyBatch() recorded it", async () => {
  await withFilledIndex((index) => {
    assertEquals(index.files(), [
      {
        firstSeq: 1,
        path: "archive/session_s1.jsonl",
        session: "s1",
        indexedBytes: 300,
        lastSeq: 3,
        lastOffset: 200,
        lastLength: 100,
      },
      {
        firstSeq: 4,
        path: "current_session.jsonl",
        session: "s2",
        indexedBytes: 700,
        lastSeq: 7,
        lastOffset: 600,
        lastLength: 100,
      },
    ]);
    assertEquals([index.count(), index.lastSeq()], [7, 7]);
  });
});

Deno.test("SqliteIndex.search() finds text newest first, with filters, messages only by default", async () => {
  await withFilledIndex((index) => {
    const seqs = (request: Parameters<SqliteIndex["search"]>[0]) =>
      index.search(request).map((hit) => hit.seq);
    assertEquals(seqs({ text: "kiwi", limit: 10 }), [7, 3, 2]);
    assertEquals(seqs({ text: "kiwi", limit: 2 }), [7, 3]);
    assertEquals(seqs({ text: "kiwi", sender: "gemini", limit: 10 }), [7, 3]);
    assertEquals(seqs({ text: "kiwi", session: "s1", limit: 10 }), [3, 2]);
    assertEquals(seqs({ text: "kiw*", limit: 10 }), [7, 3, 2]);
    assertEquals(seqs({ text: "kiwi NOT mango", limit: 10 }), [7, 2]);
    assertEquals(seqs({ limit: 10 }), [7, 5, 4, 3, 2]);
    assertEquals(seqs({ limit: 10, includeEvents: true }), [7, 6, 5, 4, 3, 2, 1]);
    assertEquals(seqs({ topic: "ops", kind: "alert", limit: 10 }), [5]);
    assertEquals(seqs({ sinceMs: T0 + HOUR_MS, untilMs: T0 + HOUR_MS + 1, limit: 10 }), [5, 4]);
    assertEquals(seqs({ text: "   ", sender: "claude", limit: 10 }), [2]);
    const [hit] = index.search({ text: "mango", limit: 1 });
    assertEquals(hit, {
      seq: 3,
      type: "message",
      session: "s1",
      receivedAtMs: T0 + 3000,
      topic: "agents",
      sender: "gemini",
      recipient: null,
      kind: "chat",
      bytes: 500,
      tokens: 50,
      preview: "preview 3",
      file: "archive/session_s1.jsonl",
      offset: 200,
      length: 100,
    });
  });
});

Deno.test("SqliteIndex.search() throws BadQueryError (exit 2) for text FTS5 cannot parse", async () => {
  await withFilledIndex((index) => {
    for (const text of ['"unterminated', "kiwi AND", "nocolumn:kiwi"]) {
      const error = assertThrows(
        () => index.search({ text, limit: 5 }),
        BadQueryError,
        `Cannot search for ${JSON.stringify(text)}: `,
      );
      assertEquals(error.exitCode, 2);
    }
  });
});

Deno.test("SqliteIndex.sessions() sums messages per session and lists agents, busiest first", async () => {
  await withFilledIndex((index) => {
    assertEquals(
      index.sessions().map((
        s,
      ) => [s.session, s.firstSeq, s.lastSeq, s.messages, s.bytes, s.agents, s.file]),
      [
        ["s1", 1, 3, 2, 600, ["claude", "gemini"], "archive/session_s1.jsonl"],
        ["s2", 4, 7, 3, 300, ["gemini", "codex"], "current_session.jsonl"],
      ],
    );
    const [s1] = index.sessions();
    assertEquals([s1!.startedAtMs, s1!.endedAtMs, s1!.tokens], [T0 + 1000, T0 + 3000, 60]);
  });
});

Deno.test("SqliteIndex.stats() counts messages by sender, topic, session and hour, biggest first", async () => {
  await withFilledIndex((index) => {
    const stats = index.stats({}, 2);
    assertEquals({ ...stats.totals }, { messages: 5, bytes: 900, tokens: 90 });
    assertEquals(stats.bySender.map((g) => [g.key, g.messages]), [["gemini", 3], ["claude", 1]]);
    assertEquals(stats.byTopic.map((g) => [g.key, g.messages]), [["agents", 4], ["ops", 1]]);
    assertEquals(stats.bySession.map((g) => [g.key, g.messages]), [["s2", 3], ["s1", 2]]);
    assertEquals(stats.byHour.map((g) => [g.key, g.messages]), [
      ["2026-11-25T10:00:00.000Z", 2],
      ["2026-11-25T11:00:00.000Z", 3],
    ]);
    assertEquals(stats.biggest.map((hit) => hit.seq), [3, 7]);
    assertEquals(index.stats({ sender: "gemini", session: "s2" }, 5).totals.messages, 2);
  });
});

Deno.test("SqliteIndex.dropFile() removes a file's records and recomputes its sessions", async () => {
  await withFilledIndex((index) => {
    index.dropFile(4);
    assertEquals(index.files().map((file) => file.firstSeq), [1]);
    assertEquals([index.count(), index.lastSeq()], [3, 3]);
    assertEquals(index.search({ text: "kiwi", limit: 10 }).map((hit) => hit.seq), [3, 2]);
    assertEquals(index.sessions().map((s) => s.session), ["s1"]);
    assertEquals(index.locate(7), undefined);
  });
});

Deno.test("SqliteIndex.renameFile() moves every hit of a file to its new path", async () => {
  await withFilledIndex((index) => {
    index.renameFile(4, "archive/session_s2.jsonl");
    assertEquals(index.locate(5)?.file, "archive/session_s2.jsonl");
    assertEquals(index.sessions()[1]?.file, "archive/session_s2.jsonl");
  });
});

Deno.test("SqliteIndex opened read-only sees what the writer committed, while it stays open", async () => {
  await withFilledIndex((writer, path) => {
    const reader = SqliteIndex.open(path, { readOnly: true });
    try {
      assertEquals(reader.count(), 7);
      const more = [entry(8, { session: "s2", content: "late kiwi" })];
      writer.applyBatch(progress(4, "current_session.jsonl", "s2", more[0]!), more);
      assertEquals(reader.search({ text: "late", limit: 5 }).map((hit) => hit.seq), [8]);
    } finally {
      reader.close();
    }
  });
});

Deno.test("SqliteIndex.open() throws IndexUnusableError for a foreign file or another schema", async () => {
  const dir = await tempDir("sqlite_index_unusable");
  try {
    const garbage = `${dir.path}/garbage.db`;
    await Deno.writeTextFile(garbage, "not a database ".repeat(500));
    assertThrows(() => SqliteIndex.open(garbage, { readOnly: false }), IndexUnusableError);
    assertThrows(() => SqliteIndex.open(garbage, { readOnly: true }), IndexUnusableError);
    const foreign = `${dir.path}/foreign.db`;
    const db = new DatabaseSync(foreign);
    db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    db.exec("INSERT INTO meta VALUES ('schema_version', '0')");
    db.close();
    assertThrows(
      () => SqliteIndex.open(foreign, { readOnly: false }),
      IndexUnusableError,
      `Cannot use the index "${foreign}": schema version 0, expected ${INDEX_SCHEMA_VERSION}`,
    );
    assertThrows(
      () => SqliteIndex.open(`${dir.path}/missing.db`, { readOnly: true }),
      IndexUnusableError,
    );
  } finally {
    await dir.cleanup();
  }
});
