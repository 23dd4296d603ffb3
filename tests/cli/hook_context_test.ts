import { assert, assertEquals } from "../_assert.ts";
import { RUN_PERMISSIONS } from "../../src/self_command.ts";
import { DataDirLock } from "../../src/store/data_dir_lock.ts";
import { ensureDataDir } from "../../src/store/data_dir.ts";
import {
  brokerEndpoints,
  daemonStatus,
  killLockHolder,
  MAIN_PATH,
  tempDir,
  waitFor,
} from "../_helpers.ts";
import { CODE, HOSTILE, SESSION, writeConversation } from "../conversation/_conversation_log.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const FIXTURES = new URL("../fixtures/hooks/", import.meta.url).pathname;
/** Recorded SessionStart payloads, by agent and `source`. */
const PAYLOADS = {
  claude: {
    startup: "claude_session_start.json",
    compact: "claude_session_start_compact.json",
    resume: "claude_session_start_resume.json",
    clear: "claude_session_start_clear.json",
  },
  gemini: {
    startup: "gemini_session_start.json",
    resume: "gemini_session_start_resume.json",
    clear: "gemini_session_start_clear.json",
  },
} as const;

/** Runs `hook AGENT session-start` with a recorded payload; returns additionalContext. */
async function sessionStart(
  agent: "claude" | "gemini",
  source: string,
  flags: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const payload = await Deno.readTextFile(
    `${FIXTURES}${(PAYLOADS[agent] as Record<string, string>)[source]}`,
  );
  assertEquals(JSON.parse(payload).source, source, "the fixture's source");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, MAIN_PATH, "hook", agent, "session-start", ...flags],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(payload));
  await writer.close();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, stderr);
  const json = JSON.parse(new TextDecoder().decode(output.stdout)); // stdout is one JSON value
  assertEquals(json.hookSpecificOutput.hookEventName, "SessionStart");
  const context = json.hookSpecificOutput.additionalContext as string;
  assert(context.length < 10_000, `Claude Code's cap: ${context.length} characters`);
  return context;
}

Deno.test({
  name: "hook session-start: recent traffic comes back for every source of both agents",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("hook_context_recent");
    const { layout } = await writeConversation(dir.path, 60_000);
    const flags = ["--data-dir", layout.root, "--backend", brokerEndpoints().backend];
    try {
      for (const [agent, sources] of Object.entries(PAYLOADS)) {
        for (const source of Object.keys(sources)) {
          const context = await sessionStart(agent as "claude" | "gemini", source, flags);
          const what = `${agent} ${source}: ${context}`;
          assert(context.startsWith("Shearwater persistence:"), what);
          assert(context.includes(`\n# Bus conversation: session ${SESSION}\n`), what);
          assert(context.includes(CODE) && context.includes(HOSTILE), what);
          assert(context.includes("codex tells gemini a secret"), what);
          assert(!context.includes("REPLAYED"), what);
        }
      }
      // The first hook started the daemon (it records into the same data dir).
      await waitFor(
        "the daemon a hook started",
        async () => (await daemonStatus(layout.root)) !== undefined,
      );
      const claudeView = await sessionStart("claude", "compact", [...flags, "--agent", "claude"]);
      assert(!claudeView.includes("codex tells gemini a secret"), claudeView);
      assert(claudeView.includes("deploying now"), claudeView);
      const fromEnv = await sessionStart("gemini", "resume", flags, { SHEARWATER_AGENT: "claude" });
      assert(!fromEnv.includes("codex tells gemini a secret"), fromEnv);
    } finally {
      await killLockHolder(`${layout.root}/daemon.lock`);
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "hook session-start: after an hour of silence only compact and resume bring it back",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("hook_context_old");
    const { layout } = await writeConversation(dir.path, 2 * 3_600_000);
    // A lock held here stands for a busy daemon: the hook starts none and reads the log.
    const lock = await DataDirLock.acquire(layout.lockFile, "test");
    const flags = ["--data-dir", layout.root];
    try {
      const expected: Record<string, boolean> = {
        "claude startup": false,
        "claude clear": false,
        "claude compact": true,
        "claude resume": true,
        "gemini startup": false,
        "gemini clear": false,
        "gemini resume": true,
      };
      for (const [what, included] of Object.entries(expected)) {
        const [agent, source] = what.split(" ") as ["claude" | "gemini", string];
        const context = await sessionStart(agent, source, flags);
        assert(context.includes("A daemon holds the data dir"), context);
        assertEquals(context.includes("# Bus conversation"), included, `${what}: ${context}`);
      }
    } finally {
      lock.release();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "hook session-start: no messages, no conversation; the hook still answers",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("hook_context_empty");
    const layout = await ensureDataDir(`${dir.path}/data`);
    const lock = await DataDirLock.acquire(layout.lockFile, "test");
    try {
      const context = await sessionStart("claude", "compact", ["--data-dir", layout.root]);
      assert(context.startsWith("Shearwater persistence:"), context);
      assert(!context.includes("# Bus conversation"), context);
    } finally {
      lock.release();
      await dir.cleanup();
    }
  },
});
