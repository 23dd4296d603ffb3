import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertThrows } from "../_assert.ts";
import { openStore } from "../../src/pgstore/connection.ts";
import {
  PgBadQueryError,
  searchTextOf,
  searchWords,
  toTsquery,
} from "../../src/pgstore/search_query.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";

const CORPUS = [
  "deploy the build: it failed at src/cli/search_command.ts line 42",
  "Build FAILED again; rolling back to v1.2.3",
  "rollback done, mail ops@example.org about the outage",
  "café déjà vu: the naïve résumé parser",
  "the deploy succeeded after the rollback",
  "日本語テキスト and ＦＵＬＬ width letters",
  "under_score identifiers and foo-bar-baz kebab-case",
  "checkpoint 20261130_014500 saved (312 messages)",
  "nothing to see here",
  "it's a \"quoted\" word and 'single' quotes \\ backslash",
];

const QUERIES = [
  "deploy",
  "build failed",
  '"build failed"',
  '"failed at src"',
  "rollback OR outage",
  "deploy NOT rollback",
  "roll*",
  "ro*",
  "(deploy OR build) failed",
  "(deploy OR build) AND failed",
  "deploy NOT rollback succeeded",
  "deploy NOT build failed",
  "build failed OR outage",
  "deploy (build)",
  "NOT deploy",
  "search_command",
  "src/cli".replace("/", " "),
  '"src/cli/search_command.ts"',
  "example",
  "cafe",
  "café",
  "DEJA",
  "日本語テキスト",
  "full",
  "foo + bar",
  '"kebab case"',
  "20261130*",
  "checkpoint AND saved",
  "content:deploy",
  "quoted OR single",
  "backslash",
  "v1 2 3",
  '"v1.2.3"',
  "it s",
  "nothing OR deploy NOT build",
  "a OR b c",
];

Deno.test("searchWords() splits and folds as FTS5's unicode61 remove_diacritics 2 does", () => {
  const db = new DatabaseSync(":memory:");
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(content,
        tokenize='unicode61 remove_diacritics 2');
      CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row');`);
    for (const text of CORPUS) db.prepare("INSERT INTO t (content) VALUES (?)").run(text);
    const sqlite = (db.prepare("SELECT term FROM v ORDER BY term").all() as { term: string }[])
      .map((row) => row.term);
    const ours = [...new Set(CORPUS.flatMap(searchWords))].sort();
    assertEquals(ours, sqlite.sort());
  } finally {
    db.close();
  }
});

Deno.test("toTsquery() translates words, phrases, OR, NOT, prefixes with FTS5 precedence", () => {
  assertEquals(
    toTsquery('deploy "build failed" OR rollback*'),
    "(('deploy' & ('build' <-> 'failed')) | 'rollback':*)",
  );
  assertEquals(toTsquery("a NOT b c"), "('a' & !('b' & 'c'))");
  assertEquals(toTsquery("a OR b NOT c"), "('a' | ('b' & !'c'))");
  assertEquals(toTsquery("foo + bar*"), "('foo' <-> 'bar':*)");
  assertEquals(toTsquery("Café"), "'cafe'");
  // Quotes and backslashes never reach the tsquery text: words hold letters and digits only.
  assertEquals(toTsquery(`"it's a \\ test"`), "('it' <-> 's' <-> 'a' <-> 'test')");
  assertEquals(searchTextOf("See src/cli/Café.ts"), "see src cli cafe ts");
});

Deno.test("toTsquery() refuses what FTS5 refuses, as a bad query (exit 2)", () => {
  const refused = ["NOT a", "a AND", "(a", "a)", "a OR OR b", "foo-bar", "x:foo", '"open', "(a) b"];
  for (const query of refused) {
    const error = assertThrows(() => toTsquery(query), PgBadQueryError);
    assertEquals(error.exitCode, 2, query);
  }
});

Deno.test({
  name: "PostgreSQL finds the same rows as SQLite FTS5 for every query form",
  ignore: !pgAvailable,
}, async () => {
  const db = new DatabaseSync(":memory:");
  const cluster = await startPgCluster();
  const store = await openStore(cluster.url);
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(content,
      tokenize='unicode61 remove_diacritics 2')`);
    await store.sql`CREATE TABLE docs (id int PRIMARY KEY, search_text text NOT NULL,
      search tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED)`;
    for (const [i, text] of CORPUS.entries()) {
      db.prepare("INSERT INTO t (rowid, content) VALUES (?, ?)").run(i + 1, text);
      await store.sql`INSERT INTO docs (id, search_text) VALUES (${i + 1}, ${searchTextOf(text)})`;
    }
    for (const query of QUERIES) {
      let sqlite: number[];
      try {
        sqlite = (db.prepare("SELECT rowid AS id FROM t WHERE t MATCH ? ORDER BY rowid")
          .all(query) as { id: number }[]).map((row) => row.id);
      } catch (error) {
        if (!/fts5|no such column/.test((error as Error).message)) throw error;
        assertThrows(() => toTsquery(query), PgBadQueryError); // refused by both
        continue;
      }
      const pg = (await store.sql<{ id: number }[]>`SELECT id FROM docs
        WHERE search @@ to_tsquery('simple', ${toTsquery(query)}) ORDER BY id`)
        .map((row) => row.id);
      assertEquals(pg, sqlite, `query ${query}: ${toTsquery(query)}`);
    }
  } finally {
    db.close();
    await store.close();
    await cluster.stop();
  }
});
