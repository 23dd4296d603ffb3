import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_helpers.ts";
import { DamagedDataError } from "../../src/errors.ts";
import { ensureOrigin, originPath, readOrigin } from "../../src/pgstore/origin.ts";

Deno.test("ensureOrigin() creates one id per data dir (mode 0600) and keeps it", async () => {
  const dir = await tempDir("origin");
  try {
    assertEquals(await readOrigin(dir.path), undefined);
    const origin = await ensureOrigin(dir.path);
    assert(/^[0-9a-f-]{36}$/.test(origin), origin);
    assertEquals(await ensureOrigin(dir.path), origin);
    assertEquals(await readOrigin(dir.path), origin);
    assertEquals((await Deno.stat(originPath(dir.path))).mode! & 0o777, 0o600);
    const other = await tempDir("origin-other");
    try {
      assert((await ensureOrigin(other.path)) !== origin, "a new data dir gets a new origin");
    } finally {
      await other.cleanup();
    }
  } finally {
    await dir.cleanup();
  }
});

Deno.test("ensureOrigin() called many times at once gives one id", async () => {
  const dir = await tempDir("origin-race");
  try {
    const ids = await Promise.all(Array.from({ length: 8 }, () => ensureOrigin(dir.path)));
    assertEquals(new Set(ids).size, 1);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("ensureOrigin() waits for an origin file another process created and is still writing", async () => {
  // Before: the first read of the empty file threw DamagedDataError at once (seen in CI, under
  // load, in the test above: one of 8 racing callers read the winner's file before its line).
  const dir = await tempDir("origin-being-written");
  try {
    await Deno.writeTextFile(originPath(dir.path), "", { mode: 0o600 });
    const waiting = ensureOrigin(dir.path);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const winner = crypto.randomUUID();
    await Deno.writeTextFile(originPath(dir.path), `${winner}\n`);
    assertEquals(await waiting, winner);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("readOrigin() of a file that holds no id is damaged data, not a new origin", async () => {
  const dir = await tempDir("origin-bad");
  try {
    await Deno.writeTextFile(originPath(dir.path), "not-an-id\n");
    await assertRejects(() => readOrigin(dir.path), DamagedDataError, "origin file");
    await assertRejects(() => ensureOrigin(dir.path), DamagedDataError);
  } finally {
    await dir.cleanup();
  }
});
