import { ErrorCode, ExitCode, isErrorCode, operatingError, PersistError } from "../src/errors.ts";
import { assert, assertEquals } from "./_assert.ts";

Deno.test("operatingError() turns a real OS error into one line with its exit code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shearwater_errors_" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    let thrown: unknown;
    try {
      await Deno.mkdir(`${dir}/file/sub`);
    } catch (error) {
      thrown = error;
    }
    const described = operatingError(thrown, 'Cannot run "search"');
    assert(described instanceof PersistError);
    assertEquals(
      described.message,
      `Cannot run "search": a part of the path is not a directory: mkdir '${dir}/file/sub'`,
    );
    assertEquals(described.exitCode, ExitCode.noDataDir);
    assertEquals(described.cause, undefined, "one line: no cause to print after it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("operatingError() knows errno codes without a Deno class and ignores bugs", () => {
  const full = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  const described = operatingError(full, "Cannot append");
  assertEquals(described?.message, "Cannot append: the disk is full");
  assertEquals(described?.exitCode, ExitCode.ioError);
  assertEquals(operatingError(new TypeError("x is undefined"), "Cannot run"), undefined);
  const odd = Object.assign(new Error("odd"), { code: "constructor" });
  assertEquals(operatingError(odd, "Cannot run"), undefined);
  assertEquals(operatingError("a string", "Cannot run"), undefined);
});

Deno.test("ErrorCode is one table of distinct snake_case codes, and isErrorCode() knows them", () => {
  const codes = Object.values(ErrorCode);
  assertEquals(new Set(codes).size, codes.length);
  for (const code of codes) assert(/^[a-z]+(_[a-z]+)*$/.test(code), code);
  assert(isErrorCode("checkpoint_damaged"));
  assert(isErrorCode("os_enospc"));
  assert(!isErrorCode("checkpoint_broken"));
  assert(!isErrorCode(7));
});

Deno.test("ExitCode: the README's exit code list names every code of the table", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const list = /^Exit codes: (.+?)\n\n/ms.exec(readme)?.[1] ?? "";
  assert(list !== "", "README has an 'Exit codes:' paragraph");
  const listed = new Set([...list.matchAll(/(?:^|, )(\d+)\s/g)].map((match) => Number(match[1])));
  assertEquals(
    [...listed].sort((a, b) => a - b),
    [...new Set(Object.values(ExitCode))].sort((a, b) => a - b),
  );
});
