/**
 * The list index of a checkpoint store, `checkpoints/.list_index`: the manifests `list()` has
 * verified, each with the fingerprint (size, inode, modification and change time) its file had
 * then. `list()` re-reads and re-verifies only the manifests whose fingerprint differs (new,
 * rewritten, edited, replaced), so listing 1,000 checkpoints is one read, not 1,000 reads and
 * checksums. It is a cache: missing, stale, damaged or of another version, it is ignored and
 * written again; nothing else depends on it.
 *
 * Layout: the SHA-256 (hex) of the rest, a newline, then JSON: the segment references once each
 * (a growing session's checkpoints share most of theirs) and per manifest its file name,
 * fingerprint and the manifest with its `segments` given as positions in that table.
 *
 * @module
 */
import type { CheckpointManifest, SegmentRef } from "./checkpoint_store.ts";
import { PRIVATE_FILE_MODE } from "./data_dir.ts";

/** The index's file name inside the checkpoints folder. */
export const LIST_INDEX_FILE = ".list_index";

/** One verified manifest as the index keeps it. */
export interface IndexedManifest {
  /** The manifest's file name, `checkpoint_<id>.json`. */
  readonly file: string;
  /** {@link fingerprint} of the file when it was verified. */
  readonly fingerprint: string;
  readonly manifest: CheckpointManifest;
}

interface StoredIndex {
  readonly v: 1;
  readonly segments: SegmentRef[];
  readonly manifests: {
    file: string;
    fingerprint: string;
    manifest: Omit<CheckpointManifest, "segments"> & { segments: number[] };
  }[];
}

/**
 * A file changed this recently could change again without its times showing it (Deno reports
 * ctime in whole seconds): such a file is neither trusted by fingerprint nor indexed.
 */
export const RACY_CHANGE_MS = 2000;

/** Size, inode, modification and change time: any write or replacement changes it. */
export function fingerprint(info: Deno.FileInfo): string {
  return `${info.size}:${info.ino}:${info.mtime?.getTime()}:${info.ctime?.getTime()}`;
}

/**
 * The fingerprint, when the file's last change (mtime, and ctime, which no one can set back)
 * lies more than {@link RACY_CHANGE_MS} in the past; any later change then shows in it.
 */
export function trustedFingerprint(info: Deno.FileInfo): string | undefined {
  const mtimeMs = info.mtime?.getTime();
  const ctimeMs = info.ctime?.getTime();
  if (mtimeMs === undefined || ctimeMs === undefined) return undefined;
  return Date.now() - Math.max(mtimeMs, ctimeMs) > RACY_CHANGE_MS ? fingerprint(info) : undefined;
}

/**
 * The index of the checkpoints folder `dir`, by manifest file name; empty when there is none or
 * it cannot be trusted (checksum, version, shape).
 */
export async function readListIndex(dir: string): Promise<Map<string, IndexedManifest>> {
  const index = new Map<string, IndexedManifest>();
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${dir}/${LIST_INDEX_FILE}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return index;
    throw error;
  }
  const newline = bytes.indexOf(0x0a);
  if (newline !== 64) return index;
  const body = bytes.subarray(newline + 1);
  const stored = new TextDecoder().decode(bytes.subarray(0, newline));
  // WebCrypto hashes on another thread: parse meanwhile, and keep the result only if it holds.
  const digest = digestHex(body);
  let parsed: StoredIndex | undefined;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  if (stored !== await digest || parsed === undefined) return index;
  if (parsed?.v !== 1 || !Array.isArray(parsed.segments) || !Array.isArray(parsed.manifests)) {
    return index;
  }
  for (const { file, fingerprint, manifest } of parsed.manifests) {
    const segments = manifest.segments.map((at) => parsed.segments[at]);
    if (segments.some((segment) => segment === undefined)) return new Map();
    // The spread keeps the key order, so `--json` prints the manifest as its file has it.
    index.set(file, {
      file,
      fingerprint,
      manifest: { ...manifest, segments } as CheckpointManifest,
    });
  }
  return index;
}

/**
 * Writes the index of `dir` (a temporary file renamed over the old one, not fsynced: a cache
 * lost in a crash is rebuilt). Returns false when it could not be written (a read-only or full
 * disk, no permission, the folder gone): listing goes on without it.
 */
export async function writeListIndex(
  dir: string,
  manifests: readonly IndexedManifest[],
): Promise<boolean> {
  const segments: SegmentRef[] = [];
  const positions = new Map<string, number>();
  const stored: StoredIndex = {
    v: 1,
    segments,
    manifests: manifests.map(({ file, fingerprint, manifest }) => ({
      file,
      fingerprint,
      manifest: {
        ...manifest,
        segments: manifest.segments.map((segment) => {
          const key = JSON.stringify(segment);
          let at = positions.get(key);
          if (at === undefined) {
            at = segments.push(segment) - 1;
            positions.set(key, at);
          }
          return at;
        }),
      },
    })),
  };
  const body = new TextEncoder().encode(JSON.stringify(stored));
  const head = new TextEncoder().encode(`${await digestHex(body)}\n`);
  const path = `${dir}/${LIST_INDEX_FILE}`;
  const temp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    using file = Deno.openSync(temp, { write: true, createNew: true, mode: PRIVATE_FILE_MODE });
    for (const part of [head, body]) {
      for (let written = 0; written < part.length;) {
        written += file.writeSync(part.subarray(written));
      }
    }
  } catch (error) {
    if (isUnwritable(error)) {
      removeQuietly(temp);
      return false;
    }
    throw error;
  }
  try {
    Deno.renameSync(temp, path);
  } catch (error) {
    // NotFound: a concurrent create removed the temporary as a leftover.
    if (!(error instanceof Deno.errors.NotFound) && !isUnwritable(error)) throw error;
    removeQuietly(temp);
    return false;
  }
  return true;
}

/** Errors that mean the disk will not take the index now, not that something is broken. */
function isUnwritable(error: unknown): boolean {
  if (
    error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.NotFound
  ) return true;
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  return code === "ENOSPC" || code === "EDQUOT" || code === "EROFS";
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !isUnwritable(error)) throw error;
  }
}

/** SHA-256 hex by WebCrypto: built in, so a listing loads neither node:crypto nor node:zlib. */
async function digestHex(bytes: Uint8Array): Promise<string> {
  const copy = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", copy));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
