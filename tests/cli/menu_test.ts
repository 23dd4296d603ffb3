import { assert, assertEquals } from "../_assert.ts";
import { runningInCi } from "../../src/config.ts";
import { RUN_PERMISSIONS } from "../../src/self_command.ts";
import { MAIN_PATH, runCli, tempDir, waitFor } from "../_helpers.ts";
import { HOSTILE_LABEL, hostileDataDir, relabelCheckpoints } from "./_hostile.ts";
import { writeNoteLog } from "../log_fixtures.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** A data dir with one session of `count` messages and two checkpoints. */
async function dataDirWithCheckpoints(root: string, count: number): Promise<string> {
  const dataDir = await writeNoteLog(root, count, (i) => ({
    from: i % 2 ? "gemini" : "claude",
    content: `note ${i} kiwi`,
  }));
  for (const label of ["first save", "second save"]) {
    const created = await runCli(["checkpoint", "create", "--label", label, "--data-dir", dataDir]);
    assertEquals(created.code, 0, created.stderr);
  }
  return dataDir;
}

Deno.test("menu without a terminal prints the checkpoints and the commands, exit 6", async () => {
  const dir = await tempDir("menu_notty");
  try {
    const dataDir = await dataDirWithCheckpoints(dir.path, 5);
    const result = await runCli(["menu", "--data-dir", dataDir]);
    assertEquals(result.code, 6);
    assert(result.stdout.includes("Found 2 checkpoint(s):"), result.stdout);
    assert(result.stdout.includes("second save") && result.stdout.includes("first save"));
    assert(result.stdout.includes("shearwater-persist checkpoint load ID --yes"), result.stdout);
    const empty = await runCli(["menu", "--data-dir", `${dir.path}/empty`]);
    assertEquals(empty.code, 6);
    assert(empty.stdout.includes("No previous checkpoints found."), empty.stdout);
  } finally {
    await dir.cleanup();
  }
});

