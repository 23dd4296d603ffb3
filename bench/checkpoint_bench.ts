/**
 * The checkpoint benchmark: how long a checkpoint of a 1k / 10k / 100k-message session takes
 * against the naive design (copy the whole log, fsync) in the same run; how much disk 100
 * checkpoints of one growing session use against 100 full copies; and how fast
 * `checkpoint list` answers with 1,000 checkpoints, in process and as a whole command against
 * an empty `deno run` in the same run.
 *
 * @module
 */
import { CheckpointStore } from "../src/store/checkpoint_store.ts";
import { fileTimestamp, syncDirectory, syncFile } from "../src/store/data_dir.ts";
import { checkCheckpointTargets } from "./_checkpoint_report.ts";
import { jsonCount, timeCommands } from "./_command_timing.ts";
import { MessageCorpus } from "./_corpus.ts";
import { count, type TargetCheck } from "./_format.ts";
import { SessionLogWriter } from "./_log_generator.ts";
import { median, type Spread, spreadOf, timed } from "./_stats.ts";

/** Options for {@link runCheckpointBench}. */
export interface CheckpointBenchOptions {
  /** Smaller sizes (1k / 5k / 10k messages, 20 growing checkpoints, 200 listed). */
  readonly quick: boolean;
  /** Aborting stops the run between steps; the temp folder is removed all the same. */
  readonly signal?: AbortSignal;
  /** Receives progress lines; default: none. */
  readonly progress?: (line: string) => void;
}

/** The sizes one run uses; see {@link checkpointBenchSizes}. */
export interface CheckpointBenchSizes {
  /** Messages of the sessions checkpointed once each, by a fresh store. */
  readonly sessionMessages: readonly number[];
  /** Checkpoints (and copies) timed per session size; the median is reported. */
  readonly createRuns: number;
  /** Checkpoints of the growing session, one every `growingStepMessages` appended messages. */
  readonly growingCheckpoints: number;
  readonly growingStepMessages: number;
  /** Checkpoints in the store that `list` reads, all of one small session. */
  readonly listedCheckpoints: number;
  readonly listedSessionMessages: number;
  /** Timed `store.list()` calls and whole-command runs. */
  readonly listRuns: number;
  readonly commandRuns: number;
}

/** One session size: a checkpoint by a fresh store against a durable copy of the log. */
export type CreationResult = Awaited<ReturnType<typeof measureCreation>>;
/** Checkpoints of one session taken while it grows. */
export type GrowingResult = Awaited<ReturnType<typeof measureGrowing>>;
/** `checkpoint list` against a store of many checkpoints, in process and as whole commands. */
export type ListingResult = Awaited<ReturnType<typeof measureListing>>;

/** Everything one run measured. */
export interface CheckpointBenchResult {
  readonly quick: boolean;
  /** 1, 5 and 15-minute load averages before and after the run (the machine is often shared). */
  readonly loadBefore: readonly number[] | undefined;
  readonly loadAfter: readonly number[] | undefined;
  readonly sizes: CheckpointBenchSizes;
  readonly creation: readonly CreationResult[];
  readonly growing: GrowingResult;
  readonly listing: ListingResult;
  readonly targets: readonly TargetCheck[];
}

const SESSION_START_MS = Date.parse("2026-11-25T13:31:07.000Z");
const CHECKPOINT_START_MS = Date.parse("2026-11-26T09:00:00.000Z");

/**
 * The default sizes: sessions of 1k / 10k / 100k messages, 100 checkpoints 1,000 messages apart,
 * 1,000 listed checkpoints; `quick` uses 1k / 5k / 10k, 20 checkpoints and 200 listed.
 *
 * @example
 * ```ts
 * checkpointBenchSizes(true).sessionMessages; // [1000, 5000, 10000]
 * ```
 */
export function checkpointBenchSizes(quick: boolean): CheckpointBenchSizes {
  return {
    sessionMessages: quick ? [1_000, 5_000, 10_000] : [1_000, 10_000, 100_000],
    createRuns: 3,
    growingCheckpoints: quick ? 20 : 100,
    growingStepMessages: 1_000,
    listedCheckpoints: quick ? 200 : 1_000,
    listedSessionMessages: 20,
    listRuns: 10,
    commandRuns: 10,
  };
}

/**
 * Runs the checkpoint benchmark and returns the figures; targets that are missed are reported,
 * not thrown. The temp folder is gone when it returns or throws.
 *
 * @example
 * ```ts
 * const result = await runCheckpointBench({ quick: true });
 * console.log(result.creation.at(-1)?.createMs);
 * ```
 */
