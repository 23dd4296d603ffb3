import { ErrorCode, ExitCode, PersistError } from "../errors.ts";
import { blobPath, type BlobRef, checkBlobFile, ensureBlobDirSync } from "./blob_store.ts";
import {
  fileTimestamp,
  parentDir,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  syncDirectory,
  syncFile,
  writeFileAtomically,
} from "./data_dir.ts";
import { withFileLock } from "./data_dir_lock.ts";
import { type BadLine, readFirstRecord } from "./log_reader.ts";
import { checkLineChecksum, type RecordHeadline, recordHeadline } from "./record.ts";
import {
  lineChecksumHolds,
  LineFields,
  readLineFields,
  RepeatedStrings,
  spanText,
  StringSpan,
} from "./_checkpoint_scan.ts";
import { SegmentEncoder } from "./_segment_encoder.ts";
import { ZSTD_LEVEL } from "./_segment_encoding.ts";
import { sha256Hex as checksumSha256Hex } from "./checksums.ts";
import { exists, fileSize, statOrNull } from "./file_info.ts";
import {
  fingerprint,
  type IndexedManifest,
  readListIndex,
  trustedFingerprint,
  writeListIndex,
} from "./_checkpoint_index.ts";

/** Why a checkpoint was taken. */
export type CheckpointTrigger = "manual" | "auto" | "emergency" | "session-end" | "before-load";

/** One immutable chunk of log lines, shared by every checkpoint that contains it. */
export interface SegmentRef {
  readonly sha256: string;
  readonly bytes: number;
  readonly records: number;
  /** What the segment holds, so later checkpoints can reuse it without reading it again. */
  readonly summary?: SegmentSummary;
  /** Blobs its records refer to (absent when none). */
  readonly blobs?: readonly BlobRef[];
  /**
   * Size of the segment's file when it is stored zstd-compressed (`<sha256>.jsonl.zst`); absent
   * for segments written before compression (`<sha256>.jsonl`, the bytes as they are). `sha256`
   * and `bytes` always describe the uncompressed lines.
   */
  readonly zstd_bytes?: number;
}

/** Counts of one segment's records. */
export interface SegmentSummary {
  readonly session: string;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly messages: number;
  readonly payload_bytes: number;
  readonly agents: readonly string[];
  readonly topics: readonly string[];
  readonly previews: readonly string[];
}

/** Where a checkpoint's conversation came from. */
export interface CheckpointParent {
  /** The session the checkpoint was taken of. */
  readonly session: string;
  /** The checkpoint that session was restored from, when it was (lineage). */
  readonly checkpoint: string | null;
}

/** The manifest stored as `checkpoints/checkpoint_<id>.json`. */
export interface CheckpointManifest {
  readonly v: 1;
  readonly id: string;
  readonly label: string | null;
  readonly created_at: string;
  readonly trigger: CheckpointTrigger;
  readonly session: string;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly message_count: number;
  readonly record_count: number;
  /** Bytes of the checkpoint's log lines (its size). */
  readonly bytes: number;
  /** Bytes of the messages' frames, as they crossed the bus. */
  readonly payload_bytes: number;
  readonly agents: readonly string[];
  readonly topics: readonly string[];
  readonly title: string;
  readonly parent: CheckpointParent;
  readonly segments: readonly SegmentRef[];
  /**
   * Blob files its records refer to, kept in `checkpoints/blobs/<sha256>` (absent when none):
   * the checkpoint carries them, so it stays loadable whatever happens to the data dir's blobs.
   */
  readonly blobs?: readonly BlobRef[];
  /**
   * Log lines that failed verification and were left out (absent in manifests written before
   * this field existed: none were recorded then). Non-empty means the checkpoint is incomplete.
   */
  readonly omitted?: readonly OmittedLine[];
  /** SHA-256 (hex) of this manifest as JSON without the `checksum` field. */
  readonly checksum: string;
}

/** A session-log line a checkpoint left out because it failed verification. */
export interface OmittedLine {
  /** Byte offset of the line in the session log. */
  readonly offset: number;
  /** Length of the line in bytes, newline included. */
  readonly bytes: number;
  /** Why it failed, e.g. a checksum mismatch. */
  readonly reason: string;
  /** The seq the damaged line claims, when one can be read from it (not trusted). */
  readonly seq: number | null;
  /** Seq of the last good record before the line (null at the start of the log). */
  readonly after_seq: number | null;
  /** Seq of the first good record after the line (null at the end of the checkpoint). */
  readonly before_seq: number | null;
}

/** A listed checkpoint: its manifest, or why it cannot be trusted. */
export type CheckpointEntry =
  | {
    readonly ok: true;
    readonly id: string;
    readonly file: string;
    readonly manifest: CheckpointManifest;
  }
  | {
    readonly ok: false;
    readonly id: string;
    readonly file: string;
    readonly reason: string;
    /** The manifest, when it is intact but its segments are not (missing, wrong size). */
    readonly manifest?: CheckpointManifest;
  };

/** What {@link CheckpointStore.prune} did. */
export interface PruneResult {
  /** Ids whose manifests were deleted. */
  readonly removed: readonly string[];
  /** Ids kept because a full verify found them damaged (retention never deletes evidence). */
  readonly keptDamaged: readonly { readonly id: string; readonly problems: readonly string[] }[];
  /** Segment files no remaining manifest refers to, deleted. */
  readonly segmentsRemoved: number;
}

/** Options of {@link CheckpointStore.create}. */
export interface CreateOptions {
  readonly logPath: string;
  readonly endOffset: number;
  readonly trigger: CheckpointTrigger;
  readonly label: string | null;
  readonly parentCheckpoint: string | null;
  readonly now?: Date;
  /** Told about each shared segment found damaged or missing and rewritten from the log. */
  readonly onSegmentRepaired?: (repair: { sha256: string; problem: string }) => void;
}

