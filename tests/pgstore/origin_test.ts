import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { canMountTmpfs, fillDisk, mountSmallTmpfs, tempDir } from "../_helpers.ts";
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

Deno.test({
  name:
    "ensureOrigin() on a full disk leaves no origin file behind; it succeeds once there is room",
  ignore: !(await canMountTmpfs()), // mounting a tmpfs needs root
  async fn() {
    // Before: the origin file was created empty, then written. A full disk left it empty, and
    // every later try (the daemon retries) took it for a damaged file: no shipping, ever. A
    // caller reading between another's create and write got the same error (seen in CI).
    const tmpfs = (await mountSmallTmpfs(1))!;
    try {
      const filler = await fillDisk(tmpfs.path);
      await assertRejects(() => ensureOrigin(tmpfs.path), Error);
      assertEquals(
        [...Deno.readDirSync(tmpfs.path)].map((entry) => entry.name),
        ["filler.bin"],
        "no origin file and no temporary file left",
      );
      await Deno.remove(filler);
      const origin = await ensureOrigin(tmpfs.path);
      assertEquals(await readOrigin(tmpfs.path), origin);
      assertEquals([...Deno.readDirSync(tmpfs.path)].map((entry) => entry.name), ["origin"]);
    } finally {
      await tmpfs.cleanup();
    }
  },
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