export async function runCheckpointBench(
  options: CheckpointBenchOptions,
): Promise<CheckpointBenchResult> {
  const sizes = checkpointBenchSizes(options.quick);
  const progress = options.progress ?? (() => {});
  const tempDir = await Deno.makeTempDir({ prefix: "shearwater-checkpoint-bench-" });
  try {
    const loadBefore = loadAverage();
    const context = { tempDir, sizes, progress, signal: options.signal };
    const creation: CreationResult[] = [];
    for (const messages of sizes.sessionMessages) {
      creation.push(await measureCreation(context, messages));
    }
    const growing = await measureGrowing(context, creation.at(-1));
    const listing = await measureListing(context);
    const loadAfter = loadAverage();
    const partial = {
      quick: options.quick,
      loadBefore,
      loadAfter,
      sizes,
      creation,
      growing,
      listing,
    };
    return { ...partial, targets: checkCheckpointTargets(partial) };
  } finally {
    await Deno.remove(tempDir, { recursive: true });
  }
}

interface Context {
  readonly tempDir: string;
  readonly sizes: CheckpointBenchSizes;
  readonly progress: (line: string) => void;
  readonly signal: AbortSignal | undefined;
}

async function measureCreation(context: Context, messages: number) {
  context.signal?.throwIfAborted();
  const dir = `${context.tempDir}/session_${messages}`;
  await Deno.mkdir(dir);
  const logPath = `${dir}/current_session.jsonl`;
  context.progress(`checkpoint of ${count(messages)} messages: writing the session…`);
  const logBytes = await writeSession(logPath, messages, messages);
  const createRunsMs: number[] = [];
  const copyRunsMs: number[] = [];
  let first: { diskBytes: number; segments: number; messages: number } | undefined;
  // Copy and checkpoint alternate, so that noise on a shared machine hits both alike.
  for (let run = 0; run < context.sizes.createRuns; run++) {
    context.signal?.throwIfAborted();
    const copy = `${dir}/copy_${run}.jsonl`;
    copyRunsMs.push((await timed(() => copyLogDurably(logPath, copy))).ms);
    await Deno.remove(copy);
    const store = new CheckpointStore(`${dir}/checkpoints_${run}`);
    const { ms, value: manifest } = await timedCheckpoint(store, logPath, logBytes);
    createRunsMs.push(ms);
    first ??= {
      diskBytes: await store.diskBytes(),
      segments: manifest.segments.length,
      messages: manifest.message_count,
    };
    await Deno.remove(store.dir, { recursive: true });
  }
  await Deno.remove(dir, { recursive: true });
  const createMs = median(createRunsMs);
  const copyMs = median(copyRunsMs);
  context.progress(
    `  ${count(messages)} messages: checkpoint ${createMs.toFixed(0)} ms, copy ` +
      `${copyMs.toFixed(0)} ms`,
  );
  return {
    messages,
    logBytes,
    /** Median of the timed checkpoints, each by a fresh store (no segment reuse). */
    createMs,
    createRunsMs,
    /** Median of the timed durable copies of the whole log. */
    copyMs,
    copyRunsMs,
    createToCopy: createMs / copyMs,
    /** store.diskBytes() after one checkpoint: manifest + segments. */
    diskBytes: first!.diskBytes,
    diskToLog: first!.diskBytes / logBytes,
    segments: first!.segments,
    /** message_count of the manifest: equals `messages` when nothing was skipped. */
    checkpointMessages: first!.messages,
  };
}

