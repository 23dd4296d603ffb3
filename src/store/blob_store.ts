/**
 * Content-addressed blob files: frames too large to sit inside a log line are stored as
 * `<dir>/<sha256>` (mode 0600, folder 0700) and the log line refers to them by hash. A blob is
 * written and fsynced (file and folder) before the record that refers to it is appended, and
 * checked against its hash whenever it is read back.
 *
 * @module
 */
import { ErrorCode, PersistError } from "../errors.ts";
import { createSha256, sha256HexSync as checksumSha256HexSync } from "./checksums.ts";
import { parentDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "./data_dir.ts";

/** A stored frame that lives in a blob file: its hash, size and (when text) its first bytes. */
export interface BlobFrame {
  /** SHA-256 (lowercase hex) of the frame's bytes; also the blob's file name. */
  readonly blob: string;
  readonly bytes: number;
  /** The frame's first bytes as text, when they are valid UTF-8 (for previews and search). */
  readonly head?: string;
}

/** A blob a record or a checkpoint needs. */
export interface BlobRef {
  readonly sha256: string;
  readonly bytes: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const HASH_CHUNK_BYTES = 8 * 1024 * 1024;
const BLOB_MARKER = new TextEncoder().encode('{"blob":"');
const BLOB_REF_PATTERN = /\{"blob":"([0-9a-f]{64})","bytes":(\d+)/g;
const textDecoder = new TextDecoder();

/** True when a stored frame is a reference to a blob file. */
export function isBlobFrame(frame: unknown): frame is BlobFrame {
  if (typeof frame !== "object" || frame === null) return false;
  const candidate = frame as Record<string, unknown>;
  return typeof candidate.blob === "string" && typeof candidate.bytes === "number";
}

/** SHA-256 of bytes as lowercase hex, synchronously ({@link checksumSha256HexSync}). */
export function sha256HexSync(bytes: Uint8Array): string {
  return checksumSha256HexSync(bytes);
}

/** The file of blob `sha256` in `blobDir`; throws on a hash that is not 64 hex digits. */
export function blobPath(blobDir: string, sha256: string): string {
  if (!SHA256_HEX.test(sha256)) {
    throw new PersistError(`Cannot use blob "${sha256}": not a SHA-256 hash`, {
      code: ErrorCode.blobDamaged,
    });
  }
  return `${blobDir.replace(/\/+$/, "") || "/"}/${sha256}`;
}

/**
 * Stores `bytes` as blob `sha256` (the caller's hash of them) in `blobDir`, durably: written to
 * a temporary name, fsynced, renamed, and the folder fsynced, so the blob is on disk before the
 * record that names it. An existing blob of the same size is kept (same name, same content).
 * Synchronous: the log writer thread must not append the record before this returns.
 *
 * @example
 * ```ts
 * writeBlobSync(layout.blobsDir, sha256HexSync(frame), frame);
 * ```
 */
export function writeBlobSync(blobDir: string, sha256: string, bytes: Uint8Array): void {
  const path = blobPath(blobDir, sha256);
  ensureBlobDirSync(blobDir);
  try {
    if (Deno.statSync(path).size === bytes.length) return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const temp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const file = Deno.openSync(temp, { write: true, createNew: true, mode: PRIVATE_FILE_MODE });
  try {
    let offset = 0;
    while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
    file.syncDataSync();
  } catch (error) {
    file.close();
    Deno.removeSync(temp);
    throw error;
  }
  file.close();
  Deno.renameSync(temp, path);
  syncDirectorySync(blobDir);
}

/**
 * Reads blob `sha256` and checks its size and hash. A missing or altered blob is a
 * {@link PersistError} (code `blob_missing` or `blob_damaged`), never returned.
 */
export function readBlobSync(blobDir: string, ref: BlobRef): Uint8Array {
  const path = blobPath(blobDir, ref.sha256);
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new PersistError(`Cannot read blob ${ref.sha256}: "${path}" is missing`, {
      code: ErrorCode.blobMissing,
      cause: error,
    });
  }
  if (bytes.length !== ref.bytes || sha256HexSync(bytes) !== ref.sha256) {
    throw new PersistError(
      `Cannot trust blob ${ref.sha256}: "${path}" does not match its hash (${bytes.length} bytes, ` +
        `expected ${ref.bytes})`,
      { code: ErrorCode.blobDamaged },
    );
  }
  return bytes;
}

/**
 * Checks a blob file against its hash without holding it in memory at once. Returns the
 * problem (`missing`, or a mismatch), or null when it is intact.
 */
export async function checkBlobFile(path: string, ref: BlobRef): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw error;
  }
  const hash = await createSha256();
  let size = 0;
  try {
    const chunk = new Uint8Array(HASH_CHUNK_BYTES);
    for (;;) {
      const n = await file.read(chunk);
      if (n === null) break;
      hash.update(chunk.subarray(0, n));
      size += n;
    }
  } finally {
    file.close();
  }
  if (size !== ref.bytes) return `damaged (${size} bytes, expected ${ref.bytes})`;
  return hash.digest("hex") === ref.sha256 ? null : "damaged (hash mismatch)";
}

/**
 * The blobs a verified log line refers to, found without parsing the line: `{"blob":"` can
 * only occur unescaped where the writer put a blob reference (inside a JSON string its quotes
 * would be escaped).
 */
export function blobRefsInLine(line: Uint8Array): BlobRef[] {
  const first = indexOfBlobMarker(line);
  if (first === -1) return [];
  const text = textDecoder.decode(line.subarray(first));
  const refs: BlobRef[] = [];
  for (const match of text.matchAll(BLOB_REF_PATTERN)) {
    refs.push({ sha256: match[1]!, bytes: Number(match[2]) });
  }
  return refs;
}

/** Where `{"blob":"` starts in `line`, or -1 (without node:buffer, slow to load). */
function indexOfBlobMarker(line: Uint8Array): number {
  const brace = BLOB_MARKER[0]!;
  for (let at = line.indexOf(brace); at !== -1; at = line.indexOf(brace, at + 1)) {
    if (at + BLOB_MARKER.length > line.length) return -1;
    let matched = 1;
    while (matched < BLOB_MARKER.length && line[at + matched] === BLOB_MARKER[matched]) matched++;
    if (matched === BLOB_MARKER.length) return at;
  }
  return -1;
}

/** Creates the blob folder (0700) if missing; fsyncs its parent when it was just created. */
export function ensureBlobDirSync(blobDir: string): void {
  try {
    Deno.mkdirSync(blobDir, { mode: PRIVATE_DIR_MODE });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    throw error;
  }
  Deno.chmodSync(blobDir, PRIVATE_DIR_MODE);
  syncDirectorySync(parentDir(blobDir.replace(/\/+$/, "")));
}

function syncDirectorySync(path: string): void {
  const dir = Deno.openSync(path, { read: true });
  try {
    dir.syncDataSync();
  } finally {
    dir.close();
  }
}
