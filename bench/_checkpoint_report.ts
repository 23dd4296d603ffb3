import type { TimingSpread } from "./_checkpoint_timing.ts";
import type { TargetCheck } from "./_targets.ts";
import type { CheckpointBenchResult, CreationResult } from "./checkpoint_bench.ts";

/** A checkpoint of the largest session must take at most this long. */
export const MAX_CREATE_MS = 1000;
/** "Well below N full copies": the growing session's checkpoints use at most this share. */
export const MAX_DISK_TO_FULL_COPIES = 0.25;
/** `checkpoint list` must answer within this. */
export const MAX_LIST_MS = 100;
/** The session size the creation target is stated for. */
const TARGET_MESSAGES = 100_000;

/**
 * Checks the checkpoint targets: the largest session's checkpoint ≤ 1 s, the growing session's
 * checkpoints well below the disk of full copies, `checkpoint list` ≤ 100 ms (in process and as
 * a whole command, each its own line).
 *
 * @example
 * ```ts
 * const targets = checkCheckpointTargets(result);
 * ```
 */
export function checkCheckpointTargets(
  result: Omit<CheckpointBenchResult, "targets">,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const largest = result.creation.at(-1);
  if (largest) {
    const scaled = largest.messages === TARGET_MESSAGES
      ? ""
      : ` (target is for ${count(TARGET_MESSAGES)})`;
    checks.push({
      target: `checkpoint of ${count(largest.messages)} msgs ≤ ${MAX_CREATE_MS} ms${scaled}`,
      value: `${largest.createMs.toFixed(0)} ms`,
      pass: largest.createMs <= MAX_CREATE_MS,
    });
  }
  const growing = result.growing;
  checks.push({
    target: `${growing.checkpoints} growing checkpoints: disk ≤ ${MAX_DISK_TO_FULL_COPIES} × ` +
      "full copies",
    value: `${growing.diskToFullCopies.toFixed(3)} ×`,
    pass: growing.diskToFullCopies <= MAX_DISK_TO_FULL_COPIES,
  });
  const listing = result.listing;
  const list = (where: string, spread: TimingSpread | undefined) => ({
    target: `list of ${count(listing.checkpoints)}, ${where} p50 ≤ ${MAX_LIST_MS} ms`,
    value: spread ? `${spread.p50Ms.toFixed(1)} ms` : "n/a",
    pass: spread !== undefined && spread.p50Ms <= MAX_LIST_MS,
  });
  checks.push(list("in process (store.list())", listing.inProcess));
  checks.push(list("whole command", listing.commands.list));
  return checks;
}

/**
 * The human-readable report: one checkpoint per session size against a durable copy, the
 * growing session's disk against full copies, `checkpoint list` timings, and the targets.
 *
 * @example
 * ```ts
 * console.log(formatCheckpointReport(await runCheckpointBench({ quick: true, json: true })));
 * ```
 */
export function formatCheckpointReport(result: CheckpointBenchResult): string {
  return [
    ...creationLines(result),
    "",
    ...growingLines(result),
    "",
    ...listingLines(result),
    "",
    "targets:",
    ...result.targets.map((t) =>
      `  ${t.pass ? "PASS" : "MISS"}  ${t.target.padEnd(62)} ${t.value}`
    ),
  ].join("\n");
}

const CREATION_COLUMNS = [
  ["messages", 9],
  ["log MB", 8],
  ["ckpt ms", 8],
  ["copy ms", 8],
  ["ckpt/copy", 9],
  ["disk MB", 8],
  ["disk/log", 8],
  ["segments", 8],
] as const;

function creationLines(result: CheckpointBenchResult): string[] {
  const sizes = result.sizes;
  const header = (cells: readonly string[]) =>
    "  " + cells.map((cell, i) => cell.padStart(CREATION_COLUMNS[i]![1])).join(" ");
  const lines = [
    `checkpoint bench${result.quick ? " (quick)" : ""}: chat sessions of ` +
    `${sizes.sessionMessages.map(count).join(" / ")} messages, about 300 B payloads`,
    `load average ${loads(result.loadBefore)} before, ${loads(result.loadAfter)} after ` +
    "(1/5/15 min; compare ratios within a run, not absolute figures across runs)",
    "",
    "one checkpoint by a fresh store (no reuse) against the naive design — copy the whole log",
    `(Deno.copyFile), fsync the copy and its folder; median of ${sizes.createRuns} runs each, ` +
    "alternating:",
    header(CREATION_COLUMNS.map(([title]) => title)),
    header(CREATION_COLUMNS.map(([, width]) => "-".repeat(width))),
    ...result.creation.map((c) => header(creationCells(c))),
    "  runs (ms): " +
    result.creation.map((c) =>
      `${count(c.messages)}: ckpt ${c.createRunsMs.map((ms) => ms.toFixed(0)).join("/")}, ` +
      `copy ${c.copyRunsMs.map((ms) => ms.toFixed(0)).join("/")}`
    ).join("; "),
  ];
  for (const c of result.creation.filter((c) => c.checkpointMessages !== c.messages)) {
    lines.push(`  note: the ${count(c.messages)}-message checkpoint holds ${c.checkpointMessages}`);
  }
  return lines;
}