async function measureGrowing(context: Context, largest: CreationResult | undefined) {
  const { growingCheckpoints: checkpoints, growingStepMessages: step } = context.sizes;
  const dir = `${context.tempDir}/growing`;
  await Deno.mkdir(dir);
  const store = new CheckpointStore(`${dir}/checkpoints`);
  const writer = await SessionLogWriter.create(
    `${dir}/current_session.jsonl`,
    sessionOptions(checkpoints * step + 1),
  );
  context.progress(
    `growing session: ${checkpoints} checkpoints, one every ${count(step)} messages…`,
  );
  const timesMs: number[] = [];
  let fullCopiesBytes = 0;
  let miscounted = 0;
  let lastManifestSegments = 0;
  try {
    for (let i = 1; i <= checkpoints; i++) {
      context.signal?.throwIfAborted();
      await writer.append(step);
      fullCopiesBytes += writer.bytes;
      const { ms, value: manifest } = await timedCheckpoint(store, writer.path, writer.bytes, i);
      timesMs.push(ms);
      if (manifest.message_count !== writer.messages) miscounted++;
      lastManifestSegments = manifest.segments.length;
      if (i % Math.max(1, Math.floor(checkpoints / 5)) === 0) {
        context.progress(`  ${i}/${checkpoints}: ${timesMs.at(-1)!.toFixed(0)} ms`);
      }
    }
  } finally {
    await writer.close();
  }
  const diskBytes = await store.diskBytes();
  const listMs: number[] = [];
  for (let run = 0; run < 5; run++) listMs.push((await timed(() => store.list())).ms);
  const tenth = Math.max(1, Math.floor(checkpoints / 10));
  const copyBytesPerMs = largest ? largest.logBytes / largest.copyMs : undefined;
  const estimatedCopiesMs = copyBytesPerMs ? fullCopiesBytes / copyBytesPerMs : undefined;
  const totalCreateMs = timesMs.reduce((sum, ms) => sum + ms, 0);
  const result = {
    checkpoints,
    stepMessages: step,
    messages: writer.messages,
    finalLogBytes: writer.bytes,
    totalCreateMs,
    perCheckpoint: spreadOf(timesMs),
    /** p50 of the first and of the last tenth of the checkpoints: flat when reuse works. */
    firstTenthP50Ms: median(timesMs.slice(0, tenth)),
    lastTenthP50Ms: median(timesMs.slice(-tenth)),
    /** Sum of the log sizes at each checkpoint: what a full copy per checkpoint would store. */
    fullCopiesBytes,
    diskBytes,
    diskToFullCopies: diskBytes / fullCopiesBytes,
    diskToFinalLog: diskBytes / writer.bytes,
    /** A full copy per checkpoint: fullCopiesBytes at the largest size's copy rate. */
    estimatedCopiesMs,
    createToEstimatedCopies: estimatedCopiesMs ? totalCreateMs / estimatedCopiesMs : undefined,
    /** Segments the last manifest lists, and those files in segments/. */
    lastManifestSegments,
    segmentFiles: await countFiles(store.segmentsDir),
    /** store.list() of these checkpoints (manifests with many segments each), p50 of 5. */
    listP50Ms: median(listMs),
    meanManifestBytes: (diskBytes - await folderBytes(store.segmentsDir)) / checkpoints,
    /** Checkpoints whose message_count differed from the messages appended. */
    miscounted,
  };
  await Deno.remove(dir, { recursive: true });
  return result;
}

async function measureListing(context: Context) {
  const { listedCheckpoints: checkpoints, listedSessionMessages: messages } = context.sizes;
  const dataDir = `${context.tempDir}/listing`;
  await Deno.mkdir(dataDir);
  const logPath = `${dataDir}/current_session.jsonl`;
  const logBytes = await writeSession(logPath, messages, messages + 2);
  const store = new CheckpointStore(`${dataDir}/checkpoints`);
  context.progress(`checkpoint list: creating ${count(checkpoints)} checkpoints…`);
  const started = performance.now();
  const createMs: number[] = [];
  for (let i = 0; i < checkpoints; i++) {
    if (i % 100 === 0) context.signal?.throwIfAborted();
    createMs.push((await timedCheckpoint(store, logPath, logBytes, i)).ms);
  }
  const setupSeconds = (performance.now() - started) / 1000;
  const tenth = Math.max(1, Math.floor(checkpoints / 10));
  context.progress(`  created in ${setupSeconds.toFixed(1)} s; timing store.list()…`);
  let entries = await store.list(); // untimed: fills the page cache like any earlier command
  const listMs: number[] = [];
  for (let run = 0; run < context.sizes.listRuns; run++) {
    const list = await timed(() => store.list());
    listMs.push(list.ms);
    entries = list.value;
  }
  context.progress(`  timing ${context.sizes.commandRuns} runs of the whole command…`);
  const commands = await timeListCommand(dataDir, context);
  const manifestsBytes = await store.diskBytes() - await folderBytes(store.segmentsDir);
  return {
    checkpoints,
    sessionMessages: messages,
    setupSeconds,
    /** Create time p50 of the first and the last tenth: create() lists the store first. */
    createFirstTenthP50Ms: median(createMs.slice(0, tenth)),
    createLastTenthP50Ms: median(createMs.slice(-tenth)),
    inProcess: spreadOf(listMs),
    /** Entries store.list() returned, and how many of them were ok. */
    listed: entries.length,
    listedOk: entries.filter((entry) => entry.ok).length,
    meanManifestBytes: manifestsBytes / checkpoints,
    commands,
  };
}