/** What the last full verify of all checkpoints found. */
export interface FullVerifyNote {
  /** When it ran (ISO 8601). */
  readonly at: string;
  readonly checked: number;
  readonly damaged: number;
}

/** A full verify is due when none ran for this long: `list` only checks sizes. */
export const FULL_VERIFY_DUE_MS = 7 * 86_400_000;
const VERIFY_NOTE = ".last_full_verify.json";

/** Most lines per segment: cuts fall on every multiple of it (and at each checkpoint's end). */
export const SEGMENT_RECORDS = 2048;
const MANIFEST_PREFIX = "checkpoint_";
const TITLE_CHARS = 60;
/** Bytes of log read at once by create (plus the unfinished segment carried over). */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;
const encoder = new TextEncoder();

/**
 * Checkpoints: immutable snapshots of a session log that a user can return to.
 *
 * A checkpoint is a manifest plus content-addressed segments (`checkpoints/segments/<sha256>.jsonl`,
 * the exact log lines). A session's log is cut into segments every {@link SEGMENT_RECORDS} lines
 * from its start and at the end of each checkpoint; the next checkpoint of the growing session
 * reuses them all and adds segments for the new lines only, so each line is stored once and the
 * segments never take more than the log. Checkpoints never refer to the session log, so they
 * stay loadable after it is archived or deleted; copying `checkpoints/` copies them. Every file
 * is written to a temporary name, fsynced, renamed and its folder fsynced: a crash never leaves
 * half a checkpoint visible.
 *
 * @example
 * ```ts
 * const store = new CheckpointStore(layout.checkpointsDir);
 * const manifest = await store.create({ logPath, endOffset, trigger: "manual", label: null, parentCheckpoint: null });
 * ```
 */
export class CheckpointStore {
  readonly dir: string;
  readonly segmentsDir: string;
  /** The checkpoints' own copies of the blobs they need. */
  readonly blobsDir: string;
  /** The data dir's blob store: where create copies blobs from and load restores them to. */
  readonly dataBlobsDir: string;
  /** Whether create may encode segments on a worker of its own (see the constructor). */
  readonly #segmentWorker: boolean;
  /** Segments found whole by hashing, by the fingerprint of their file then. */
  readonly #hashedWhole = new Map<string, string>();

  /**
   * `dir` is the data dir's `checkpoints/` folder; the data dir's blob store is `blobs/` beside
   * it unless `options.dataBlobsDir` says otherwise. `options.segmentWorker: false` keeps a large
   * create's segment encoding on the calling thread (a store that already runs on a worker).
   */
  constructor(dir: string, options: { dataBlobsDir?: string; segmentWorker?: boolean } = {}) {
    this.dir = dir;
    this.#segmentWorker = options.segmentWorker !== false;
    this.segmentsDir = `${dir}/segments`;
    this.blobsDir = `${dir}/blobs`;
    this.dataBlobsDir = options.dataBlobsDir ?? `${parentDir(dir.replace(/\/+$/, ""))}/blobs`;
  }

  /**
   * Snapshots the session log `logPath` up to byte `endOffset` (a line boundary, e.g. the
   * durable size). Lines that fail their checksum are not copied. Holds the store lock, so a
   * concurrent `remove()` (in any process) cannot delete segments it is about to refer to.
   */
  async create(options: CreateOptions): Promise<CheckpointManifest> {
    return await this.#withLock(() => this.#create(options));
  }

