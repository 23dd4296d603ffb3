import { crc32 as zlibCrc32 } from "node:zlib";
import { createHash } from "node:crypto";
import { assertEquals } from "../_assert.ts";
import {
  checksumImplementation,
  crc32,
  createSha256,
  NATIVE_AFTER_BYTES,
  sha256Hex,
  sha256HexSync,
} from "../../src/store/checksums.ts";

// Runs in its own module instance per test file: the first tests see the TypeScript versions.

function seededBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

const LENGTHS = [0, 1, 7, 8, 9, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 4099];

Deno.test("crc32() and sha256HexSync() in TypeScript match node:zlib and node:crypto", () => {
  assertEquals(checksumImplementation(), "typescript");
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(
    sha256HexSync(new Uint8Array()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  for (const [i, length] of LENGTHS.entries()) {
    const bytes = seededBytes(length, i + 1);
    assertEquals(crc32(bytes), zlibCrc32(bytes) >>> 0, `crc32 of ${length} bytes`);
    const seed = zlibCrc32(seededBytes(5, 99));
    assertEquals(crc32(bytes, seed), zlibCrc32(bytes, seed) >>> 0, `seeded crc32 of ${length}`);
    assertEquals(
      sha256HexSync(bytes),
      createHash("sha256").update(bytes).digest("hex"),
      `sha256 of ${length} bytes`,
    );
  }
  assertEquals(checksumImplementation(), "typescript");
});

Deno.test("sha256Hex() before the native load matches node:crypto, for views into a larger buffer too", async () => {
  for (const [i, length] of LENGTHS.entries()) {
    const buffer = seededBytes(length + 10, i + 20);
    const bytes = buffer.subarray(3, 3 + length);
    assertEquals(
      await sha256Hex(bytes),
      createHash("sha256").update(bytes).digest("hex"),
      `sha256 of ${length} bytes`,
    );
  }
  assertEquals(checksumImplementation(), "typescript");
});

Deno.test("crc32() switches to the native implementation after bulk use, same results", async () => {
  const bulk = seededBytes(64 * 1024, 7);
  for (let hashed = 0; hashed <= NATIVE_AFTER_BYTES; hashed += bulk.length) crc32(bulk);
  await createSha256(); // waits for the load the bulk use started
  assertEquals(checksumImplementation(), "native");
  for (const [i, length] of LENGTHS.entries()) {
    const bytes = seededBytes(length, i + 50);
    assertEquals(crc32(bytes), zlibCrc32(bytes) >>> 0);
    assertEquals(sha256HexSync(bytes), createHash("sha256").update(bytes).digest("hex"));
  }
  const streamed = (await createSha256()).update(bulk.subarray(0, 100)).update(bulk.subarray(100));
  assertEquals(streamed.digest("hex"), createHash("sha256").update(bulk).digest("hex"));
});
