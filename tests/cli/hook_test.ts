import { assert, assertEquals } from "../_assert.ts";
import { RUN_PERMISSIONS } from "../../src/self_command.ts";
import {
  brokerEndpoints,
  daemonStatus,
  killLockHolder,
  MAIN_PATH,
  runCli,
  tempDir,
  waitFor,
} from "../_helpers.ts";
import { exists } from "../../src/store/file_info.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const FIXTURES = new URL("../fixtures/hooks/", import.meta.url).pathname;

/** Runs a hook with a recorded payload on stdin, as the agent would. */
async function hook(
  args: string[],
  stdin: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, MAIN_PATH, "hook", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name: "hooks: session-start starts the daemon and gives context; end and pre-compact checkpoint",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("hooks");
    const dataDir = `${dir.path}/data`;
    const { backend } = brokerEndpoints();
    const flags = ["--data-dir", dataDir, "--backend", backend];
    try {
      const claudeStart = await hook(
        ["claude", "session-start", ...flags],
        await Deno.readTextFile(`${FIXTURES}claude_session_start.json`),
      );
      assertEquals(claudeStart.code, 0, claudeStart.stderr);
      const claudeJson = JSON.parse(claudeStart.stdout); // the whole stdout is one JSON value
      const claudeContext = claudeJson.hookSpecificOutput.additionalContext as string;
      assertEquals(claudeJson.hookSpecificOutput.hookEventName, "SessionStart");
      assert(claudeContext.includes("Recording started"), claudeContext);
      assert(claudeContext.includes("Agent session 3f2a9c1e-claude"), claudeContext);
      assert(claudeContext.includes("shearwater-persist search"), claudeContext);
      await waitFor(
        "the daemon the hook started",
        async () => (await daemonStatus(dataDir)) !== undefined,
      );

      const geminiStart = await hook(
        ["gemini", "session-start", ...flags],
        await Deno.readTextFile(`${FIXTURES}gemini_session_start.json`),
      );
      assertEquals(geminiStart.code, 0);
      const geminiContext = JSON.parse(geminiStart.stdout).hookSpecificOutput.additionalContext;
      assert(geminiContext.includes("Recording is on"), geminiContext);

      const compact = await hook(
        ["claude", "pre-compact", ...flags],
        await Deno.readTextFile(`${FIXTURES}claude_pre_compact.json`),
      );
      assertEquals(compact.code, 0);
      JSON.parse(compact.stdout);
      const end = await hook(
        ["gemini", "session-end", ...flags],
        await Deno.readTextFile(`${FIXTURES}gemini_session_end.json`),
      );
      assertEquals([end.code, JSON.parse(end.stdout)], [0, {}]);
      await waitFor("both checkpoints", async () => {
        const list = await runCli(["checkpoint", "list", "--data-dir", dataDir, "--json"]);
        const triggers = JSON.parse(list.stdout).checkpoints as {
          trigger: string;
          label: string;
        }[];
        return triggers.some((c) => c.trigger === "session-end") &&
          triggers.some((c) => c.label === "before claude compaction");
      });

      const garbage = await hook(["gemini", "session-start", ...flags], "not json at all");
      assertEquals(garbage.code, 0);
      JSON.parse(garbage.stdout);
      assert(garbage.stderr.includes("not JSON"), garbage.stderr);
      const unknown = await runCli(["hook", "gemini", "pre-compact", ...flags]);
      assertEquals(unknown.code, 0, "a hook never fails the agent");
    } finally {
      await killLockHolder(`${dataDir}/daemon.lock`);
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "hooks: unknown events, agents and flags exit 0 with a note on stderr, never 2",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("hooks_unknown");
    const dataDir = `${dir.path}/data`;
    try {
      const payload = await Deno.readTextFile(`${FIXTURES}claude_session_start.json`);
      const cases = [
        ["claude", "user-prompt-submit"],
        ["claude", "pre-compress"], // a Gemini event, not a Claude one
        ["codex", "session-start"],
        ["claude"],
        [],
        ["claude", "session-end", "--frobnicate"],
        ["claude", "session-end", "extra", "words"],
      ];
      for (const args of cases) {
        const result = await hook([...args, "--data-dir", dataDir], payload);
        const what = `hook ${args.join(" ")}: ${result.stderr}`;
        assertEquals(result.code, 0, what);
        assert(result.stderr.startsWith("shearwater-persist hook: "), what);
        assert(result.stderr.includes("nothing done"), what);
        assert(!result.stderr.includes("internal error"), what);
        assertEquals(JSON.parse(result.stdout), {}, what);
      }
      assertEquals(await exists(dataDir), false, "an unknown hook starts nothing");
    } finally {
      await dir.cleanup();
    }
  },
});
