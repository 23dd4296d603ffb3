import { assert, assertEquals } from "../_assert.ts";
import { checkRecordLine } from "../../src/store/record.ts";
import { CheckpointStore } from "../../src/store/checkpoint_store.ts";
import { runCli, tempDir } from "../_helpers.ts";
import {
  CODE,
  HOSTILE,
  LONG,
  SESSION,
  writeConversation,
} from "../conversation/_conversation_log.ts";

Deno.test("context: Markdown of the current session; --agent and SHEARWATER_AGENT; --json; --max-chars", async () => {
  const dir = await tempDir("cli_context");
  try {
    const { layout } = await writeConversation(dir.path);
    const flags = ["--data-dir", layout.root];
    const all = await runCli(["context", ...flags]);
    assertEquals(all.code, 0, all.stderr);
    assert(all.stdout.startsWith(`# Bus conversation: session ${SESSION}\n`), all.stdout);
    assert(all.stdout.includes(CODE) && all.stdout.includes(HOSTILE));
    assert(all.stdout.length <= 9000, "default --max-chars 9000");
    assert(!all.stdout.includes("REPLAYED"));

    const claude = await runCli(["context", ...flags, "--agent", "claude"]);
    const fromEnv = await runCli(["context", ...flags], { env: { SHEARWATER_AGENT: "claude" } });
    assertEquals(fromEnv.stdout, claude.stdout);
    assert(!claude.stdout.includes("codex tells gemini a secret"), claude.stdout);
    assert(all.stdout.includes("codex tells gemini a secret"));

    const json = JSON.parse(
      (await runCli(["context", ...flags, "--json", "--max-chars", "1500"])).stdout,
    );
    assertEquals(json.session, SESSION);
    assertEquals(json.messages, 5);
    assertEquals(json.replays_left_out, 1);
    assert(json.markdown.length <= 1500);
    assertEquals(json.left_out, 5 - json.kept);
    assert(
      json.left_out > 0 &&
        json.search_command.startsWith(`shearwater-persist search --session ${SESSION} --until `),
    );
    assertEquals(json.entries.at(-1).seq, 10);

    const replays = await runCli([
      "context",
      ...flags,
      "--include-replays",
      "--max-chars",
      "20000",
    ]);
    assert(replays.stdout.includes("REPLAYED"));
    const deploy = await runCli(["context", ...flags, "--topic", "ops.", "--topic", "nothing."]);
    assert(deploy.stdout.includes("deploying now") && !deploy.stdout.includes(HOSTILE));
    const late = await runCli(["context", ...flags, "--since", new Date().toISOString()]);
    assertEquals(late.code, 1, "nothing since now");
    assert(late.stdout.includes("No messages."), late.stdout);
    const bad = await runCli(["context", ...flags, "--session", "x", "--checkpoint", "y"]);
    assertEquals(bad.code, 2, bad.stderr);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("context --checkpoint: the checkpoint's conversation", async () => {
  const dir = await tempDir("cli_context_checkpoint");
  try {
    const { layout, bytes } = await writeConversation(dir.path);
    const store = new CheckpointStore(layout.checkpointsDir, { dataBlobsDir: layout.blobsDir });
    const manifest = await store.create({
      logPath: layout.currentLog,
      endOffset: bytes.length,
      trigger: "manual",
      label: "before the refactor",
      parentCheckpoint: null,
    });
    // The current log moves on; the checkpoint keeps what it saw.
    await Deno.writeFile(layout.currentLog, new Uint8Array(0));
    const shown = await runCli(["context", "--data-dir", layout.root, "--checkpoint", "latest"]);
    assertEquals(shown.code, 0, shown.stderr);
    assert(
      shown.stdout.startsWith(`# Bus conversation: checkpoint ${manifest.id} (session ${SESSION})`),
      shown.stdout,
    );
    assert(shown.stdout.includes("deploying now") && shown.stdout.includes(CODE));
  } finally {
    await dir.cleanup();
  }
});

Deno.test("export: jsonl byte-identical, md in full, html; files 0600; no overwrite without --yes", async () => {
  const dir = await tempDir("cli_export");
  try {
    const { layout, bytes } = await writeConversation(dir.path);
    const flags = ["--data-dir", layout.root];
    const jsonl = `${dir.path}/out.jsonl`;
    const result = await runCli([
      "export",
      ...flags,
      "--session",
      SESSION,
      "--format",
      "jsonl",
      "-o",
      jsonl,
      "--include-replays",
    ]);
    assertEquals(result.code, 0, result.stderr);
    const written = await Deno.readFile(jsonl);
    assertEquals(written, bytes, "every stored line, byte for byte");
    assertEquals((await Deno.stat(jsonl)).mode! & 0o777, 0o600);
    const lines = new TextDecoder().decode(written).split("\n").filter((l) => l !== "");
    for (const line of lines) assert(checkRecordLine(new TextEncoder().encode(line)).ok);

    const md = await runCli(["export", ...flags, "--session", SESSION, "--format", "md"]);
    assertEquals(md.code, 0, md.stderr);
    assert(md.stdout.includes(LONG), "md: no size limit");
    assert(!md.stdout.includes("Left out:"));

    const again = await runCli([
      "export",
      ...flags,
      "--session",
      SESSION,
      "--format",
      "md",
      "-o",
      jsonl,
    ]);
    assertEquals(again.code, 2, "an existing file is not replaced without confirmation");
    assert(again.stderr.includes("--yes"), again.stderr);
    assertEquals(await Deno.readFile(jsonl), bytes);
    const yes = await runCli([
      "export",
      ...flags,
      "--session",
      SESSION,
      "--format",
      "md",
      "-o",
      jsonl,
      "--yes",
    ]);
    assertEquals(yes.code, 0, yes.stderr);
    assertEquals(await Deno.readTextFile(jsonl), md.stdout);
    assertEquals((await Deno.stat(jsonl)).mode! & 0o777, 0o600);

    const search = await runCli(["export", ...flags, "--search", "secret", "--format", "jsonl"]);
    assertEquals(search.code, 0, search.stderr);
    const hit = checkRecordLine(new TextEncoder().encode(search.stdout));
    assert(hit.ok && hit.record.seq === 9, search.stdout);

    const missing = await runCli(["export", ...flags, "--format", "md"]);
    assertEquals(missing.code, 2);
    const badFormat = await runCli(["export", ...flags, "--session", SESSION, "--format", "pdf"]);
    assertEquals(badFormat.code, 2);
  } finally {
    await dir.cleanup();
  }
});
