import { assertEquals } from "../_assert.ts";
import { COMMANDS, mainHelp } from "../../src/cli/main.ts";
import { runCli } from "../_helpers.ts";

const FIXTURES = new URL("../fixtures/help/", import.meta.url).pathname;
const UPDATE = Deno.env.get("UPDATE_FIXTURES") === "1";

async function assertMatchesFixture(name: string, actual: string): Promise<void> {
  const path = `${FIXTURES}${name}.txt`;
  if (UPDATE) await Deno.writeTextFile(path, actual);
  assertEquals(
    actual,
    await Deno.readTextFile(path),
    `help text of ${name} (UPDATE_FIXTURES=1 rewrites)`,
  );
}

Deno.test("mainHelp() lists every command and matches the fixture", async () => {
  await assertMatchesFixture("main", mainHelp());
});

for (const command of COMMANDS) {
  Deno.test(`${command.name} --help matches the fixture and fits 80 columns`, async () => {
    await assertMatchesFixture(command.name, command.help);
    for (const line of command.help.split("\n")) {
      assertEquals(line.length <= 80, true, `line too long in ${command.name}: ${line}`);
    }
  });
}

Deno.test("the CLI prints a command's help with --help and exits 0", async () => {
  const result = await runCli(["daemon", "--help"]);
  assertEquals(result.code, 0);
  assertEquals(result.stdout.trim(), COMMANDS.find((c) => c.name === "daemon")!.help.trim());
});

Deno.test("the CLI rejects an unknown command with exit 2 and a hint", async () => {
  const result = await runCli(["frobnicate"]);
  assertEquals(result.code, 2);
  assertEquals(result.stderr.includes('Unknown command "frobnicate"'), true, result.stderr);
  assertEquals(result.stderr.includes("--help"), true);
});

Deno.test("the CLI rejects an unknown flag with exit 2, no stack trace", async () => {
  const result = await runCli(["status", "--frobnicate"]);
  assertEquals(result.code, 2);
  assertEquals(result.stderr.includes("--frobnicate"), true, result.stderr);
  assertEquals(result.stderr.includes("    at "), false, "no stack trace");
});

Deno.test("the CLI rejects a bad setting from the environment with exit 2", async () => {
  const result = await runCli(["status"], { env: { SHEARWATER_BACKEND: "nonsense" } });
  assertEquals(result.code, 2);
  assertEquals(result.stderr.includes('Invalid backend endpoint "nonsense"'), true, result.stderr);
});
