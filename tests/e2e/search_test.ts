import { assert, assertEquals } from "../_assert.ts";
import {
  connectPublisher,
  daemonStatus,
  runCli,
  startDaemon,
  startTestBroker,
  tempDir,
  waitFor,
  waitForDurable,
  waitForIndexed,
  warmUp,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

interface Sent {
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly content: string;
}

/** A small conversation with known words, so every search has a known answer. */
function conversation(): Sent[] {
  const sent: Sent[] = [];
  for (let i = 0; i < 60; i++) {
    const from = ["claude", "gemini", "script"][i % 3]!;
    const topicWord = i % 10 === 0 ? "checkpoint saved" : i % 7 === 0 ? "disk full" : "routine";
    sent.push({
      from,
      to: from === "claude" ? "gemini" : "claude",
      type: i % 2 === 0 ? "chat" : "tool",
      content: `message ${i} about ${topicWord} zebra${i}`,
    });
  }
  return sent;
}

async function cliJson(args: string[]): Promise<{ code: number; json: Record<string, unknown> }> {
  const result = await runCli([...args, "--json"]);
  assert(result.stdout.trim() !== "", `no output from ${args.join(" ")}: ${result.stderr}`);
  return { code: result.code, json: JSON.parse(result.stdout) };
}

async function record(dataDir: string, sent: Sent[], extraDaemonArgs: string[] = []) {
  const { endpoints, broker } = await startTestBroker();
  const daemon = await startDaemon(dataDir, endpoints.backend, extraDaemonArgs);
  const publisher = connectPublisher(endpoints.frontend);
  try {
    const baseline = await warmUp(publisher, dataDir);
    for (const message of sent) {
      await publisher.send([`agent.${message.from}`, JSON.stringify(message)]);
    }
    await waitForDurable(dataDir, baseline, sent.length);
  } finally {
    publisher.close();
    await broker.stop();
  }
  return daemon;
}

function seqs(json: Record<string, unknown>, key = "results"): number[] {
  return (json[key] as { seq: number }[]).map((hit) => hit.seq);
}

Deno.test({
  name: "search finds what was recorded through a real broker and daemon, with each filter",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("search");
    const dataDir = `${dir.path}/data`;
    const sent = conversation();
    const daemon = await record(dataDir, sent);
    try {
      await waitForIndexed(dataDir);
      const all = await cliJson(["search", "zebra*", "--data-dir", dataDir, "-n", "100"]);
      assertEquals(all.code, 0);
      assertEquals((all.json.results as unknown[]).length, 60);
      const newestFirst = seqs(all.json);
      assertEquals(newestFirst, [...newestFirst].sort((a, b) => b - a));

      const saved = await cliJson(["search", '"checkpoint saved"', "--data-dir", dataDir]);
      assertEquals((saved.json.results as unknown[]).length, 6);
      const snippet = (saved.json.results as { snippet: string }[])[0]!.snippet;
      assert(snippet.includes("[checkpoint] [saved]"), snippet);

      const bySender = await cliJson([
        "search",
        "routine",
        "--sender",
        "gemini",
        "--data-dir",
        dataDir,
        "-n",
        "100",
      ]);
      const expected = sent.filter((m) => m.from === "gemini" && m.content.includes("routine"));
      assertEquals((bySender.json.results as unknown[]).length, expected.length);
      for (const hit of bySender.json.results as { sender: string }[]) {
        assertEquals(hit.sender, "gemini");
      }
      const byTopic = await cliJson(["search", "--topic", "agent.script", "--data-dir", dataDir]);
      assertEquals((byTopic.json.results as unknown[]).length, 20);
      const byKind = await cliJson(["search", "disk", "--kind", "tool", "--data-dir", dataDir]);
      const diskTools = sent.filter((m) => m.type === "tool" && m.content.includes("disk"));
      assertEquals((byKind.json.results as unknown[]).length, diskTools.length);
      const future = await cliJson([
        "search",
        "zebra*",
        "--since",
        "2999-01-01",
        "--data-dir",
        dataDir,
      ]);
      assertEquals([future.code, (future.json.results as unknown[]).length], [1, 0]);
      const past = await cliJson(["search", "zebra*", "--until", "1h", "--data-dir", dataDir]);
      assertEquals((past.json.results as unknown[]).length, 0);
      const recentHour = await cliJson([
        "search",
        "zebra7",
        "--since",
        "1h",
        "--data-dir",
        dataDir,
      ]);
      assertEquals((recentHour.json.results as unknown[]).length, 1);
      const status = await daemonStatus(dataDir);
      const bySession = await cliJson([
        "search",
        "zebra1",
        "--session",
        status!.session as string,
        "--data-dir",
        dataDir,
      ]);
      assertEquals((bySession.json.results as unknown[]).length, 1);

      const recent = await cliJson(["recent", "5", "--data-dir", dataDir]);
      const recentHits = recent.json.messages as { seq: number; preview: string }[];
      assertEquals(recentHits.map((hit) => hit.preview), sent.slice(-5).map((m) => m.content));

      const shown = await cliJson(["show", String(recentHits[0]!.seq), "--data-dir", dataDir]);
      const record = shown.json.record as { frames: string[] };
      assertEquals(JSON.parse(record.frames[1]!), sent[55]);
      const raw = await runCli([
        "show",
        String(recentHits[0]!.seq),
        "--raw",
        "--data-dir",
        dataDir,
      ]);
      assert(raw.stdout.endsWith("}\n") && raw.stdout.includes('"crc":"'), raw.stdout);

      const sessions = await cliJson(["sessions", "--data-dir", dataDir]);
      const session = (sessions.json.sessions as { messages: number; agents: string[] }[])[0]!;
      assert(session.messages >= 60, `messages ${session.messages}`);
      assertEquals([...session.agents].sort(), ["claude", "gemini", "script"]);

      const stats = await cliJson(["stats", "--data-dir", dataDir]);
      const bySenderStats = stats.json.bySender as { key: string; messages: number }[];
      assertEquals(bySenderStats.find((row) => row.key === "claude")?.messages, 20);
      const human = await runCli(["stats", "--data-dir", dataDir]);
      assertEquals(human.code, 0);
      assert(human.stdout.includes("Per sender") && human.stdout.includes("█"), human.stdout);
      for (const line of human.stdout.split("\n")) assert(line.length <= 80, `too wide: ${line}`);
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "search catches up after the daemon was killed before indexing what it recorded",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("catchup");
    const dataDir = `${dir.path}/data`;
    const sent = conversation();
    // --no-index: the log is written but nothing indexed, as when killed between the two.
    const daemon = await record(dataDir, sent, ["--no-index"]);
    try {
      await daemon.kill("SIGKILL");
      const found = await cliJson(["search", "zebra*", "--data-dir", dataDir, "-n", "100"]);
      assertEquals((found.json.results as unknown[]).length, 60);
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "a deleted or corrupted index.db is rebuilt and answers the same",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("corrupt_index");
    const dataDir = `${dir.path}/data`;
    const daemon = await record(dataDir, conversation());
    try {
      const stopped = await daemon.kill("SIGTERM");
      if (stopped.code !== 0) console.log(stopped, await Deno.readTextFile(daemon.logPath));
      assertEquals(stopped.code, 0);
      const query = ["search", "disk OR checkpoint", "--data-dir", dataDir, "-n", "100"];
      const before = seqs((await cliJson(query)).json);
      assert(before.length > 0);

      await Deno.remove(`${dataDir}/metadata_index/index.db`);
      assertEquals(seqs((await cliJson(query)).json), before);

      const indexFile = `${dataDir}/metadata_index/index.db`;
      const bytes = await Deno.readFile(indexFile);
      bytes.set(new TextEncoder().encode("this is not a sqlite database!!"), 0);
      await Deno.writeFile(indexFile, bytes);
      const result = await runCli([...query, "--json"]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(seqs(JSON.parse(result.stdout)), before);
      const setAside = [...Deno.readDirSync(`${dataDir}/recovery`)].map((entry) => entry.name)
        .filter((name) => name.startsWith("index_unusable_") && name.endsWith(".db"));
      assertEquals(setAside.length, 1, "the damaged index is kept in recovery/");
      assertEquals(
        (await Deno.readFile(`${dataDir}/recovery/${setAside[0]}`)).subarray(0, 31),
        bytes.subarray(0, 31),
      );
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "reindex rebuilds an archive of several sessions; malformed queries exit 2",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("reindex");
    const dataDir = `${dir.path}/data`;
    const daemon = await record(dataDir, conversation());
    try {
      for (let i = 0; i < 2; i++) {
        const rotated = await runCli(["new-session", "--data-dir", dataDir]);
        assertEquals(rotated.code, 0, rotated.stderr);
      }
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const reindex = await cliJson(["reindex", "--data-dir", dataDir]);
      assertEquals(reindex.code, 0);
      const sessions = (await cliJson(["sessions", "--data-dir", dataDir])).json.sessions as {
        file: string;
      }[];
      assertEquals(sessions.length, 3);
      assertEquals(sessions.filter((s) => s.file.startsWith("archive/")).length, 2);
      const found = await cliJson(["search", "zebra*", "--data-dir", dataDir, "-n", "100"]);
      assertEquals((found.json.results as unknown[]).length, 60);

      for (const bad of ['"unterminated', "AND", "zebra AND (", "col:zebra"]) {
        const result = await runCli(["search", bad, "--data-dir", dataDir]);
        assertEquals(result.code, 2, `query ${bad}: ${result.stderr}`);
        assert(result.stderr.includes("Cannot search for"), result.stderr);
        assert(!result.stderr.includes("    at "), "no stack trace");
      }
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "reindex while the daemon records: its indexer pauses, then follows the rebuilt index",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("reindex_live");
    const dataDir = `${dir.path}/data`;
    const daemon = await record(dataDir, conversation());
    try {
      const reindex = await cliJson(["reindex", "--data-dir", dataDir]);
      assertEquals(reindex.code, 0);
      assert((reindex.json.records as number) >= 60, JSON.stringify(reindex.json));
      await waitFor("the daemon's indexer to take the index back", async () => {
        const index = (await daemonStatus(dataDir))?.index as { state: string; lag: number };
        return index?.state === "indexing" && index.lag === 0;
      });
      const found = await cliJson(["search", "zebra*", "--data-dir", dataDir, "-n", "100"]);
      assertEquals((found.json.results as unknown[]).length, 60);
    } finally {
      await daemon.kill();
      await dir.cleanup();
    }
  },
});
