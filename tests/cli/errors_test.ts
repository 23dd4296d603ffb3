/**
 * Ordinary operating errors end a command with one clear line and their own exit code, never
 * with "internal error" and a stack (exit 70 is for bugs). Every case runs the real CLI.
 */
import { assert, assertEquals } from "../_assert.ts";
import { RUN_PERMISSIONS } from "../../src/self_command.ts";
import { ensureDataDir } from "../../src/store/data_dir.ts";
import { sessionRecords, writeLog } from "../log_fixtures.ts";
import { brokerEndpoints, MAIN_PATH, runCli, tempDir } from "../_helpers.ts";
import { exists } from "../../src/store/file_info.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** Asserts a clean failure: the exit code, one `error:` line, no stack, no "internal error". */
function assertCleanError(
  result: { code: number; stdout: string; stderr: string },
  code: number,
  what: string,
): void {
  const context = `${what}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assertEquals(result.code, code, context);
  assert(!result.stderr.includes("internal error"), context);
  assert(!/^\s+at /m.test(result.stderr), `no stack trace: ${context}`);
  const errorLines = result.stderr.split("\n").filter((line) => line.startsWith("error: "));
  assertEquals(errorLines.length, 1, context);
}

/** Commands that take a data dir, with the arguments that make each one touch it. */
function commandsOn(dataDir: string): string[][] {
  const { backend } = brokerEndpoints();
  return [
    ["status"],
    ["search", "message"],
    ["recent"],
    ["show", "1"],
    ["sessions"],
    ["stats"],
    ["diag"],
    ["checkpoint", "list"],
    ["checkpoint", "verify"],
    ["new-session"],
    ["reindex"],
    ["menu"],
    ["daemon", "--backend", backend],
  ].map((args) => [...args, "--data-dir", dataDir]);
}

Deno.test({
  name: "a data dir that is a file: every command says so with exit 66, no stack",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_file_data_dir");
    try {
      const file = `${dir.path}/not_a_dir`;
      await Deno.writeTextFile(file, "a file\n");
      for (const args of commandsOn(file)) {
        const result = await runCli(args);
        assertCleanError(result, 66, args.join(" "));
        assert(result.stderr.includes("it is a file, not a directory"), result.stderr);
      }
      // A path *under* the file: NotADirectory from the OS.
      const under = await runCli(["search", "x", "--data-dir", `${file}/data`]);
      assertCleanError(under, 66, "search under a file");
      assert(under.stderr.includes("a part of its path is a file"), under.stderr);
      assertEquals(await Deno.readTextFile(file), "a file\n");
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "a mistyped --data-dir: read commands say there is no data dir and create nothing",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_typo_data_dir");
    try {
      const typo = `${dir.path}/typo`;
      const readers = commandsOn(typo).filter(([name]) =>
        // `menu` runs from `up` while the new daemon creates the data dir: it may be missing.
        !["status", "new-session", "daemon", "menu"].includes(name!)
      );
      for (const args of readers) {
        const result = await runCli(args);
        assertCleanError(result, 66, args.join(" "));
        assert(result.stderr.includes(`No data dir at "${typo}"`), result.stderr);
        assertEquals(await exists(typo), false, `${args.join(" ")} created the data dir`);
      }
      const status = await runCli(["status", "--data-dir", typo]);
      assertEquals(status.code, 4, status.stderr);
      assert(status.stdout.includes("there is no data dir there"), status.stdout);
      const json = await runCli(["status", "--data-dir", typo, "--json"]);
      assertEquals(JSON.parse(json.stdout).data_dir_exists, false);
      assertEquals(await exists(typo), false, "status created the data dir");
    } finally {
      await dir.cleanup();
    }
  },
});

/**
 * Runs the CLI so that file permissions apply: as root, with every capability dropped
 * (`setpriv`), so that CAP_DAC_OVERRIDE cannot bypass a mode of 000. Undefined when this
 * machine cannot do that.
 */
function unprivilegedCommand(args: string[]): Deno.Command | undefined {
  const cli = [Deno.execPath(), "run", ...RUN_PERMISSIONS, MAIN_PATH, ...args];
  if (Deno.uid() !== 0) {
    return new Deno.Command(cli[0]!, { args: cli.slice(1), stdin: "null" });
  }
  if (!SETPRIV) return undefined;
  return new Deno.Command(SETPRIV, {
    args: ["--inh-caps=-all", "--bounding-set=-all", "--", ...cli],
    stdin: "null",
  });
}

async function runUnprivileged(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await unprivilegedCommand(args)!.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "an unreadable data dir: every command says permission denied with exit 77, no stack",
  ignore: Deno.uid() === 0 && !SETPRIV,
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_denied");
    const dataDir = `${dir.path}/data`;
    try {
      await writeLog(
        (await ensureDataDir(dataDir)).currentLog,
        sessionRecords("s1", { firstSeq: 1, messages: 5 }),
      );
      await Deno.chmod(dataDir, 0o000);
      for (const args of commandsOn(dataDir)) {
        const result = await runUnprivileged(args);
        assertCleanError(result, 77, args.join(" "));
        assert(result.stderr.includes("permission denied"), result.stderr);
      }
      // The data dir is fine, the log in it is not: the top level names the operation.
      await Deno.chmod(dataDir, 0o700);
      await Deno.chmod(`${dataDir}/current_session.jsonl`, 0o000);
      const search = await runUnprivileged(["search", "message", "--data-dir", dataDir]);
      assertCleanError(search, 77, "search with an unreadable log");
      assert(
        search.stderr.includes('Cannot run "search": permission denied: open ') &&
          search.stderr.includes("current_session.jsonl"),
        search.stderr,
      );
    } finally {
      await Deno.chmod(dataDir, 0o700);
      await dir.cleanup();
    }
  },
});

/** A data dir with one session of `messages` chat messages, its index built by `recent`. */
async function recordedDataDir(path: string, messages: number): Promise<string> {
  const layout = await ensureDataDir(path);
  await writeLog(layout.currentLog, sessionRecords("s1", { firstSeq: 1, messages }));
  const built = await runCli(["recent", "1", "--data-dir", path]);
  assertEquals(built.code, 0, built.stderr);
  return layout.currentLog;
}

Deno.test({
  name: "show of a damaged line exits 65 with one line; --raw prints its bytes, marked",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_damaged");
    const dataDir = `${dir.path}/data`;
    try {
      const log = await recordedDataDir(dataDir, 10);
      const bytes = await Deno.readFile(log);
      // Flip a letter inside line 5 (seq 5): same length, so the index still points at it.
      let start = 0;
      for (let line = 1; line < 5; line++) start = bytes.indexOf(0x0a, start) + 1;
      const end = bytes.indexOf(0x0a, start) + 1;
      const at = start + new TextDecoder().decode(bytes.subarray(start, end)).indexOf("message 5");
      bytes[at] = "M".charCodeAt(0);
      await Deno.writeFile(log, bytes);
      const damagedLine = bytes.slice(start, end);

      const shown = await runCli(["show", "5", "--data-dir", dataDir]);
      assertCleanError(shown, 65, "show 5");
      assert(shown.stderr.includes(`at byte ${start}`), shown.stderr);

      const raw = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...RUN_PERMISSIONS, MAIN_PATH, "show", "5", "--raw", "--data-dir", dataDir],
        stdin: "null",
      }).output();
      assertEquals(raw.code, 65);
      assertEquals(raw.stdout, damagedLine, "the damaged bytes exactly as stored");
      const stderr = new TextDecoder().decode(raw.stderr);
      assert(stderr.startsWith("damaged: record 5:"), stderr);
      assert(!stderr.includes("internal error"), stderr);

      const intact = await runCli(["show", "4", "--raw", "--data-dir", dataDir]);
      assertEquals(intact.code, 0, intact.stderr);
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "show whose index points at another record's line exits 65 naming file and offset",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_seq_mismatch");
    const dataDir = `${dir.path}/data`;
    try {
      const log = await recordedDataDir(dataDir, 10);
      const lines = (await Deno.readTextFile(log)).split("\n");
      // Swap the lines of seq 6 and seq 7 (same length): each still passes its checksum, but
      // the index's offset for seq 6 now holds seq 7.
      const six = lines.findIndex((line) => line.includes('"seq":6,'));
      const seven = lines.findIndex((line) => line.includes('"seq":7,'));
      assert(six >= 0 && seven >= 0 && lines[six]!.length === lines[seven]!.length);
      const offset = lines.slice(0, six).reduce((sum, line) => sum + line.length + 1, 0);
      [lines[six], lines[seven]] = [lines[seven]!, lines[six]!];
      await Deno.writeTextFile(log, lines.join("\n"));

      const shown = await runCli(["show", "6", "--data-dir", dataDir]);
      assertCleanError(shown, 65, "show 6");
      assertEquals(shown.stdout, "");
      assert(shown.stderr.includes(`at byte ${offset} of "${log}"`), shown.stderr);
      assert(shown.stderr.includes("seq 7"), shown.stderr);
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "output piped into `head -1` ends the command quietly with exit 0",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_pipe");
    const dataDir = `${dir.path}/data`;
    try {
      await recordedDataDir(dataDir, 3000); // far more output than a pipe buffer holds
      for (const args of [["recent", "3000"], ["search", "message", "--limit", "3000"]]) {
        // A real shell pipeline; PIPESTATUS[0] is the CLI's own exit status.
        const script = '"$@" | head -1; exit "${PIPESTATUS[0]}"';
        const output = await new Deno.Command("bash", {
          args: [
            "-c",
            script,
            "pipe",
            Deno.execPath(),
            "run",
            ...RUN_PERMISSIONS,
            MAIN_PATH,
            ...args,
            "--data-dir",
            dataDir,
          ],
          stdin: "null",
          env: { NO_COLOR: "1" },
        }).output();
        const stdout = new TextDecoder().decode(output.stdout);
        const stderr = new TextDecoder().decode(output.stderr);
        assertEquals(output.code, 0, `${args.join(" ")}: ${stderr}`);
        assertEquals(stdout.split("\n").length, 2, stdout); // one line and its newline
        assertEquals(stderr, "", `${args.join(" ")} is quiet`);
      }
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test({
  name: "number arguments: one parser, the text echoed verbatim, exit 2",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("cli_numbers");
    const dataDir = `${dir.path}/data`;
    try {
      await ensureDataDir(dataDir);
      const safe = Number.MAX_SAFE_INTEGER;
      const cases: [string[], string][] = [
        [["recent", "99999999999999999999"], `Invalid N "99999999999999999999"`],
        [["search", "--limit", "99999999999999999999"], `Invalid --limit "99999999999999999999"`],
        [["show", "99999999999999999999"], `Invalid SEQ "99999999999999999999"`],
        [["search", "x", "--limit", "0x10"], `Invalid --limit "0x10"`],
        [["search", "x", "--limit=-1"], `Invalid --limit "-1"`],
        [["search", "x", "--limit", "0"], `Invalid --limit "0"`],
        [["recent", "1e12"], `Invalid N "1e12"`],
        [["recent", "0"], `Invalid N "0"`],
        [["recent", " 7"], `Invalid N " 7"`],
        [["show", "1.0"], `Invalid SEQ "1.0"`],
        [["stats", "--top", "1_000"], `Invalid --top "1_000"`],
        [["checkpoint", "show", "latest", "--last", "+3"], `Invalid --last "+3"`],
        [["checkpoint", "prune", "--keep", "0x1", "--dry-run"], `Invalid --keep "0x1"`],
        [["daemon", "--sync-ms", "1e3"], `Invalid --sync-ms "1e3"`],
        [["daemon", "--sync-ms", "20000"], `Invalid --sync-ms "20000"`],
        [["launch", "--grace-ms", "Infinity", "--once"], `Invalid --grace-ms "Infinity"`],
      ];
      for (const [args, expected] of cases) {
        const result = await runCli([...args, "--data-dir", dataDir]);
        assertCleanError(result, 2, args.join(" "));
        assert(result.stderr.includes(expected), `${args.join(" ")}: ${result.stderr}`);
        if (expected.startsWith("Invalid")) {
          assert(
            new RegExp(`: expected a whole number from \\d+ to \\d+\\n$`).test(result.stderr),
            `same message shape: ${result.stderr}`,
          );
        }
      }
      const huge = await runCli(["search", "--limit", String(safe + 1), "--data-dir", dataDir]);
      assert(huge.stderr.includes(`from 1 to ${safe}`), huge.stderr);
      const atMax = await runCli(["recent", String(safe), "--data-dir", dataDir]);
      assertEquals(atMax.code, 0, atMax.stderr);
      const env = await runCli(["daemon", "--data-dir", dataDir], {
        env: { SHEARWATER_SYNC_MS: "0x10" },
      });
      assertCleanError(env, 2, "SHEARWATER_SYNC_MS=0x10");
      assert(
        env.stderr.includes(
          `Invalid syncMs from environment variable SHEARWATER_SYNC_MS "0x10": ` +
            "expected a whole number from 0 to 10000",
        ),
        env.stderr,
      );
    } finally {
      await dir.cleanup();
    }
  },
});
