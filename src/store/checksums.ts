/**
 * CRC-32 and SHA-256 that cost nothing to load. `node:zlib` and `node:crypto` each take about as
 * long to load as a whole empty `deno run` (both pull in Node's streams), and a command that
 * checks twenty log lines or one blob does not need them: it gets the TypeScript versions here.
 * Code that hashes in bulk (the writer, the indexer, checkpoint creation) switches to the native
 * ones by itself: after {@link NATIVE_AFTER_BYTES} bytes this module starts loading them, and
 * uses them from the next call after they are loaded. Both give the same results (tested).
 *
 * @module
 */

/** Bytes hashed in TypeScript before the native implementations are loaded. */
export const NATIVE_AFTER_BYTES = 256 * 1024;

type NativeCrc32 = (data: Uint8Array, seed?: number) => number;
/** A streaming SHA-256: node:crypto's Hash, as far as this project uses it. */
export interface Sha256Hash {
  update(data: Uint8Array): Sha256Hash;
  digest(encoding: "hex"): string;
}
type NativeCreateHash = (algorithm: "sha256") => Sha256Hash;

let nativeCrc32: NativeCrc32 | undefined;
let nativeCreateHash: NativeCreateHash | undefined;
let nativeLoad: Promise<void> | undefined;
let bytesInTypeScript = 0;

/**
 * CRC-32 (the zlib/PNG polynomial) of `data`, continuing from `seed` (a previous result), as an
 * unsigned 32-bit number: `crc32(b, crc32(a))` equals `crc32(a + b)`.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(data: Uint8Array, seed = 0): number {
  if (nativeCrc32) return nativeCrc32(data, seed) >>> 0;
  countTypeScriptBytes(data.length);
  return crc32TypeScript(data, seed);
}

/**
 * SHA-256 of `data` as lowercase hex, synchronously.
 *
 * @example
 * ```ts
 * sha256HexSync(new Uint8Array()); // "e3b0c442…b855"
 * ```
 */
export function sha256HexSync(data: Uint8Array): string {
  if (nativeCreateHash) return nativeCreateHash("sha256").update(data).digest("hex");
  countTypeScriptBytes(data.length);
  return sha256TypeScript(data);
}

/**
 * SHA-256 of `data` as lowercase hex: large inputs load and use the native implementation
 * first; small ones use it when it is loaded, else WebCrypto (`crypto.subtle`, built in, nothing
 * to load), which for a short command's few manifests is several times faster than the
 * TypeScript version running cold (3 manifests of 3.6 KB: ~0.5 ms against ~2.5 ms).
 *
 * @example
 * ```ts
 * const hex = await sha256Hex(segmentBytes);
 * ```
 */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  if (data.length >= NATIVE_AFTER_BYTES) await loadNative();
  if (nativeCreateHash) return nativeCreateHash("sha256").update(data).digest("hex");
  // WebCrypto takes no view of shared memory: that (never a file's bytes) goes the sync way.
  if (!(data.buffer instanceof ArrayBuffer)) return sha256HexSync(data);
  countTypeScriptBytes(data.length); // bulk use still switches to the native one
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * A streaming SHA-256 (`update` in pieces, then `digest("hex")`): the native one, loaded first.
 *
 * @example
 * ```ts
 * const hash = await createSha256();
 * hash.update(chunk);
 * const hex = hash.digest("hex");
 * ```
 */
export async function createSha256(): Promise<Sha256Hash> {
  await loadNative();
  return nativeCreateHash!("sha256");
}

/**
 * Loads the native implementations now (once); every later call uses them. For code that knows
 * it will hash a lot.
 */
export function loadNative(): Promise<void> {
  nativeLoad ??= Promise.all([import("node:zlib"), import("node:crypto")]).then(
    ([zlib, nodeCrypto]) => {
      nativeCrc32 = zlib.crc32;
      nativeCreateHash = nodeCrypto.createHash as NativeCreateHash;
    },
  );
  return nativeLoad;
}

/** Which implementation the synchronous functions use now (for tests and diagnostics). */
export function checksumImplementation(): "native" | "typescript" {
  return nativeCrc32 && nativeCreateHash ? "native" : "typescript";
}

function countTypeScriptBytes(length: number): void {
  bytesInTypeScript += length;
  if (bytesInTypeScript >= NATIVE_AFTER_BYTES && nativeLoad === undefined) {
    // Not awaited: the calls go on in TypeScript until the modules are there. A builtin module
    // that fails to load is a broken runtime: the rejection ends the process, as a failed
    // static import would have.
    void loadNative();
  }
}

let crcTable: Int32Array | undefined; // built on first use, not at start-up

/**
 * The byte-wise CRC table. A command checks a few short lines, in code that runs cold: one byte
 * per step with 256 entries costs ~0.4 ms for twenty lines where slicing-by-8 (2048 entries,
 * eight bytes per step) cost ~1.5 ms; bulk hashing moves to node:zlib anyway.
 */
function buildCrcTable(): Int32Array {
  const table = new Int32Array(256);
  // The table is linear (T[a ^ b] = T[a] ^ T[b]): eight single-bit entries give the rest with
  // one XOR each, instead of 2048 shift steps.
  for (let bit = 1; bit < 256; bit <<= 1) {
    let c = bit;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[bit] = c;
  }
  for (let n = 3; n < 256; n++) {
    const lowest = n & -n;
    if (lowest !== n) table[n] = table[lowest]! ^ table[n ^ lowest]!;
  }
  return table;
}

function crc32TypeScript(data: Uint8Array, seed: number): number {
  const t = crcTable ??= buildCrcTable();
  let c = ~seed;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const SHA256_K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

function sha256TypeScript(data: Uint8Array): string {
  const h = new Uint32Array([
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const fullBlocks = Math.floor(data.length / 64);
  for (let block = 0; block < fullBlocks; block++) sha256Block(h, w, data, block * 64);
  // The tail: the remaining bytes, 0x80, zeros, and the length in bits (big-endian, 64 bits).
  const rest = data.length - fullBlocks * 64;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(fullBlocks * 64));
  tail[rest] = 0x80;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(data.length / 0x20000000));
  view.setUint32(tail.length - 4, (data.length * 8) >>> 0);
  for (let at = 0; at < tail.length; at += 64) sha256Block(h, w, tail, at);
  let hex = "";
  for (const word of h) hex += word.toString(16).padStart(8, "0");
  return hex;
}

function sha256Block(h: Uint32Array, w: Uint32Array, data: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    w[i] = (data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = w[i - 16]! + s0 + w[i - 7]! + s1;
  }
  let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + s1 + ((e & f) ^ (~e & g)) + SHA256_K[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = h[0]! + a;
  h[1] = h[1]! + b;
  h[2] = h[2]! + c;
  h[3] = h[3]! + d;
  h[4] = h[4]! + e;
  h[5] = h[5]! + f;
  h[6] = h[6]! + g;
  h[7] = h[7]! + k;
}
