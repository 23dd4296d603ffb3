import { dataDirLayout } from "../../src/store/data_dir.ts";
import type { LogRecord } from "../../src/store/record.ts";
import { listArchivedLogs } from "../../src/store/session_archive.ts";
import { assert, assertEquals } from "../_assert.ts";
import { runCli, tempDir } from "../_helpers.ts";
import {
  assertSeqOrder,
  chatRecord,
  readAllLogs,
  sessionStartRecord,
  writeLog,
} from "../log_fixtures.ts";

const FIXTURES = new URL("../fixtures/import/", import.meta.url).pathname.replace(/\/$/, "");
const CLAUDE =
  `${FIXTURES}/claude-projects/-home-dev-harbor/7c1e9a52-3b4d-4f60-9a1e-2d5b8c0f4e11.jsonl`;
const GEMINI = `${FIXTURES}/gemini/session-2026-11-21T14-05-3f9d2a1b.jsonl`;
const GENERIC = `${FIXTURES}/agents.jsonl`;

interface JsonOutcome {
  path: string;
  format: string;
  imported: number;
  already: number;
  problems: string[];
  session: string | null;
  archive: string | null;
  first_seq: number | null;
  last_seq: number | null;
}

async function importJson(dataDir: string, ...args: string[]) {
  const result = await runCli(["import", ...args, "--data-dir", dataDir, "--json"]);
  const parsed = result.stdout ? JSON.parse(result.stdout) : undefined;
  return { ...result, files: (parsed?.files ?? []) as JsonOutcome[], daemon: parsed?.daemon };
}

async function allRecords(dataDir: string): Promise<LogRecord[][]> {
  return await readAllLogs(dataDirLayout(dataDir));
}

Deno.test("import of a folder brings every format in, each file as one archived session", async () => {
  const dir = await tempDir("import_folder");
  try {
    const dataDir = `${dir.path}/data`;
    const result = await importJson(dataDir, FIXTURES);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.daemon, false);
    assertEquals(
      result.files.map((file) => [file.path, file.format, file.imported, file.already]),
      [
        [GENERIC, "jsonl", 3, 0],
        [CLAUDE, "claude-code", 6, 0],
        [GEMINI, "gemini-cli", 8, 0],
      ],
    );
    // The bad line is reported as file:line: reason, on stderr and in the JSON.
    assert(result.stderr.includes(`${GENERIC}:3: not valid JSON`), result.stderr);
    assertEquals(result.files[0]!.problems.length, 1);

    const archives = await listArchivedLogs(dataDirLayout(dataDir));
    assertEquals(archives.length, 3);
    for (const archive of archives) {
      assertEquals((await Deno.stat(archive)).mode! & 0o777, 0o600, archive);
    }
    const logs = await allRecords(dataDir);
    assertSeqOrder(logs);
    const claude = logs.find((records) =>
      records.some((record) => record.topic === "import/claude-code")
    )!;
    assertEquals(claude.map((record) => record.type), [
      "session_start",
      ...Array(6).fill("message"),
      "session_end",
    ]);
    // The original line is the payload frame, byte for byte, and meta says where it came from.
    const lines = (await Deno.readTextFile(CLAUDE)).split("\n");
    const third = claude[3]!;
    assertEquals((third.frames as string[])[1], lines[2]);
    const meta = third.meta as Record<string, unknown>;
    assertEquals(meta.imported_from, {
      path: CLAUDE,
      line: 3,
      format: "claude-code",
      key: "claude-code:a6f0c2d4-0002-4c1e-8b1a-0000000000a2",
    });
    // Times are the transcript's own.
    assertEquals(third.received_at, "2026-11-20T09:14:09.540Z");
  } finally {
    await dir.cleanup();
  }
});

