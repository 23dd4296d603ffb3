import { PersistError } from "../../src/errors.ts";
import {
  blobRefsInLine,
  checkBlobFile,
  readBlobSync,
  sha256HexSync,
  writeBlobSync,
} from "../../src/store/blob_store.ts";
import { decodeStoredFrames, encodeRecordLine, type StoredFrame } from "../../src/store/record.ts";
import { decodeFrame, messageRecord } from "../../src/enrich/mod.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { tempDir } from "../_helpers.ts";

const encoder = new TextEncoder();

Deno.test("writeBlobSync() stores a blob 0600 in a 0700 folder that readBlobSync() returns byte-exact", async () => {
  const dir = await tempDir("blob_write");
  try {
    const blobDir = `${dir.path}/blobs`;
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const sha256 = sha256HexSync(bytes);
    writeBlobSync(blobDir, sha256, bytes);
    writeBlobSync(blobDir, sha256, bytes); // again: kept, no error
    assertEquals((await Deno.stat(blobDir)).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(`${blobDir}/${sha256}`)).mode! & 0o777, 0o600);
    assertEquals([...Deno.readDirSync(blobDir)].map((entry) => entry.name), [sha256]);
    assertEquals(readBlobSync(blobDir, { sha256, bytes: bytes.length }), bytes);
    assertEquals(
      await checkBlobFile(`${blobDir}/${sha256}`, { sha256, bytes: bytes.length }),
      null,
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test("decodeStoredFrames() resolves text, base64 and blob frames to the exact bytes", async () => {
  const dir = await tempDir("blob_decode");
  try {
    const blobDir = `${dir.path}/blobs`;
    const big = new Uint8Array(2048).map((_, i) => 255 - (i & 0x7f));
    const sent = [encoder.encode("topic"), new Uint8Array([0xff, 0]), big];
    const stored = sent.map((frame) => decodeFrame(frame, { blobThresholdBytes: 1024 }).stored);
    const blob = stored[2] as { blob: string; bytes: number };
    writeBlobSync(blobDir, blob.blob, big);
    assertEquals(decodeStoredFrames(stored, { blobDir }), sent);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("decodeStoredFrames() reports a missing or altered blob as a PersistError", async () => {
  const dir = await tempDir("blob_damage");
  try {
    const blobDir = `${dir.path}/blobs`;
    const bytes = encoder.encode("a frame big enough to be a blob ".repeat(64));
    const frame = decodeFrame(bytes, { blobThresholdBytes: 16 }).stored as StoredFrame;
    const missing = assertThrows(() => decodeStoredFrames([frame], { blobDir }), PersistError);
    assertEquals((missing as PersistError).code, "blob_missing");
    const sha256 = sha256HexSync(bytes);
    writeBlobSync(blobDir, sha256, bytes);
    const altered = bytes.slice();
    altered[100] = altered[100]! ^ 0x01;
    await Deno.writeFile(`${blobDir}/${sha256}`, altered);
    const damaged = assertThrows(() => decodeStoredFrames([frame], { blobDir }), PersistError);
    assertEquals((damaged as PersistError).code, "blob_damaged");
    assert((damaged as PersistError).message.includes(sha256));
    assertEquals(
      await checkBlobFile(`${blobDir}/${sha256}`, { sha256, bytes: bytes.length }),
      "damaged (hash mismatch)",
    );
    await Deno.remove(`${blobDir}/${sha256}`);
    assertEquals(await checkBlobFile(`${blobDir}/${sha256}`, { sha256, bytes: 1 }), "missing");
  } finally {
    await dir.cleanup();
  }
});

Deno.test("blobRefsInLine() finds blob references but not look-alike text inside a frame", () => {
  const big = new Uint8Array(5000).fill(0xff);
  const placement = { seq: 1, session: "s", receivedAt: new Date(0) };
  const lookAlike = `{"blob":"${"a".repeat(64)}","bytes":5}`;
  const line = encodeRecordLine(
    messageRecord([encoder.encode(lookAlike), big], placement, { blobThresholdBytes: 4096 }),
  );
  assertEquals(blobRefsInLine(line), [{ sha256: sha256HexSync(big), bytes: 5000 }]);
  const plain = encodeRecordLine(messageRecord([encoder.encode(lookAlike)], placement));
  assertEquals(blobRefsInLine(plain), []);
});
