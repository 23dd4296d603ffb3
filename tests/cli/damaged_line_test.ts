import { assert, assertEquals } from "../_assert.ts";
import { brokerEndpoints, runCli, tempDir } from "../_helpers.ts";
import { assertNoControls, runInTerminal } from "./_hostile.ts";
import { writeNoteLog } from "../log_fixtures.ts";

/** A data dir whose log holds `count` messages `note N kiwi`, seq 2 … count + 1. */
async function dataDirWithLog(root: string, count: number): Promise<string> {
  return await writeNoteLog(root, count, (i) => ({ from: "claude", content: `note ${i} kiwi` }));
}

/** Changes one letter inside a message's text: the line stays JSON but fails its checksum. */
async function damage(dataDir: string, text: string, replacement: string): Promise<void> {
  const path = `${dataDir}/current_session.jsonl`;
  const log = await Deno.readTextFile(path);
  assert(log.includes(text), `the log holds ${text}`);
  await Deno.writeTextFile(path, log.replace(text, replacement));
}

Deno.test("search and recent mark a hit whose log line was damaged after indexing", async () => {
  const dir = await tempDir("damaged_hit");
  try {
    const dataDir = await dataDirWithLog(dir.path, 6);
    const before = await runCli(["search", "kiwi", "--data-dir", dataDir, "--json"]);
    assertEquals(before.code, 0, before.stderr);
    assertEquals(JSON.parse(before.stdout).count, 6, "indexed while the log was intact");
    await damage(dataDir, "note 3 kiwi", "note 3 kiwy");

    const search = await runCli(["search", "kiwi", "--data-dir", dataDir]);
    assertEquals(search.code, 0, search.stderr);
    const lines = search.stdout.split("\n");
    const at = lines.findIndex((line) => line.includes("#5 "));
    assert(at !== -1, search.stdout);
    assert(lines[at + 2]?.includes("DAMAGED in the log (checksum mismatch"), search.stdout);
    assertEquals(search.stdout.split("DAMAGED").length, 2, `only #5 is marked:\n${search.stdout}`);
    const json = JSON.parse(
      (await runCli(["search", "kiwi", "--data-dir", dataDir, "--json"])).stdout,
    );
    const damaged = (json.results as { seq: number; damaged: string | null }[])
      .filter((hit) => hit.damaged !== null);
    assertEquals(damaged.map((hit) => hit.seq), [5]);
    assert(damaged[0]!.damaged!.startsWith("checksum mismatch"), damaged[0]!.damaged!);

    const recent = await runCli(["recent", "--data-dir", dataDir]);
    assertEquals(recent.code, 0, recent.stderr);
    const recentLines = recent.stdout.split("\n");
    const recentAt = recentLines.findIndex((line) => line.startsWith("#5 "));
    assert(recentLines[recentAt + 2]?.includes("DAMAGED in the log"), recent.stdout);
    assertEquals(recent.stdout.split("DAMAGED").length, 2, recent.stdout);
    const recentJson = JSON.parse(
      (await runCli(["recent", "--data-dir", dataDir, "--json"])).stdout,
    );
    assertEquals(
      (recentJson.messages as { seq: number; damaged: string | null }[])
        .filter((hit) => hit.damaged !== null).map((hit) => hit.seq),
      [5],
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test("diag reports damaged lines in the middle of the log, with where and what to do", async () => {
  const dir = await tempDir("damaged_diag");
  try {
    const dataDir = await dataDirWithLog(dir.path, 8);
    const endpoints = brokerEndpoints();
    const flags = [
      "--data-dir",
      dataDir,
      "--frontend",
      endpoints.frontend,
      "--backend",
      endpoints.backend,
    ];
    const intact = JSON.parse((await runCli(["diag", ...flags, "--json"])).stdout);
    assertEquals(logCheck(intact).status, "ok", JSON.stringify(logCheck(intact)));

    await damage(dataDir, "note 2 kiwi", "note 2 kiwy");
    await damage(dataDir, "note 5 kiwi", "note 5 kiwy");
    const report = JSON.parse((await runCli(["diag", ...flags, "--json"])).stdout);
    const log = logCheck(report);
    assertEquals(log.status, "warn");
    assert(log.detail.includes("2 DAMAGED line(s)"), log.detail);
    assert(log.detail.includes("(after seq 3): checksum mismatch"), log.detail);
    assert(log.detail.includes("(after seq 6): checksum mismatch"), log.detail);
    assert(log.detail.includes("checkpoint list"), log.detail);

    // Piped: each check on one line, nothing cut.
    const piped = await runCli(["diag", ...flags], { env: { NO_COLOR: "1" } });
    const logLine = piped.stdout.split("\n").find((line) => line.startsWith("warn  log"));
    assert(logLine?.endsWith("keep the log as it is for inspection"), piped.stdout);
    assert(piped.stdout.includes("Healthy") || piped.stdout.includes("Unhealthy"), piped.stdout);

    // A terminal: wrapped at its width, whatever the width.
    for (const columns of [80, 160]) {
      const screen = await runInTerminal(["diag", ...flags], columns);
      assertNoControls(screen, "diag");
      // deno-lint-ignore no-control-regex
      const plain = screen.replace(/\u001b\[[0-9;]*m/g, "");
      for (const line of plain.split("\n")) {
        assert(line.length <= columns, `wider than ${columns}: ${line}`);
      }
      const unwrapped = plain.replace(/\n {22}/g, " ");
      assert(unwrapped.includes("for inspection\n"), plain);
      const wrapped = plain.split("\n").filter((line) => line.startsWith(" ".repeat(22)));
      assert(wrapped.length > 0, `the long advice wraps:\n${plain}`);
    }
  } finally {
    await dir.cleanup();
  }
});

function logCheck(report: { checks: { name: string; status: string; detail: string }[] }) {
  return report.checks.find((check) => check.name === "log")!;
}