Deno.test("import of the same files twice adds nothing, also after a reindex", async () => {
  const dir = await tempDir("import_twice");
  try {
    const dataDir = `${dir.path}/data`;
    assertEquals((await importJson(dataDir, CLAUDE, GEMINI)).code, 0);
    const before = (await allRecords(dataDir)).flat().length;
    const again = await importJson(dataDir, GEMINI, CLAUDE);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.files.map((file) => [file.imported, file.already]), [[0, 8], [0, 6]]);
    assertEquals((await allRecords(dataDir)).flat().length, before);

    const reindex = await runCli(["reindex", "--data-dir", dataDir]);
    assertEquals(reindex.code, 0, reindex.stderr);
    await Deno.remove(`${dataDir}/metadata_index`, { recursive: true });
    const third = await importJson(dataDir, CLAUDE);
    assertEquals(third.files[0]!.imported, 0);
    assertEquals((await allRecords(dataDir)).flat().length, before);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("import adds only the new lines of a transcript that grew", async () => {
  const dir = await tempDir("import_grown");
  try {
    const dataDir = `${dir.path}/data`;
    const copy = `${dir.path}/chat.jsonl`;
    const lines = (await Deno.readTextFile(CLAUDE)).trimEnd().split("\n");
    await Deno.writeTextFile(copy, lines.slice(0, 3).join("\n") + "\n");
    assertEquals((await importJson(dataDir, copy)).files[0]!.imported, 3);
    await Deno.writeTextFile(copy, lines.join("\n") + "\n");
    const grown = await importJson(dataDir, copy);
    assertEquals([grown.files[0]!.imported, grown.files[0]!.already], [3, 3]);
    const messages = (await allRecords(dataDir)).flat().filter((r) => r.type === "message");
    assertEquals(messages.length, 6);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("imported transcripts are searchable: a word of a tool_result, original times for --since", async () => {
  const dir = await tempDir("import_search");
  try {
    const dataDir = `${dir.path}/data`;
    assertEquals((await importJson(dataDir, FIXTURES)).code, 0);
    const found = await runCli(["search", "barnacle", "--data-dir", dataDir, "--json"]);
    assertEquals(found.code, 0, found.stderr);
    const hits = JSON.parse(found.stdout).results;
    assertEquals(hits.length, 1);
    assertEquals(hits[0].topic, "import/claude-code");
    assertEquals(new Date(hits[0].receivedAtMs).toISOString(), "2026-11-20T09:14:21.007Z");
    // Gemini's tool result (inside toolCalls) is searchable too.
    const tool = await runCli(["search", "petrel", "--data-dir", dataDir, "--json"]);
    assertEquals(tool.code, 0, tool.stderr);
    const toolHits = JSON.parse(tool.stdout).results as { seq: number; topic: string }[];
    assertEquals(toolHits.length, 2, "the tool result and the answer that names it");
    // --since works on the transcripts' own times: the Claude session (Nov 20) is before it.
    const since = await runCli([
      "search",
      "barnacle",
      "--since",
      "2026-11-21T00:00:00Z",
      "--data-dir",
      dataDir,
    ]);
    assertEquals(since.code, 1, since.stdout);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("import offline puts its seqs after every record already stored", async () => {
  const dir = await tempDir("import_offline_seq");
  try {
    const dataDir = `${dir.path}/data`;
    const layout = dataDirLayout(dataDir);
    await Deno.mkdir(dataDir, { recursive: true });
    await writeLog(layout.currentLog, [
      sessionStartRecord(40, "20261125_090000_0001"),
      chatRecord(41, "20261125_090000_0001", "hello before the import"),
    ]);
    const result = await importJson(dataDir, GENERIC);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.files[0]!.first_seq, 42);
    assertEquals(result.files[0]!.last_seq, 46);
    assertSeqOrder(await allRecords(dataDir));
  } finally {
    await dir.cleanup();
  }
});

Deno.test("import exit codes: 1 when a file yields nothing, 2 on bad arguments, 66 for a missing path", async () => {
  const dir = await tempDir("import_exit");
  try {
    const dataDir = `${dir.path}/data`;
    const junk = `${dir.path}/junk.jsonl`;
    await Deno.writeTextFile(junk, "not json\n{broken\n");
    const nothing = await importJson(dataDir, junk, GENERIC);
    assertEquals(nothing.code, 1);
    assertEquals(nothing.files.map((file) => file.imported), [0, 3]);
    assert(nothing.stderr.includes(`${junk}:1: not valid JSON`), nothing.stderr);
    assert(nothing.stderr.includes(`${junk}:2: not valid JSON`), nothing.stderr);

    assertEquals((await runCli(["import", "--data-dir", dataDir])).code, 2);
    const badFormat = await runCli(["import", GENERIC, "--format", "yaml", "--data-dir", dataDir]);
    assertEquals(badFormat.code, 2);
    assert(badFormat.stderr.includes('unknown --format "yaml"'), badFormat.stderr);
    const missing = await runCli(["import", `${dir.path}/nope.jsonl`, "--data-dir", dataDir]);
    assertEquals(missing.code, 66, missing.stderr);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("a large import reports its progress on stderr", async () => {
  const dir = await tempDir("import_progress");
  try {
    const folder = `${dir.path}/chats`;
    await Deno.mkdir(folder);
    const filler = "tide ".repeat(200);
    for (let file = 0; file < 5; file++) {
      const lines = Array.from(
        { length: 1000 },
        (_, i) =>
          JSON.stringify({
            ts: `2026-11-22T08:${String(file).padStart(2, "0")}:00Z`,
            from: "a",
            text: `${file} ${i} ${filler}`,
          }),
      );
      await Deno.writeTextFile(`${folder}/chat_${file}.jsonl`, lines.join("\n") + "\n");
    }
    const result = await runCli(["import", folder, "--data-dir", `${dir.path}/data`]);
    assertEquals(result.code, 0, result.stderr);
    assert(result.stderr.includes("Importing: 100% 5 of 5 files"), result.stderr);
    assert(result.stderr.includes("Importing: 5 files read"), result.stderr);
    assertEquals(result.stdout.trim().split("\n").length, 5);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("imports run at the same time offline wait for each other and add each line once", async () => {
  const dir = await tempDir("import_concurrent");
  try {
    const dataDir = `${dir.path}/data`;
    await Deno.mkdir(dataDir);
    const runs = await Promise.all([1, 2, 3].map(() => importJson(dataDir, FIXTURES)));
    assertEquals(runs.map((run) => run.code), [0, 0, 0], runs.map((run) => run.stderr).join(""));
    const imported = runs.map((run) => run.files.reduce((sum, file) => sum + file.imported, 0));
    assertEquals(imported.sort(), [0, 0, 17]);
    const messages = (await allRecords(dataDir)).flat().filter((r) => r.type === "message");
    assertEquals(messages.length, 3 + 6 + 8);
    assertSeqOrder(await allRecords(dataDir));
  } finally {
    await dir.cleanup();
  }
});

Deno.test("import removes the temporary file of an import that died before its rename", async () => {
  const dir = await tempDir("import_unfinished");
  try {
    const dataDir = `${dir.path}/data`;
    await Deno.mkdir(`${dataDir}/archive`, { recursive: true });
    const leftover = `${dataDir}/archive/.import_20261120_091403_aaaa_4242.tmp`;
    await Deno.writeTextFile(leftover, '{"v":1,"seq":1,"type":"session_st');
    const result = await importJson(dataDir, GENERIC);
    assertEquals(result.code, 0, result.stderr);
    const names = [...Deno.readDirSync(`${dataDir}/archive`)].map((entry) => entry.name);
    assertEquals(names.length, 1);
    assert(names[0]!.startsWith("session_"), names[0]);
  } finally {
    await dir.cleanup();
  }
});
