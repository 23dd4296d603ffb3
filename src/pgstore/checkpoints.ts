/**
 * Checkpoints through the shared store: `push` puts a checkpoint's manifest in
 * `shearwater.checkpoints` (origin, id) and its segments and blobs, content-addressed, in
 * `shearwater.segments` and `shearwater.blobs` (only those the store lacks: segments are shared
 * across checkpoints and origins); `pull` writes them into another data dir's `checkpoints/`,
 * verifies every hash, and only then writes the manifest, so `checkpoint load` there restores it
 * with its lineage (`parent`, part of the checksummed manifest).
 *
 * @module
 */
import { ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { blobPath, checkBlobFile, writeBlobSync } from "../store/blob_store.ts";
import { type CheckpointManifest, CheckpointStore, sha256Hex } from "../store/checkpoint_store.ts";
import { PRIVATE_DIR_MODE, writeFileAtomically } from "../store/data_dir.ts";
import { fileSize } from "../store/file_info.ts";
import type { PgStore } from "./connection.ts";

const encoder = new TextEncoder();

/** What {@link pushCheckpoint} did. */
export interface PushResult {
  readonly id: string;
  readonly origin: string;
  /** The store already held this checkpoint (nothing sent). */
  readonly alreadyThere: boolean;
  readonly segmentsSent: number;
  /** Segments the store already held (from this or another origin). */
  readonly segmentsShared: number;
  readonly bytesSent: number;
  readonly blobsSent: number;
}

/** A checkpoint as the store lists it. */
export interface StoredCheckpoint {
  readonly origin: string;
  readonly id: string;
  readonly pushedAt: string;
  readonly manifest: CheckpointManifest;
}

/** What {@link pullCheckpoint} did. */
export interface PullResult {
  readonly id: string;
  readonly origin: string;
  /** The data dir already held this very checkpoint. */
  readonly alreadyHere: boolean;
  readonly segmentsWritten: number;
  /** Segments the data dir already had (shared with its own checkpoints). */
  readonly segmentsPresent: number;
  readonly blobsWritten: number;
  readonly manifest: CheckpointManifest;
}

/**
 * Pushes checkpoint `idOrPrefix` (or "latest") of `checkpoints` to the store as `origin`'s. The
 * checkpoint is verified whole first: a damaged one is refused (`checkpoint_damaged`). Segments
 * and blobs go before the manifest, so a listed checkpoint always has what it needs.
 *
 * @example
 * ```ts
 * const result = await pushCheckpoint(store, new CheckpointStore(layout.checkpointsDir), origin, "latest");
 * ```
 */
export async function pushCheckpoint(
  store: PgStore,
  checkpoints: CheckpointStore,
  origin: string,
  idOrPrefix: string,
): Promise<PushResult> {
  const entry = await checkpoints.get(idOrPrefix);
  const problems = entry.ok ? await checkpoints.verify(entry.manifest) : [entry.reason];
  if (!entry.ok || problems.length > 0) {
    throw new PersistError(
      `Cannot push checkpoint ${entry.id}: it fails verification: ${problems.join("; ")}`,
      { code: ErrorCode.checkpointDamaged, exitCode: ExitCode.damaged },
    );
  }
  const manifest = entry.manifest;
  const action = `Cannot push checkpoint ${manifest.id} to ${store.redactedUrl}`;
  try {
    const segments = uniqueBy(manifest.segments, (segment) => segment.sha256);
    const present = await presentHashes(store, "segments", segments.map((s) => s.sha256));
    let bytesSent = 0;
    let segmentsSent = 0;
    for (const segment of segments) {
      if (present.has(segment.sha256)) continue;
      // The file as stored (zstd or plain, as the manifest says): one at a time, memory holds one.
      const data = await Deno.readFile(checkpoints.segmentFilePath(segment));
      await store.sql`INSERT INTO shearwater.segments (sha256, data)
        VALUES (${segment.sha256}, ${data}) ON CONFLICT DO NOTHING`;
      bytesSent += data.length;
      segmentsSent++;
    }
    const blobs = uniqueBy(manifest.blobs ?? [], (blob) => blob.sha256);
    const presentBlobs = await presentHashes(store, "blobs", blobs.map((b) => b.sha256));
    let blobsSent = 0;
    for (const blob of blobs) {
      if (presentBlobs.has(blob.sha256)) continue;
      const data = await Deno.readFile(blobPath(checkpoints.blobsDir, blob.sha256));
      await store.sql`INSERT INTO shearwater.blobs (sha256, data)
        VALUES (${blob.sha256}, ${data}) ON CONFLICT DO NOTHING`;
      bytesSent += data.length;
      blobsSent++;
    }
    // json, not jsonb: the text is kept as written, so its checksum still holds when pulled
    // (sent as text: a json parameter would be encoded by the driver a second time).
    const inserted = await store.sql`INSERT INTO shearwater.checkpoints
        (origin, id, manifest, created_at)
      VALUES (${origin}, ${manifest.id}, ${JSON.stringify(manifest)}::text::json,
        ${manifest.created_at}::timestamptz)
      ON CONFLICT DO NOTHING RETURNING id`;
    if (inserted.length === 0) {
      const [row] = await store.sql<{ checksum: string }[]>`
        SELECT manifest->>'checksum' AS checksum FROM shearwater.checkpoints
        WHERE origin = ${origin} AND id = ${manifest.id}`;
      if (row?.checksum !== manifest.checksum) {
        throw new PersistError(
          `${action}: the store holds another checkpoint ${manifest.id} of origin ${origin}`,
          { code: ErrorCode.checkpointDamaged, exitCode: ExitCode.failure },
        );
      }
    }
    return {
      id: manifest.id,
      origin,
      alreadyThere: inserted.length === 0,
      segmentsSent,
      segmentsShared: segments.length - segmentsSent,
      bytesSent,
      blobsSent,
    };
  } catch (error) {
    throw store.fail(error, action);
  }
}

/** The store's checkpoints (of one origin, when given), newest first. */
export async function listStoredCheckpoints(
  store: PgStore,
  options: { origin?: string } = {},
): Promise<StoredCheckpoint[]> {
  try {
    type Row = { origin: string; id: string; pushed: string; text: string };
    const rows = await store.sql<Row[]>`
      SELECT origin, id, pushed_at::text AS pushed, manifest::text AS text
      FROM shearwater.checkpoints
      WHERE ${options.origin ?? null}::text IS NULL OR origin = ${options.origin ?? null}
      ORDER BY created_at DESC, id DESC, origin`;
    return rows.map((row) => ({
      origin: row.origin,
      id: row.id,
      pushedAt: row.pushed,
      manifest: JSON.parse(row.text) as CheckpointManifest,
    }));
  } catch (error) {
    throw store.fail(error, `Cannot list the checkpoints of ${store.redactedUrl}`);
  }
}

/**
 * Pulls checkpoint `idOrPrefix` ("latest", an id or a unique prefix; of `options.origin` when
 * several origins have one) into `checkpoints`: missing segments and blobs are written, the whole
 * checkpoint is verified (manifest checksum, every segment and blob hash), then its manifest is
 * written. A different checkpoint with the same id already there is refused.
 */
export async function pullCheckpoint(
  store: PgStore,
  checkpoints: CheckpointStore,
  idOrPrefix: string,
  options: { origin?: string } = {},
): Promise<PullResult> {
  const found = await findStored(store, idOrPrefix, options.origin);
  const { manifest, origin } = found;
  const action = `Cannot pull checkpoint ${manifest.id} of origin ${origin}`;
  const manifestPath = checkpoints.manifestFilePath(manifest.id);
  const existing = await readManifestIfAny(manifestPath);
  if (existing !== undefined && existing.checksum !== manifest.checksum) {
    throw new PersistError(
      `${action}: this data dir has another checkpoint with id ${manifest.id} (ids are creation ` +
        `times: one was made here in the same second)`,
      { code: ErrorCode.checkpointDamaged, exitCode: ExitCode.failure },
    );
  }
  await ensurePrivateDir(checkpoints.dir);
  // Under the store lock: a concurrent prune would delete segments written before the manifest.
  return await checkpoints.withLock(async () => {
    await ensurePrivateDir(checkpoints.segmentsDir);
    const written: string[] = [];
    let blobsWritten = 0;
    const segments = uniqueBy(manifest.segments, (segment) => segment.sha256);
    try {
      for (const segment of segments) {
        const path = checkpoints.segmentFilePath(segment);
        const expected = segment.zstd_bytes ?? segment.bytes;
        if ((await fileSize(path)) === expected) continue; // hashes are checked below
        const [row] = await store.sql<{ data: Uint8Array }[]>`
          SELECT data FROM shearwater.segments WHERE sha256 = ${segment.sha256}`;
        if (row === undefined) {
          throw new PersistError(`${action}: segment ${segment.sha256} is not in the store`, {
            code: ErrorCode.checkpointDamaged,
            exitCode: ExitCode.damaged,
          });
        }
        if (row.data.length !== expected) {
          throw new PersistError(
            `${action}: segment ${segment.sha256.slice(0, 12)} is stored as ${row.data.length} ` +
              `bytes, the manifest expects ${expected}`,
            { code: ErrorCode.checkpointDamaged, exitCode: ExitCode.damaged },
          );
        }
        await writeFileAtomically(path, new Uint8Array(row.data), { syncFolder: false });
        written.push(path);
      }
      for (const blob of uniqueBy(manifest.blobs ?? [], (b) => b.sha256)) {
        if ((await checkBlobFile(blobPath(checkpoints.blobsDir, blob.sha256), blob)) === null) {
          continue;
        }
        const [row] = await store.sql<{ data: Uint8Array }[]>`
          SELECT data FROM shearwater.blobs WHERE sha256 = ${blob.sha256}`;
        if (row === undefined) {
          throw new PersistError(`${action}: blob ${blob.sha256} is not in the store`, {
            code: ErrorCode.blobMissing,
            exitCode: ExitCode.damaged,
          });
        }
        writeBlobSync(checkpoints.blobsDir, blob.sha256, new Uint8Array(row.data));
        written.push(blobPath(checkpoints.blobsDir, blob.sha256));
        blobsWritten++;
      }
    } catch (error) {
      throw store.fail(error, action);
    }
    const problems = await checkpoints.verify(manifest);
    if (problems.length > 0) {
      // What this pull wrote is not trusted: removed, so a later pull fetches it again.
      for (const path of written) await Deno.remove(path);
      throw new PersistError(`${action}: it fails verification: ${problems.join("; ")}`, {
        code: ErrorCode.checkpointDamaged,
        exitCode: ExitCode.damaged,
      });
    }
    if (existing === undefined) {
      // Written last, in the form `create` writes: the checkpoint appears only when it is whole.
      await writeFileAtomically(
        manifestPath,
        encoder.encode(JSON.stringify(manifest, null, 2) + "\n"),
      );
    }
    return {
      id: manifest.id,
      origin,
      alreadyHere: existing !== undefined,
      segmentsWritten: written.length - blobsWritten,
      segmentsPresent: segments.length - (written.length - blobsWritten),
      blobsWritten,
      manifest,
    };
  });
}

/** The stored checkpoint `idOrPrefix` names: exact id first, else a unique prefix. */
async function findStored(
  store: PgStore,
  idOrPrefix: string,
  origin: string | undefined,
): Promise<StoredCheckpoint> {
  const all = await listStoredCheckpoints(store, { origin });
  if (idOrPrefix === "latest" && all[0] !== undefined) return all[0];
  const exact = all.filter((c) => c.id === idOrPrefix);
  const matches = exact.length > 0 ? exact : all.filter((c) => c.id.startsWith(idOrPrefix));
  if (matches.length === 1) return await checkedManifest(matches[0]!);
  throw new PersistError(
    matches.length === 0
      ? `Cannot find checkpoint "${idOrPrefix}" in the store: see "shearwater-persist ` +
        `checkpoint list --store …"`
      : `Cannot tell which checkpoint "${idOrPrefix}" means: ${
        matches.map((c) => `${c.id} (origin ${c.origin})`).join(", ")
      } (give the full id, or --origin ID)`,
    { code: ErrorCode.checkpointNotFound, exitCode: ExitCode.failure },
  );
}

/** The stored manifest, its checksum checked (it was read from the database). */
async function checkedManifest(stored: StoredCheckpoint): Promise<StoredCheckpoint> {
  const { checksum, ...body } = stored.manifest;
  if ((await sha256Hex(encoder.encode(JSON.stringify(body)))) !== checksum) {
    throw new PersistError(
      `Cannot pull checkpoint ${stored.id} of origin ${stored.origin}: its manifest in the ` +
        `store fails its checksum`,
      { code: ErrorCode.checkpointDamaged, exitCode: ExitCode.damaged },
    );
  }
  return stored;
}

async function presentHashes(
  store: PgStore,
  table: "segments" | "blobs",
  hashes: readonly string[],
): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = table === "segments"
    ? await store.sql<{ sha256: string }[]>`
      SELECT sha256 FROM shearwater.segments WHERE sha256 = ANY(${hashes}::text[])`
    : await store.sql<{ sha256: string }[]>`
      SELECT sha256 FROM shearwater.blobs WHERE sha256 = ANY(${hashes}::text[])`;
  return new Set(rows.map((row) => row.sha256));
}

async function readManifestIfAny(path: string): Promise<CheckpointManifest | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as CheckpointManifest;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof SyntaxError) {
      throw new PersistError(`Cannot pull a checkpoint over "${path}": it is not a manifest`, {
        code: ErrorCode.checkpointDamaged,
        exitCode: ExitCode.damaged,
      });
    }
    throw error;
  }
}

async function ensurePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