async function haveTmux(): Promise<boolean> {
  try {
    return (await new Deno.Command("tmux", { args: ["-V"], stdout: "null" }).output()).success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

const tmuxAvailable = await haveTmux();
if (!tmuxAvailable && !runningInCi()) {
  console.warn("skipping menu terminal tests: install tmux (.ci/run does) to run them");
}

/** A tmux session running the menu in an 80×30 terminal. */
class MenuTerminal {
  readonly name = `sw_menu_${crypto.randomUUID().slice(0, 8)}`;

  async start(dataDir: string): Promise<void> {
    const command = [
      Deno.execPath(),
      "run",
      ...RUN_PERMISSIONS,
      MAIN_PATH,
      "menu",
      "--data-dir",
      dataDir,
    ]
      .map((part) => `'${part}'`).join(" ");
    await this.#tmux([
      "new-session",
      "-d",
      "-s",
      this.name,
      "-x",
      "80",
      "-y",
      "30",
      `env -u CI NO_COLOR=1 ${command}; echo "EXITED $?"; stty -a | grep -o -- '-\\?icanon' ; sleep 60`,
    ]);
  }

  async screen(): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["capture-pane", "-p", "-t", this.name],
      stderr: "null",
    }).output();
    return new TextDecoder().decode(output.stdout);
  }

  async waitFor(text: string): Promise<string> {
    let last = "";
    await waitFor(`the screen to show ${JSON.stringify(text)}`, async () => {
      last = await this.screen();
      return last.includes(text);
    }, 20_000).catch((error) => {
      throw new Error(`${(error as Error).message}; screen was:\n${last}`);
    });
    return last;
  }

  /** The pane's title, as the program in it last set it (OSC 0/2). */
  async title(): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["display-message", "-p", "-t", this.name, "#{pane_title}"],
      stderr: "null",
    }).output();
    return new TextDecoder().decode(output.stdout);
  }

  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.#tmux(["send-keys", "-t", this.name, key]);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  async stop(): Promise<void> {
    await new Deno.Command("tmux", { args: ["kill-session", "-t", this.name], stderr: "null" })
      .output();
  }

  async #tmux(args: string[]): Promise<void> {
    const result = await new Deno.Command("tmux", { args, stderr: "piped" }).output();
    if (!result.success) {
      throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(result.stderr)}`);
    }
  }
}

Deno.test({
  name: "menu in a real terminal: list, load with preview and confirm, back to the menu, quit",
  ...NO_SANITIZE,
  ignore: !tmuxAvailable && !runningInCi(),
  async fn() {
    assert(tmuxAvailable, "tmux is required in CI: .ci/run installs it");
    const dir = await tempDir("menu_load");
    const terminal = new MenuTerminal();
    try {
      const dataDir = await dataDirWithCheckpoints(dir.path, 12);
      await terminal.start(dataDir);
      const first = await terminal.waitFor("[Q]uit");
      assert(first.includes("SHEARWATER CONVERSATION RECOVERY"), first);
      assert(first.includes("Found 2 checkpoint(s)"), first);
      assert(/\[1\] .*second save/.test(first) && /\[2\] .*first save/.test(first), first);
      await terminal.keys("2", "l");
      const choose = await terminal.waitFor("Load which checkpoint?");
      assert(/● .*first save/.test(choose), `checkpoint 2 preselected:\n${choose}`);
      await terminal.keys("Enter");
      const preview = await terminal.waitFor("Load it?");
      assert(preview.includes("gemini: note 11 kiwi"), `preview of the last messages:\n${preview}`);
      await terminal.keys("Enter");
      await terminal.waitFor("Restored");
      await terminal.keys("x");
      const again = await terminal.waitFor("Found 3 checkpoint(s)");
      assert(again.includes("before-load"), again);
      await terminal.keys("q");
      const end = await terminal.waitFor("EXITED");
      assert(end.includes("EXITED 0"), end);
      assert(
        /(^|\s)icanon/.test(end.split("EXITED")[1]!),
        `terminal restored (icanon on):\n${end}`,
      );
      const current = await Deno.readTextFile(`${dataDir}/current_session.jsonl`);
      assert(current.includes('"parent_checkpoint"'), "a restored session was started");
    } finally {
      await terminal.stop();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "menu in a real terminal: arrows, new session, recent, search, diagnostics, Ctrl+C",
  ...NO_SANITIZE,
  ignore: !tmuxAvailable && !runningInCi(),
  async fn() {
    assert(tmuxAvailable, "tmux is required in CI: .ci/run installs it");
    const dir = await tempDir("menu_keys");
    const terminal = new MenuTerminal();
    try {
      const dataDir = await dataDirWithCheckpoints(dir.path, 3);
      await terminal.start(dataDir);
      await terminal.waitFor("[Q]uit");
      await terminal.keys("Down", "Down");
      assert((await terminal.screen()).includes("› [V]iew recent messages"), "cursor moved");
      await terminal.keys("Enter");
      await terminal.waitFor("note 2 kiwi");
      await terminal.keys("x");
      await terminal.waitFor("[Q]uit");
      await terminal.keys("s");
      await terminal.waitFor("Search for");
      await terminal.keys("kiwi", "Enter");
      const found = await terminal.waitFor("note 1 kiwi");
      assert(found.includes("note 0 kiwi"), found);
      await terminal.keys("x");
      await terminal.waitFor("[Q]uit");
      await terminal.keys("d");
      const diag = await terminal.waitFor("checkpoints");
      assert(diag.includes("daemon") && diag.includes("FAIL"), diag);
      await terminal.keys("x");
      await terminal.waitFor("[Q]uit");
      await terminal.keys("n");
      await terminal.waitFor("Start a new session?");
      await terminal.keys("Enter");
      await terminal.waitFor("Archived to");
      await terminal.keys("x");
      await terminal.waitFor("[Q]uit");
      await terminal.keys("C-c");
      const end = await terminal.waitFor("EXITED");
      assert(end.includes("EXITED 0"), end);
      const archived = [...Deno.readDirSync(`${dataDir}/archive`)];
      assertEquals(archived.length, 1);
    } finally {
      await terminal.stop();
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "menu in a real terminal: hostile labels and senders are shown visibly, never run",
  ...NO_SANITIZE,
  ignore: !tmuxAvailable && !runningInCi(),
  async fn() {
    assert(tmuxAvailable, "tmux is required in CI: .ci/run installs it");
    const dir = await tempDir("menu_hostile");
    const terminal = new MenuTerminal();
    try {
      const dataDir = await hostileDataDir(dir.path, 12);
      const created = await runCli(["checkpoint", "create", "--data-dir", dataDir]);
      assertEquals(created.code, 0, created.stderr);
      await relabelCheckpoints(dataDir, HOSTILE_LABEL);
      await terminal.start(dataDir);
      const first = await terminal.waitFor("[Q]uit");
      assert(first.includes("| ␛]0;pwned␇␛[2Jsaved"), first);
      await terminal.keys("v");
      const recent = await terminal.waitFor("note 11");
      assert(recent.includes("␛[31mred␛]0;pwned␇"), recent);
      assert(recent.includes("note 2 kiwi ␛[2J cleared"), `not cleared:\n${recent}`);
      await terminal.keys("q");
      await terminal.waitFor("Press any key");
      await terminal.keys("x");
      await terminal.waitFor("[Q]uit");
      await terminal.keys("l");
      const choose = await terminal.waitFor("Load which checkpoint?");
      assert(choose.includes("␛]0;pwned␇␛[2Jsaved"), choose);
      await terminal.keys("Enter");
      const preview = await terminal.waitFor("Load it?");
      assert(preview.includes("␛[31mred␛]0;pwned␇: note 11 kiwi ␛[2J"), preview);
      await terminal.keys("C-c");
      await terminal.waitFor("Press any key");
      await terminal.keys("x");
      await terminal.waitFor("[Q]uit");
      assert(!(await terminal.title()).includes("pwned"), "the window title was not changed");
      await terminal.keys("q");
      assert((await terminal.waitFor("EXITED")).includes("EXITED 0"));
    } finally {
      await terminal.stop();
      await dir.cleanup();
    }
  },
});
