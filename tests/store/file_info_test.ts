import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { exists, fileSize, statOrNull } from "../../src/store/file_info.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("file_info answers for a file, and null or false for a missing path", async () => {
  const dir = await tempDir("file_info");
  try {
    const path = `${dir.path}/log.jsonl`;
    assertEquals(await statOrNull(path), null);
    assertEquals(await exists(path), false);
    assertEquals(await fileSize(path), null);
    await Deno.writeTextFile(path, "12345");
    assert((await statOrNull(path))?.isFile);
    assertEquals(await exists(path), true);
    assertEquals(await fileSize(path), 5);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("file_info throws what is not a missing path (a file used as a folder)", async () => {
  const dir = await tempDir("file_info_notdir");
  try {
    const file = `${dir.path}/file`;
    await Deno.writeTextFile(file, "x");
    await assertRejects(() => statOrNull(`${file}/inside`), Deno.errors.NotADirectory);
  } finally {
    await dir.cleanup();
  }
});