/**
 * `checkpoint list` and `checkpoint list --json` against an empty program (`deno run` of an
 * empty file, same permissions) and `--version`, as whole commands, interleaved.
 */
async function timeListCommand(dataDir: string, context: Context) {
  let last = "";
  let lastText = "";
  const runs = context.sizes.commandRuns;
  const emptyScript = `${context.tempDir}/empty.ts`;
  await Deno.writeTextFile(emptyScript, "");
  const spreads = await timeCommands([
    { name: "empty", script: emptyScript, args: () => [] },
    { name: "version", args: () => ["--version"] },
    {
      name: "list",
      args: () => ["checkpoint", "list", "--data-dir", dataDir],
      onOutput: (stdout) => lastText = stdout,
    },
    {
      name: "listJson",
      args: () => ["checkpoint", "list", "--data-dir", dataDir, "--json"],
      onOutput: (stdout) => last = stdout,
    },
  ], { runs, signal: context.signal });
  const ratio = (spread: Spread | undefined) =>
    spread && spreads.empty ? spread.p50Ms / spreads.empty.p50Ms : undefined;
  return {
    runs,
    /** `deno run` of an empty file: the baseline of the ratios. */
    empty: spreads.empty,
    /** `main.ts --version`: the startup cost every command pays. */
    version: spreads.version,
    /** `main.ts checkpoint list --data-dir DIR`, and its p50 / the empty program's p50. */
    list: spreads.list,
    listToEmpty: ratio(spreads.list),
    /** `main.ts checkpoint list --data-dir DIR --json`, and its ratio. */
    listJson: spreads.listJson,
    listJsonToEmpty: ratio(spreads.listJson),
    /** Checkpoints the last `--json` list printed (its `count`), and its bytes on stdout. */
    listed: jsonCount(last, "checkpoint list --json"),
    outputBytes: new TextEncoder().encode(last).length,
    /** Lines the last text list printed. */
    textLines: lastText.split("\n").filter((line) => line !== "").length,
  };
}

/**
 * Times one checkpoint of `logPath` up to `endOffset`: `manual` at the current time, or `auto`
 * stamped `second` seconds after {@link CHECKPOINT_START_MS} (distinct, ordered ids).
 */
function timedCheckpoint(
  store: CheckpointStore,
  logPath: string,
  endOffset: number,
  second?: number,
) {
  return timed(() =>
    store.create({
      logPath,
      endOffset,
      trigger: second === undefined ? "manual" : "auto",
      label: null,
      parentCheckpoint: null,
      now: second === undefined ? undefined : new Date(CHECKPOINT_START_MS + second * 1000),
    })
  );
}

/**
 * The naive checkpoint: copies the whole log to `destination`, fsyncs the copy and its folder.
 * `Deno.copyFile` lets the kernel copy (copy_file_range), the fastest way a plain copy can go.
 */
async function copyLogDurably(source: string, destination: string): Promise<void> {
  await Deno.copyFile(source, destination);
  await syncFile(destination);
  await syncDirectory(destination.slice(0, destination.lastIndexOf("/")));
}

/** A session of chat messages 10 ms apart; the seed (which differs by size) sets the id. */
function sessionOptions(seed: number) {
  const suffix = (seed * 0x9e37 & 0xffff).toString(16).padStart(4, "0");
  return {
    session: `${fileTimestamp(new Date(SESSION_START_MS))}_${suffix}`,
    startMs: SESSION_START_MS,
    stepMs: 10,
    corpus: new MessageCorpus({ seed }),
  };
}

/** Writes a whole session of `messages` messages to `path`; returns its size in bytes. */
async function writeSession(path: string, messages: number, seed: number): Promise<number> {
  const writer = await SessionLogWriter.create(path, sessionOptions(seed));
  await writer.append(messages);
  await writer.close();
  return writer.bytes;
}

async function countFiles(dir: string): Promise<number> {
  let files = 0;
  for await (const entry of Deno.readDir(dir)) if (entry.isFile) files++;
  return files;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) total += (await Deno.stat(`${dir}/${entry.name}`)).size;
  }
  return total;
}

/** The load averages, or undefined without --allow-sys. */
function loadAverage(): number[] | undefined {
  try {
    return Deno.loadavg();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}