  async #create(options: CreateOptions): Promise<CheckpointManifest> {
    checkLabel(options.label);
    await Deno.mkdir(this.segmentsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await this.#removeTemporaries();
    const summary = new Summary();
    // Segments of this session's newest checkpoint are reused when the log still holds exactly
    // their bytes (checked by hash) and their files are intact (rewritten from the log when
    // not): a growing session is only read from there on, and no line is stored twice.
    const reused = await this.#reusablePrefix(options);
    for (const segment of reused.segments) summary.addSegment(segment);
    const segmentEncoder = await SegmentEncoder.start(options.endOffset - reused.endOffset, {
      worker: this.#segmentWorker,
    });
    let segments: SegmentRef[];
    const omitted: OmittedLine[] = [];
    try {
      segments = await this.#readNewSegments(options, {
        from: reused.endOffset,
        summary,
        encoder: segmentEncoder,
        omitted,
      });
    } finally {
      segmentEncoder.close();
    }
    segments = [...reused.segments, ...segments];
    await syncDirectory(this.segmentsDir);
    if (summary.records === 0) {
      throw new PersistError(
        `Cannot create a checkpoint of "${options.logPath}": the session has no records yet`,
        { code: ErrorCode.checkpointEmpty },
      );
    }
    const blobs = blobsOf(segments);
    // Before the manifest that names them: a visible checkpoint always has its blobs.
    await this.#carryBlobs(blobs);
    const now = options.now ?? new Date();
    const id = await this.#freeId(fileTimestamp(now));
    const body = {
      v: 1 as const,
      id,
      label: options.label,
      created_at: now.toISOString(),
      trigger: options.trigger,
      session: summary.session,
      first_seq: summary.firstSeq,
      last_seq: summary.lastSeq,
      message_count: summary.messages,
      record_count: summary.records,
      bytes: segments.reduce((sum, segment) => sum + segment.bytes, 0),
      payload_bytes: summary.bytes,
      agents: [...summary.agents].sort(),
      topics: [...summary.topics].sort(),
      title: summary.title(),
      parent: { session: summary.session, checkpoint: options.parentCheckpoint },
      segments,
      ...(blobs.length > 0 ? { blobs } : {}),
      omitted: [...reused.omitted, ...omitted],
    };
    const manifest: CheckpointManifest = {
      ...body,
      checksum: await sha256Hex(encoder.encode(JSON.stringify(body))),
    };
    await writeFileAtomically(
      this.#manifestPath(id),
      encoder.encode(JSON.stringify(manifest, null, 2) + "\n"),
    );
    return manifest;
  }

  /**
   * Every checkpoint, newest first; damaged manifests are listed with the reason. Segments are
   * checked for presence and size only (see {@link verify}). A manifest verified before and
   * unchanged since (by its file's fingerprint) comes from the list index, not read again.
   */
  async list(): Promise<CheckpointEntry[]> {
    const names: string[] = [];
    try {
      // Synchronous: one call per entry of a folder of small files is what a listing costs.
      for (const entry of Deno.readDirSync(this.dir)) {
        if (
          entry.isFile && entry.name.startsWith(MANIFEST_PREFIX) && entry.name.endsWith(".json")
        ) {
          names.push(entry.name);
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    const index = await readListIndex(this.dir);
    const indexed: IndexedManifest[] = [];
    let indexChanged = false;
    const entries: CheckpointEntry[] = [];
    const checked: CheapChecks = { sizes: new Map(), problems: new Map() };
    for (const name of newestFirst(names)) {
      const file = `${this.dir}/${name}`;
      const info = statSyncOrNull(file); // before the read: a change after it shows next time
      const known = index.get(name);
      let entry: CheckpointEntry;
      if (info !== null && known !== undefined && known.fingerprint === fingerprint(info)) {
        entry = { ok: true, id: manifestId(name), file, manifest: known.manifest };
        indexed.push(known);
      } else {
        entry = await this.#readEntry(name);
        const trusted = info !== null && entry.ok ? trustedFingerprint(info) : undefined;
        if (trusted !== undefined && entry.ok) {
          indexed.push({ file: name, fingerprint: trusted, manifest: entry.manifest });
        }
        indexChanged ||= trusted !== undefined || known !== undefined;
      }
      if (!entry.ok) {
        entries.push(entry);
        continue;
      }
      const problems = this.#cheapCheck(entry.manifest, checked);
      entries.push(
        problems.length === 0 ? entry : {
          ok: false,
          id: entry.id,
          file: entry.file,
          reason: problems.join("; "),
          manifest: entry.manifest,
        },
      );
    }
    if (indexChanged || indexed.length !== index.size) await writeListIndex(this.dir, indexed);
    return entries;
  }

  /**
   * Segment files that are missing or of the wrong size (no hashing: see {@link verify}). Each
   * file is looked at once per listing (`checked.sizes`), and a segment reference shared by many
   * manifests (as the list index shares them) is judged once (`checked.problems`).
   */
  #cheapCheck(manifest: CheckpointManifest, checked: CheapChecks): string[] {
    const problems: string[] = [];
    for (const segment of manifest.segments) {
      let problem = checked.problems.get(segment);
      if (problem === undefined) {
        const path = this.segmentFilePath(segment);
        let size = checked.sizes.get(path);
        if (size === undefined) {
          size = statSyncOrNull(path)?.size ?? null;
          checked.sizes.set(path, size);
        }
        const expected = storedBytes(segment);
        problem = size === null
          ? `segment ${segment.sha256.slice(0, 12)} is missing`
          : size !== expected
          ? `segment ${
            segment.sha256.slice(0, 12)
          } is damaged (${size} bytes, expected ${expected})`
          : null;
        checked.problems.set(segment, problem);
      }
      if (problem !== null) problems.push(problem);
    }
    return problems;
  }

  /** The checkpoint with this id (or `latest`, or a unique id prefix). */
  async get(idOrPrefix: string): Promise<CheckpointEntry> {
    const entries = await this.list();
    if (idOrPrefix === "latest") {
      const latest = entries.find((entry) => entry.ok);
      if (latest) return latest;
    }
    const exact = entries.find((entry) => entry.id === idOrPrefix);
    if (exact) return exact;
    const matches = entries.filter((entry) => entry.id.startsWith(idOrPrefix));
    if (matches.length === 1) return matches[0]!;
    throw new PersistError(
      matches.length === 0
        ? `Cannot find checkpoint "${idOrPrefix}": see "shearwater-persist checkpoint list"`
        : `Cannot tell which checkpoint "${idOrPrefix}" means: ${
          matches.map((m) => m.id).join(", ")
        }`,
      { code: ErrorCode.checkpointNotFound },
    );
  }

  /** Checks the manifest checksum and every segment's hash; returns the problems found. */
  async verify(manifest: CheckpointManifest): Promise<string[]> {
    return await this.#verify(manifest, new Map(), { rehash: true });
  }

  /** {@link verify} with a cache of segment results, for checking many checkpoints at once. */
  async #verify(
    manifest: CheckpointManifest,
    checked: Map<string, string | null>,
    options: { rehash?: boolean } = {},
  ): Promise<string[]> {
    const problems: string[] = [];
    const { checksum, ...body } = manifest;
    if ((await sha256Hex(encoder.encode(JSON.stringify(body)))) !== checksum) {
      problems.push("manifest checksum does not match its content");
    }
    for (const segment of manifest.segments) {
      let problem = checked.get(segment.sha256);
      if (problem === undefined) {
        problem = await this.#segmentProblem(segment, options);
        checked.set(segment.sha256, problem);
      }
      if (problem !== null) problems.push(`segment ${segment.sha256.slice(0, 12)} ${problem}`);
    }
    for (const blob of manifest.blobs ?? []) {
      const problem = await checkBlobFile(this.#blobPath(blob.sha256), blob);
      if (problem !== null) problems.push(`blob ${blob.sha256.slice(0, 12)} is ${problem}`);
    }
    return problems;
  }

  /**
   * Puts the blobs a checkpoint carries into the data dir's blob store (before its records are
   * restored into a session), each checked against its hash first. A blob already there with
   * the right hash is kept.
   */
  async restoreBlobs(manifest: CheckpointManifest): Promise<void> {
    const blobs = manifest.blobs ?? [];
    if (blobs.length === 0) return;
    ensureBlobDirSync(this.dataBlobsDir);
    for (const blob of blobs) {
      const target = blobPath(this.dataBlobsDir, blob.sha256);
      if ((await checkBlobFile(target, blob)) === null) continue;
      const source = this.#blobPath(blob.sha256);
      const problem = await checkBlobFile(source, blob);
      if (problem !== null) {
        throw new PersistError(
          `Cannot restore checkpoint ${manifest.id}: blob ${
            blob.sha256.slice(0, 12)
          } is ${problem}`,
          { code: ErrorCode.checkpointDamaged },
        );
      }
      await placeFile(source, target);
    }
    await syncDirectory(this.dataBlobsDir);
  }

  /**
   * What is wrong with a segment's file (`is missing`, `is damaged …`), or null. A file this
   * store instance hashed before is not hashed again while its size, inode and modification
   * time are unchanged and that time lies well before the hashing (as git trusts its index),
   * unless `rehash`: a long-lived daemon then reads each shared segment once, not per checkpoint.
   */
  async #segmentProblem(
    segment: SegmentRef,
    options: { rehash?: boolean } = {},
  ): Promise<string | null> {
    const path = this.segmentFilePath(segment);
    const before = await statOrNull(path);
    if (before === null) return "is missing";
    const known = this.#hashedWhole.get(path);
    if (!options.rehash && known !== undefined && known === trustedFingerprint(before)) {
      return null;
    }
    this.#hashedWhole.delete(path);
    const read = await this.#readSegment(segment);
    if (typeof read === "string") return read;
    if ((await sha256Hex(read)) !== segment.sha256) return "is damaged (hash mismatch)";
    // Trust later only a file whose last change is well before this hash and that did not
    // change while it was read.
    const after = await statOrNull(path);
    const trusted = after && trustedFingerprint(after);
    if (trusted && trusted === fingerprint(before)) this.#hashedWhole.set(path, trusted);
    return null;
  }

  /**
   * A segment's lines (decompressed when stored compressed), or what is wrong with its file:
   * missing, of the wrong size, not decompressible. The hash is the caller's to check.
   */
  async #readSegment(segment: SegmentRef): Promise<Uint8Array | string> {
    let stored: Uint8Array;
    try {
      stored = await Deno.readFile(this.segmentFilePath(segment));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      return "is missing";
    }
    const expected = storedBytes(segment);
    if (stored.length !== expected) {
      return `is damaged (${stored.length} bytes, expected ${expected})`;
    }
    if (segment.zstd_bytes === undefined) return stored;
    let lines: Uint8Array;
    try {
      lines = await zstdDecompress(stored);
    } catch (error) {
      // Damage inside a compressed file: zstd reports it or the hash will not match.
      if (!(error instanceof Error)) throw error;
      return "is damaged (hash mismatch)";
    }
    // Other content than was written: the same finding as a hash mismatch of a plain file.
    return lines.length === segment.bytes ? lines : "is damaged (hash mismatch)";
  }

  /** The checkpoint's log lines, in order, verified against the segment hashes. */
  async *lines(manifest: CheckpointManifest): AsyncGenerator<Uint8Array> {
    for (const segment of manifest.segments) {
      const bytes = await this.#readSegment(segment);
      const problem = typeof bytes === "string"
        ? bytes
        : (await sha256Hex(bytes)) !== segment.sha256
        ? "is damaged"
        : null;
      if (problem !== null || typeof bytes === "string") {
        throw new PersistError(
          `Cannot read checkpoint ${manifest.id}: segment ${
            segment.sha256.slice(0, 12)
          } ${problem}`,
          { code: ErrorCode.checkpointDamaged },
        );
      }
      let start = 0;
      for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
        yield bytes.subarray(start, i + 1);
        start = i + 1;
      }
    }
  }

  /** Deletes manifests, then segments no remaining manifest refers to. */
  async remove(ids: readonly string[]): Promise<{ segmentsRemoved: number }> {
    return await this.#withLock(() => this.#remove(ids));
  }

  /**
   * Retention: deletes the checkpoints `ids` except those a full {@link verify} (run under the
   * store lock, right before deleting) finds damaged — those stay as evidence — then the
   * segments no remaining manifest refers to.
   */
  async prune(ids: readonly string[]): Promise<PruneResult> {
    return await this.#withLock(async () => {
      const keptDamaged: { id: string; problems: string[] }[] = [];
      const removable: string[] = [];
      const checked = new Map<string, string | null>();
      for (const id of ids) {
        if (await fileSize(this.#manifestPath(id)) === null) continue; // already gone
        const entry = await this.#readEntry(`${MANIFEST_PREFIX}${id}.json`);
        const problems = entry.ok ? await this.#verify(entry.manifest, checked) : [entry.reason];
        if (problems.length) keptDamaged.push({ id, problems });
        else removable.push(id);
      }
      const { segmentsRemoved } = await this.#remove(removable);
      return { removed: removable, keptDamaged, segmentsRemoved };
    });
  }

  /**
   * Runs `work` holding the store lock that create, remove and prune hold: for code that adds
   * segments and a manifest by other means (`checkpoint pull`), so that a concurrent prune
   * cannot delete a segment written before its manifest.
   */
  async withLock<T>(work: () => Promise<T>): Promise<T> {
    return await this.#withLock(work);
  }

  async #withLock<T>(work: () => Promise<T>): Promise<T> {
    await Deno.mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    return await withFileLock(`${this.dir}/.lock`, work);
  }

  async #remove(ids: readonly string[]): Promise<{ segmentsRemoved: number }> {
    for (const id of ids) await Deno.remove(this.#manifestPath(id));
    await syncDirectory(this.dir);
    const referenced = new Set<string>();
    for (const entry of await this.list()) {
      // A manifest that cannot be read might refer to any segment or blob: then keep them all.
      if (!entry.manifest) return { segmentsRemoved: 0 };
      for (const segment of entry.manifest.segments) referenced.add(segment.sha256);
      for (const blob of entry.manifest.blobs ?? []) referenced.add(blob.sha256);
    }
    await this.#removeUnreferencedBlobs(referenced);
    let segmentsRemoved = 0;
    for await (const entry of Deno.readDir(this.segmentsDir)) {
      const hash = entry.name.replace(/\.jsonl(\.zst)?$/, "");
      if (entry.isFile && /\.jsonl(\.zst)?$/.test(entry.name) && !referenced.has(hash)) {
        await Deno.remove(`${this.segmentsDir}/${entry.name}`);
        segmentsRemoved++;
      }
    }
    return { segmentsRemoved };
  }

  /**
   * When a full verify of every checkpoint last ran, and what it found; null if never. A promise
   * as before, though the one small file is read synchronously (every `list` reads it).
   */
  lastFullVerify(): Promise<FullVerifyNote | null> {
    return Promise.resolve(this.#lastFullVerifySync());
  }

  #lastFullVerifySync(): FullVerifyNote | null {
    try {
      const note = JSON.parse(Deno.readTextFileSync(`${this.dir}/${VERIFY_NOTE}`));
      return typeof note?.at === "string" && typeof note?.damaged === "number" ? note : null;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return null;
      throw error;
    }
  }

  /** Notes that every checkpoint was just verified (read by `list` to say when one is due). */
  async noteFullVerify(note: FullVerifyNote): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await writeFileAtomically(
      `${this.dir}/${VERIFY_NOTE}`,
      encoder.encode(JSON.stringify(note) + "\n"),
    );
  }

  /** Bytes used on disk by manifests, segments and blobs. */
  async diskBytes(): Promise<number> {
    let total = 0;
    for (const dir of [this.dir, this.segmentsDir, this.blobsDir]) {
      try {
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isFile) total += (await Deno.stat(`${dir}/${entry.name}`)).size;
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    return total;
  }

  async #readEntry(name: string): Promise<CheckpointEntry> {
    const id = manifestId(name);
    const file = `${this.dir}/${name}`;
    let manifest: CheckpointManifest;
    try {
      manifest = JSON.parse(Deno.readTextFileSync(file)); // small files: sync reads are faster
    } catch (error) {
      return { ok: false, id, file, reason: `manifest unreadable: ${(error as Error).message}` };
    }
    if (manifest?.v !== 1 || !Array.isArray(manifest.segments) || manifest.id !== id) {
      return { ok: false, id, file, reason: "manifest is not a v1 checkpoint" };
    }
    const { checksum, ...body } = manifest;
    if ((await sha256Hex(encoder.encode(JSON.stringify(body)))) !== checksum) {
      return { ok: false, id, file, reason: "manifest checksum mismatch" };
    }
    return { ok: true, id, file, manifest };
  }

  /**
   * Reads the log from `from` to `options.endOffset` and cuts its verified lines into new
   * segments (written as they are cut, hashed and compressed on both cores), adding them to
   * `summary`; lines that fail verification go to `omitted`. The log is read in large chunks,
   * each segment a view of one of them (a chunk starts with the unfinished segment's bytes), and
   * a line is checked on its bytes; only a line of unusual shape is decoded ({@link LineFields}).
   */
  async #readNewSegments(
    options: CreateOptions,
    context: {
      from: number;
      summary: Summary;
      encoder: SegmentEncoder;
      omitted: OmittedLine[];
    },
  ): Promise<SegmentRef[]> {
    const { summary, encoder, omitted } = context;
    const isUtf8 = await loadIsUtf8();
    const writes: Promise<SegmentRef>[] = []; // concurrent, their fsyncs overlap; in order
    const bad: BadLine[] = [];
    const fields = new LineFields();
    const strings = {
      session: new RepeatedStrings(),
      sender: new RepeatedStrings(),
      topic: new RepeatedStrings(),
    };
    let segmentSummary = new Summary();
    let segmentRecords = 0;
    let buffer = new Uint8Array(0);
    let filled = 0;
    let position = context.from; // file offset of buffer[0]
    let segmentStart = 0; // in buffer: the current segment's first line
    let lineStart = 0; // in buffer: the next line to read
    const flushSegment = (end: number) => {
      if (segmentRecords > 0) {
        const bytes = buffer.subarray(segmentStart, end);
        const write = this.#writeSegment(bytes, segmentRecords, segmentSummary.toSegmentSummary(), {
          encoder,
          options,
        });
        // Observed now: a write that fails (a full disk) while later lines are still being read
        // would otherwise be an unhandled rejection, which ends the process. Promise.all below
        // still rejects with it.
        write.catch(() => undefined);
        writes.push(write);
      }
      segmentSummary = new Summary();
      segmentRecords = 0;
      segmentStart = end;
    };
    const settleBad = async (beforeSeq: number | null) => {
      for (const line of bad.splice(0)) {
        omitted.push({
          offset: line.offset,
          bytes: line.length,
          reason: line.reason,
          seq: await claimedSeq(options.logPath, line),
          after_seq: summary.records === 0 ? null : summary.lastSeq,
          before_seq: beforeSeq,
        });
      }
    };
    let file: Deno.FsFile;
    try {
      file = await Deno.open(options.logPath, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    try {
      let unread = options.endOffset - context.from;
      await file.seek(context.from, Deno.SeekMode.Start);
      while (unread > 0) {
        // A new buffer (views of the old one stay valid for the segments being written) that
        // starts with the unfinished segment, then a chunk of the log: a segment is one view.
        const carried = filled - segmentStart;
        const next = new Uint8Array(carried + Math.min(unread, READ_CHUNK_BYTES));
        next.set(buffer.subarray(segmentStart, filled));
        position += segmentStart;
        lineStart -= segmentStart;
        segmentStart = 0;
        buffer = next;
        filled = carried;
        while (filled < buffer.length) {
          const n = await file.read(buffer.subarray(filled));
          if (n === null) break;
          filled += n;
        }
        if (filled === carried) break; // the log is shorter than endOffset said
        unread -= filled - carried;
        const lastNewline = buffer.lastIndexOf(NEWLINE, filled - 1);
        // One check of the chunk's whole lines stands for every line's UTF-8 check.
        const utf8 = lastNewline >= lineStart &&
          isUtf8(buffer.subarray(lineStart, lastNewline + 1));
        for (let end = buffer.indexOf(NEWLINE, lineStart); end !== -1 && end < filled;) {
          let headline: RecordHeadline | undefined;
          if (
            !(utf8 && lineChecksumHolds(buffer, lineStart, end + 1) &&
              readLineFields(buffer, lineStart, end + 1, fields))
          ) {
            const line = buffer.subarray(lineStart, end + 1);
            const checked = checkLine(line);
            if (!checked.ok) {
              flushSegment(lineStart); // a segment never spans a left-out line: it is reused
              bad.push({
                offset: position + lineStart,
                length: line.length,
                reason: checked.reason,
              });
              lineStart = segmentStart = end + 1;
              end = buffer.indexOf(NEWLINE, lineStart);
              continue;
            }
            headline = checked.headline;
          }
          if (bad.length) await settleBad(headline ? headline.seq : fields.seq);
          if (headline) {
            summary.add(headline);
            segmentSummary.add(headline);
          } else {
            summary.addFields(fields, strings);
            segmentSummary.addFields(fields, strings);
          }
          segmentRecords++;
          lineStart = end + 1;
          // Cuts fall every SEGMENT_RECORDS records from the session's start, and at the end of
          // each checkpoint: the next checkpoint reuses this one's segments, tail included.
          if (summary.records % SEGMENT_RECORDS === 0) flushSegment(lineStart);
          end = buffer.indexOf(NEWLINE, lineStart);
        }
      }
      await settleBad(null);
      flushSegment(lineStart);
    } catch (error) {
      await Promise.allSettled(writes); // no segment write goes on after create has failed
      throw error;
    } finally {
      file.close();
    }
    // Every write settles before create returns or fails: none is still writing afterwards.
    const settled = await Promise.allSettled(writes);
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<SegmentRef>).value);
  }

  async #reusablePrefix(
    options: CreateOptions,
  ): Promise<{ segments: SegmentRef[]; omitted: OmittedLine[]; endOffset: number }> {
    const none = { segments: [], omitted: [], endOffset: 0 };
    const first = await readFirstRecord(options.logPath);
    if (!first) return none;
    // A checkpoint listed as damaged for a missing segment still has a trustworthy manifest
    // (its checksum holds), and the log can rebuild what it lost.
    const previous = (await this.list()).find((entry) =>
      entry.manifest?.session === first.record.session
    )?.manifest;
    if (!previous) return none;
    const segments: SegmentRef[] = [];
    const omitted: OmittedLine[] = [];
    const skippable = [...(previous.omitted ?? [])].sort((a, b) => a.offset - b.offset);
    let offset = 0;
    const file = await Deno.open(options.logPath, { read: true });
    try {
      for (const segment of previous.segments) {
        // Lines the previous checkpoint left out sit between its segments: step over them.
        while (
          skippable[0]?.offset === offset && offset + skippable[0].bytes <= options.endOffset
        ) {
          offset += skippable[0].bytes;
          omitted.push(skippable.shift()!);
        }
        if (!segment.summary) break;
        if (offset + segment.bytes > options.endOffset) break;
        const bytes = await readExactly(file, offset, segment.bytes);
        if (bytes === undefined || (await sha256Hex(bytes)) !== segment.sha256) break;
        // Reusing a segment vouches for it in a new manifest: check the file, not just its name.
        const problem = await this.#segmentProblem(segment);
        if (problem !== null) {
          // Rewritten in the form the manifests name: compressed or not, as the ref says.
          const stored = segment.zstd_bytes === undefined ? bytes : await zstdCompress(bytes);
          if (stored.length !== storedBytes(segment)) break; // another zstd: write a new segment
          await writeFileAtomically(this.segmentFilePath(segment), stored, { syncFolder: false });
          options.onSegmentRepaired?.({ sha256: segment.sha256, problem });
        }
        segments.push(segment);
        offset += segment.bytes;
      }
    } finally {
      file.close();
    }
    return { segments, omitted, endOffset: offset };
  }

  /** Copies (hard-links when possible) each blob not yet carried from the data dir's store. */
  async #carryBlobs(blobs: readonly BlobRef[]): Promise<void> {
    if (blobs.length === 0) return;
    ensureBlobDirSync(this.blobsDir);
    for (const blob of blobs) {
      const target = this.#blobPath(blob.sha256);
      if (await exists(target)) continue; // content-addressed: checked by verify
      const source = blobPath(this.dataBlobsDir, blob.sha256);
      const problem = await checkBlobFile(source, blob);
      if (problem !== null) {
        throw new PersistError(
          `Cannot create a checkpoint: blob ${blob.sha256} that the session refers to is ${problem} ` +
            `in "${this.dataBlobsDir}"`,
          { code: ErrorCode.blobMissing },
        );
      }
      await placeFile(source, target);
    }
    await syncDirectory(this.blobsDir);
  }

  async #removeUnreferencedBlobs(referenced: ReadonlySet<string>): Promise<void> {
    try {
      for await (const entry of Deno.readDir(this.blobsDir)) {
        if (entry.isFile && /^[0-9a-f]{64}$/.test(entry.name) && !referenced.has(entry.name)) {
          await Deno.remove(`${this.blobsDir}/${entry.name}`);
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  async #writeSegment(
    bytes: Uint8Array,
    records: number,
    summary: SegmentSummary,
    context: { encoder: SegmentEncoder; options: CreateOptions },
  ): Promise<SegmentRef> {
    const { sha256, compressed, blobs } = await context.encoder.encode(bytes);
    const segment: SegmentRef = {
      sha256,
      bytes: bytes.length,
      records,
      summary,
      zstd_bytes: compressed.length,
    };
    // Content-addressed: an intact file of this name is this very content. A damaged one is
    // replaced (the folder is fsynced once, before the manifest that refers to it is written).
    const problem = await this.#segmentProblem(segment);
    if (problem !== null) {
      await writeFileAtomically(this.segmentFilePath(segment), compressed, { syncFolder: false });
      if (problem !== "is missing") context.options.onSegmentRepaired?.({ sha256, problem });
    }
    return blobs.length > 0 ? { ...segment, blobs } : segment;
  }

  async #freeId(base: string): Promise<string> {
    for (let n = 1;; n++) {
      const id = n === 1 ? base : `${base}_${n}`;
      try {
        await Deno.lstat(this.#manifestPath(id));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return id;
        throw error;
      }
    }
  }

  async #removeTemporaries(): Promise<void> {
    for (const dir of [this.dir, this.segmentsDir, this.blobsDir]) {
      try {
        for await (const entry of Deno.readDir(dir)) {
          if (entry.name.includes(".tmp-")) await Deno.remove(`${dir}/${entry.name}`);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error; // no blobs folder yet
      }
    }
  }

  #manifestPath(id: string): string {
    return `${this.dir}/${MANIFEST_PREFIX}${id}.json`;
  }

  /** The manifest file of checkpoint `id` (for copying a checkpoint between data dirs). */
  manifestFilePath(id: string): string {
    return this.#manifestPath(id);
  }

  /** The file holding a segment: `<sha256>.jsonl.zst`, or `<sha256>.jsonl` for older ones. */
  segmentFilePath(segment: SegmentRef): string {
    return `${this.segmentsDir}/${segment.sha256}.jsonl${
      segment.zstd_bytes === undefined ? "" : ".zst"
    }`;
  }

  #blobPath(sha256: string): string {
    return blobPath(this.blobsDir, sha256);
  }
}

