import { assertEquals } from "../_assert.ts";
import { COMMANDS } from "../../src/cli/main.ts";
import { ExitCode } from "../../src/errors.ts";
import { runCli } from "../_helpers.ts";

Deno.test("the dispatcher prints every command's help for --help and -h, exit 0", async () => {
  for (const command of COMMANDS) {
    const result = await runCli([command.name, "--help"]);
    assertEquals(result, { code: 0, stdout: `${command.help}\n`, stderr: "" }, command.name);
  }
  const short = await runCli(["search", "--json", "-h"]);
  assertEquals(short.code, 0);
  assertEquals(short.stdout, `${COMMANDS.find((c) => c.name === "search")!.help}\n`);
});

Deno.test("the dispatcher leaves --help after -- to the command as an argument", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const missing = `${dataDir}/missing`;
    const result = await runCli(["search", "--data-dir", missing, "--", "--help"]);
    assertEquals(result.code, ExitCode.noDataDir, result.stderr);
    assertEquals(result.stdout, "");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