function creationCells(c: CreationResult): string[] {
  return [
    count(c.messages),
    megabytes(c.logBytes),
    c.createMs.toFixed(1),
    c.copyMs.toFixed(1),
    c.createToCopy.toFixed(1),
    megabytes(c.diskBytes),
    c.diskToLog.toFixed(3),
    String(c.segments),
  ];
}

function growingLines(result: CheckpointBenchResult): string[] {
  const g = result.growing;
  const spread = g.perCheckpoint;
  const estimate = g.estimatedCopiesMs === undefined
    ? "n/a"
    : `≈ ${(g.estimatedCopiesMs / 1000).toFixed(1)} s`;
  const lines = [
    `one growing session: ${g.checkpoints} checkpoints, one after every ${count(g.stepMessages)} ` +
    `appended messages (${count(g.messages)} messages, ${
      megabytes(g.finalLogBytes)
    } MB at the end)`,
    `  create    total ${(g.totalCreateMs / 1000).toFixed(2)} s; per checkpoint p50 ` +
    `${fixed(spread?.p50Ms)} ms, p95 ${fixed(spread?.p95Ms)} ms, max ${fixed(spread?.maxMs)} ms`,
    `            p50 of the first tenth ${g.firstTenthP50Ms.toFixed(1)} ms, of the last tenth ` +
    `${g.lastTenthP50Ms.toFixed(1)} ms`,
    `  disk      checkpoints/ ${megabytes(g.diskBytes)} MB = ${g.diskToFinalLog.toFixed(2)} × ` +
    `the final log; ${g.checkpoints} full copies = ${megabytes(g.fullCopiesBytes)} MB`,
    `            disk / full copies = ${g.diskToFullCopies.toFixed(3)}`,
    `  segments  ${g.lastManifestSegments} in the last manifest, ${g.segmentFiles} files in ` +
    "segments/ (every checkpoint adds its own partial last segment)",
    `  naive     ${g.checkpoints} full copies ${estimate} at this run's copy rate ` +
    "(estimate from the largest size, not timed)",
    `            checkpoints total / naive estimate = ${fixed(g.createToEstimatedCopies, 2)}`,
    `  list      store.list() of these ${g.checkpoints} manifests (mean ` +
    `${(g.meanManifestBytes / 1024).toFixed(1)} KB each): p50 ${g.listP50Ms.toFixed(1)} ms`,
  ];
  if (g.miscounted > 0) {
    lines.push(`  note: ${g.miscounted} checkpoints hold a different message count than appended`);
  }
  return lines;
}

function listingLines(result: CheckpointBenchResult): string[] {
  const l = result.listing;
  const c = l.commands;
  const row = (label: string, spread: TimingSpread | undefined) =>
    `  ${label.padEnd(46)} ${fixed(spread?.p50Ms).padStart(7)} ${
      fixed(spread?.p95Ms).padStart(7)
    } ` +
    `${fixed(spread?.maxMs).padStart(7)}`;
  const extra = c.list && c.version ? c.list.p50Ms - c.version.p50Ms : undefined;
  return [
    `checkpoint list: ${count(l.checkpoints)} checkpoints of one ${l.sessionMessages}-message ` +
    `session, 1 s apart (mean manifest ${(l.meanManifestBytes / 1024).toFixed(1)} KB)`,
    `  made in ${l.setupSeconds.toFixed(1)} s; create p50 ${
      l.createFirstTenthP50Ms.toFixed(1)
    } ms ` +
    `for the first tenth, ${l.createLastTenthP50Ms.toFixed(1)} ms for the last ` +
    "(create() lists the store first)",
    `  ${"".padEnd(46)} ${"p50 ms".padStart(7)} ${"p95 ms".padStart(7)} ${"max ms".padStart(7)}`,
    row(`store.list() in process, ${l.inProcess?.count ?? 0} runs`, l.inProcess),
    `    listed ${count(l.listed)}, ${count(l.listedOk)} ok`,
    row(`main.ts --version (startup), ${c.runs} runs`, c.version),
    row(`main.ts checkpoint list --json, ${c.runs} runs`, c.list),
    `    printed ${count(c.listed)} checkpoints, ${(c.outputBytes / 1024).toFixed(0)} KB; ` +
    `list p50 − startup p50 = ${fixed(extra)} ms`,
  ];
}

function megabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(2);
}

function fixed(value: number | undefined, digits = 1): string {
  return value === undefined ? "n/a" : value.toFixed(digits);
}

function loads(values: readonly number[] | undefined): string {
  return values ? values.map((value) => value.toFixed(2)).join("/") : "n/a";
}

function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