/** Bytes of a segment's file as stored. */
function storedBytes(segment: SegmentRef): number {
  return segment.zstd_bytes ?? segment.bytes;
}

/**
 * node:zlib, loaded on first use: `checkpoint list` and other light commands never compress or
 * decompress, and loading node:zlib costs about as much as starting an empty program.
 */
let zlibModule: Promise<typeof import("node:zlib")> | undefined;

function loadZlib(): Promise<typeof import("node:zlib")> {
  return zlibModule ??= import("node:zlib");
}

/** Compresses as {@link SegmentEncoder} does (a rewritten segment must match its size). */
async function zstdCompress(bytes: Uint8Array): Promise<Uint8Array> {
  const zlib = await loadZlib();
  const buffer = zlib.zstdCompressSync(bytes, {
    params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
  });
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** node:buffer's isUtf8 (native), loaded on first use like node:zlib. */
async function loadIsUtf8(): Promise<(bytes: Uint8Array) => boolean> {
  return (await import("node:buffer")).isUtf8;
}

/**
 * Verifies a line and reads its headline the general way (decoding and parsing it), with the
 * reasons the log scanners give.
 */
function checkLine(
  line: Uint8Array,
): { ok: true; headline: RecordHeadline } | { ok: false; reason: string } {
  const checked = checkLineChecksum(line);
  if (!checked.ok) return checked;
  try {
    return { ok: true, headline: recordHeadline(checked.text) };
  } catch {
    return { ok: false, reason: "checksum matches but the line is not valid JSON" };
  }
}

/**
 * Synchronous decompression on purpose: Deno 2.9.6's callback `zstdDecompress` throws an
 * uncaught error for damaged input spanning several chunks (the callback gets it, then it is
 * thrown again), which would crash the process on a damaged segment. A segment (2048 lines)
 * decompresses in milliseconds.
 */
async function zstdDecompress(bytes: Uint8Array): Promise<Uint8Array> {
  const zlib = await loadZlib();
  const buffer = zlib.zstdDecompressSync(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Orders `checkpoint_<stamp>[_<n>].json` names newest first: by time, then by their collision
 * number. Each name's key is worked out once, not once per comparison.
 */
function newestFirst(names: readonly string[]): string[] {
  const keyed = names.map((name) => {
    const match = /^checkpoint_(\d{8}_\d{6})(?:_(\d+))?\.json$/.exec(name);
    return match
      ? { name, stamp: match[1]!, n: Number(match[2] ?? 1) }
      : { name, stamp: name, n: 0 };
  });
  keyed.sort((a, b) => a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.n - b.n);
  return keyed.map((key) => key.name).reverse();
}

/** Decoded strings of the fields {@link Summary.addFields} names, each kind its own cache. */
interface FieldStrings {
  readonly session: RepeatedStrings;
  readonly sender: RepeatedStrings;
  readonly topic: RepeatedStrings;
}

/** Counts and names gathered while reading a session for a checkpoint. */
class Summary {
  session = "";
  firstSeq = 0;
  lastSeq = 0;
  records = 0;
  messages = 0;
  bytes = 0;
  readonly agents = new Set<string>();
  readonly topics = new Set<string>();
  /**
   * The last preview (the only one a title or segment summary shows): a string, or still in its
   * line (decoded only if it ends up shown).
   */
  #lastPreview: string | undefined;
  readonly #lastPreviewSpan = new StringSpan();
  #lastPreviewInLine = false;

  add(record: RecordHeadline): void {
    if (this.records === 0) this.firstSeq = record.seq;
    this.records++;
    this.session = record.session;
    this.lastSeq = record.seq;
    if (record.type !== "message") return;
    this.messages++;
    const meta = (record.meta ?? {}) as { sender?: string; preview?: string; bytes?: number };
    this.bytes += meta.bytes ?? 0;
    if (meta.sender) this.agents.add(meta.sender);
    if (typeof record.topic === "string" && record.topic !== "") this.topics.add(record.topic);
    if (meta.preview) this.#pushPreview(meta.preview);
  }

  /** {@link add} for a line read by {@link readLineFields}: the same counts and names. */
  addFields(fields: LineFields, strings: FieldStrings): void {
    if (this.records === 0) this.firstSeq = fields.seq;
    this.records++;
    this.session = strings.session.decode(fields.buf, fields.sessionStart, fields.sessionEnd);
    this.lastSeq = fields.seq;
    if (!fields.isMessage) return;
    this.messages++;
    this.bytes += fields.bytes;
    // Empty strings count as absent, as in add().
    if (fields.hasSender && !fields.sender.empty) {
      this.agents.add(strings.sender.text(fields.sender));
    }
    if (fields.hasTopic && !fields.topic.empty) this.topics.add(strings.topic.text(fields.topic));
    if (fields.hasPreview && !fields.preview.empty) {
      const { buf, start, end, escaped } = fields.preview;
      this.#lastPreviewSpan.set(buf, start, end, escaped);
      this.#lastPreviewInLine = true;
    }
  }

  addSegment(ref: SegmentRef): void {
    const segment = ref.summary!;
    if (this.records === 0) this.firstSeq = segment.first_seq;
    this.records += ref.records;
    this.session = segment.session;
    this.lastSeq = segment.last_seq;
    this.messages += segment.messages;
    this.bytes += segment.payload_bytes;
    for (const agent of segment.agents) this.agents.add(agent);
    for (const topic of segment.topics) this.topics.add(topic);
    for (const preview of segment.previews) this.#pushPreview(preview);
  }

  toSegmentSummary(): SegmentSummary {
    return {
      session: this.session,
      first_seq: this.firstSeq,
      last_seq: this.lastSeq,
      messages: this.messages,
      payload_bytes: this.bytes,
      agents: [...this.agents].sort(),
      topics: [...this.topics].sort(),
      previews: this.#previewText() === undefined ? [] : [this.#previewText()!],
    };
  }

  #pushPreview(preview: string): void {
    this.#lastPreview = preview;
    this.#lastPreviewInLine = false;
  }

  #previewText(): string | undefined {
    if (this.#lastPreviewInLine) {
      this.#lastPreview = spanText(this.#lastPreviewSpan);
      this.#lastPreviewInLine = false;
    }
    return this.#lastPreview;
  }

  title(): string {
    const last = this.#previewText() ?? `${this.messages} messages`;
    return last.length > TITLE_CHARS ? last.slice(0, TITLE_CHARS - 1) + "…" : last;
  }
}

async function readExactly(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let read = 0;
  while (read < length) {
    const n = await file.read(out.subarray(read));
    if (n === null) return undefined;
    read += n;
  }
  return out;
}

/** Every blob the segments refer to, once each, in order of first use. */
function blobsOf(segments: readonly SegmentRef[]): BlobRef[] {
  const blobs = new Map<string, BlobRef>();
  for (const segment of segments) {
    for (const blob of segment.blobs ?? []) blobs.set(blob.sha256, blob);
  }
  return [...blobs.values()];
}

/**
 * Makes `target` a durable copy of the immutable file `source`: a hard link when both are on
 * one file system (no second copy of a large blob), else a copy via a temporary name. The
 * caller fsyncs the target's folder.
 */
async function placeFile(source: string, target: string): Promise<void> {
  const temp = `${target}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.link(source, temp);
  } catch (error) {
    if (!(error instanceof Error) || !("code" in error) || error.code !== "EXDEV") throw error;
    await Deno.copyFile(source, temp);
    await Deno.chmod(temp, PRIVATE_FILE_MODE);
    await syncFile(temp);
  }
  await Deno.rename(temp, target);
}

/** What one listing found of each segment file and segment reference. */
interface CheapChecks {
  readonly sizes: Map<string, number | null>;
  readonly problems: Map<SegmentRef, string | null>;
}

/** `checkpoint_<id>.json` → `<id>`. */
function manifestId(name: string): string {
  return name.slice(MANIFEST_PREFIX.length, -".json".length);
}

function statSyncOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

const CLAIMED_SEQ_BYTES = 64;

/** The seq a damaged line claims (`{"v":1,"seq":N,…`), or null when it cannot be read. */
async function claimedSeq(logPath: string, line: BadLine): Promise<number | null> {
  const file = await Deno.open(logPath, { read: true });
  try {
    const head = await readExactly(file, line.offset, Math.min(line.length, CLAIMED_SEQ_BYTES));
    const match = head && /"seq":(\d{1,15})[,}]/.exec(new TextDecoder().decode(head));
    return match ? Number(match[1]) : null;
  } finally {
    file.close();
  }
}

/** Longest checkpoint label accepted, in UTF-16 code units. */
export const MAX_LABEL_CHARS = 200;

/**
 * Refuses a label that could drive a terminal or break a listing: control characters (C0,
 * DEL, C1) anywhere, or more than {@link MAX_LABEL_CHARS}. Throws a PersistError with exit 2.
 *
 * @example
 * ```ts
 * checkLabel("before refactor"); // fine
 * checkLabel("\u001b[2J"); // throws: the label contains a control character
 * ```
 */
export function checkLabel(label: string | null): void {
  if (label === null) return;
  // deno-lint-ignore no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(label);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    throw new PersistError(
      `Cannot use this checkpoint label: it contains the control character U+${code} at ` +
        `position ${control.index + 1} (use printable text)`,
      { code: ErrorCode.invalidLabel, exitCode: ExitCode.usage },
    );
  }
  if (label.length > MAX_LABEL_CHARS) {
    throw new PersistError(
      `Cannot use this checkpoint label: it has ${label.length} characters, more than ` +
        `${MAX_LABEL_CHARS}`,
      { code: ErrorCode.invalidLabel, exitCode: ExitCode.usage },
    );
  }
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Synchronous hashing (node:crypto for segments, TypeScript for a manifest until then) is
  // several times faster than crypto.subtle for small inputs.
  return checksumSha256Hex(bytes);
}
