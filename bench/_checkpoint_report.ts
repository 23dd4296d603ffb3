import {
  count,
  fixed,
  formatBytes,
  limitCheck,
  row,
  spreadCells,
  type TargetCheck,
  targetLines,
} from "./_format.ts";
import type { Spread } from "./_stats.ts";
import type { CheckpointBenchResult } from "./checkpoint_bench.ts";

/** A checkpoint of the largest session may take at most this many fsynced copies of its log. */
export const MAX_CREATE_TO_COPY = 2;
/** "Well below N full copies": the growing session's checkpoints use at most this share. */
export const MAX_DISK_TO_FULL_COPIES = 0.25;
/** `store.list()` in process must answer within this. */
export const MAX_LIST_MS = 100;
/** `checkpoint list` as a whole command: at most this many empty programs (same run, p50). */
export const MAX_LIST_TO_EMPTY = 4;
/** The session size the creation target is stated for. */
const TARGET_MESSAGES = 100_000;

/**
 * Checks the checkpoint targets: the largest session's checkpoint ≤ 2 × a durable copy of its
 * log, the growing session's checkpoints well below the disk of full copies, `store.list()`
 * ≤ 100 ms in process, and `checkpoint list` (text and `--json`) ≤ 4 × an empty program as
 * whole commands.
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
    checks.push(limitCheck(
      `checkpoint of ${count(largest.messages)} msgs ≤ ${MAX_CREATE_TO_COPY} × copy${scaled}`,
      largest.createToCopy,
      { limit: MAX_CREATE_TO_COPY, show: (ratio) => `${ratio.toFixed(2)} ×` },
    ));
  }
  const { growing, listing } = result;
  checks.push(limitCheck(
    `${growing.checkpoints} growing checkpoints: disk ≤ ${MAX_DISK_TO_FULL_COPIES} × full copies`,
    growing.diskToFullCopies,
    { limit: MAX_DISK_TO_FULL_COPIES, show: (ratio) => `${ratio.toFixed(3)} ×` },
  ));
  checks.push(limitCheck(
    `list of ${count(listing.checkpoints)}, in process (store.list()) p50 ≤ ${MAX_LIST_MS} ms`,
    listing.inProcess?.p50Ms,
    { limit: MAX_LIST_MS, show: (ms) => `${ms.toFixed(1)} ms` },
  ));
  const command = (what: string, ratio: number | undefined) =>
    limitCheck(
      `${what} of ${count(listing.checkpoints)} p50 ≤ ${MAX_LIST_TO_EMPTY} × empty program`,
      ratio,
      { limit: MAX_LIST_TO_EMPTY, show: (value) => `${value.toFixed(2)} ×` },
    );
  checks.push(command("checkpoint list", listing.commands.listToEmpty));
  checks.push(command("checkpoint list --json", listing.commands.listJsonToEmpty));
  return checks;
}

/**
 * The human-readable report: one checkpoint per session size against a durable copy, the
 * growing session's disk against full copies, `checkpoint list` timings, and the targets.
 *
 * @example
 * ```ts
 * console.log(formatCheckpointReport(await runCheckpointBench({ quick: true })));
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
    ...targetLines(result.targets, 62),
  ].join("\n");
}

const CREATION_COLUMNS = [
  "messages",
  "log",
  "ckpt ms",
  "copy ms",
  "ckpt/copy",
  "disk",
  "disk/log",
  "segments",
];

function creationLines(result: CheckpointBenchResult): string[] {
  const sizes = result.sizes;
  const line = (cells: readonly string[]) => row("", 1, cells, 9);
  const lines = [
    `checkpoint bench${result.quick ? " (quick)" : ""}: chat sessions of ` +
    `${sizes.sessionMessages.map((n) => count(n)).join(" / ")} messages, about 300 B payloads`,
    `load average ${loads(result.loadBefore)} before, ${loads(result.loadAfter)} after ` +
    "(1/5/15 min; compare ratios within a run, not absolute figures across runs)",
    "",
    "one checkpoint by a fresh store (no reuse) against the naive design — copy the whole log",
    `(Deno.copyFile), fsync the copy and its folder; median of ${sizes.createRuns} runs each, ` +
    "alternating:",
    line(CREATION_COLUMNS),
    line(CREATION_COLUMNS.map(() => "-".repeat(9))),
    ...result.creation.map((c) =>
      line([
        count(c.messages),
        formatBytes(c.logBytes),
        fixed(c.createMs),
        fixed(c.copyMs),
        fixed(c.createToCopy),
        formatBytes(c.diskBytes),
        fixed(c.diskToLog, 3),
        String(c.segments),
      ])
    ),
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

function growingLines(result: CheckpointBenchResult): string[] {
  const g = result.growing;
  const [p50, p95, max] = spreadCells(g.perCheckpoint, 1);
  const estimate = g.estimatedCopiesMs === undefined
    ? "n/a"
    : `≈ ${(g.estimatedCopiesMs / 1000).toFixed(1)} s`;
  const lines = [
    `one growing session: ${g.checkpoints} checkpoints, one after every ${count(g.stepMessages)} ` +
    `appended messages (${count(g.messages)} messages, ${formatBytes(g.finalLogBytes)} at the end)`,
    `  create    total ${(g.totalCreateMs / 1000).toFixed(2)} s; per checkpoint p50 ${p50} ms, ` +
    `p95 ${p95} ms, max ${max} ms`,
    `            p50 of the first tenth ${g.firstTenthP50Ms.toFixed(1)} ms, of the last tenth ` +
    `${g.lastTenthP50Ms.toFixed(1)} ms`,
    `  disk      checkpoints/ ${formatBytes(g.diskBytes)} = ${g.diskToFinalLog.toFixed(2)} × ` +
    `the final log; ${g.checkpoints} full copies = ${formatBytes(g.fullCopiesBytes)}`,
    `            disk / full copies = ${g.diskToFullCopies.toFixed(3)}`,
    `  segments  ${g.lastManifestSegments} in the last manifest, ${g.segmentFiles} files in ` +
    "segments/ (zstd; each log line stored once, reused by later checkpoints)",
    `  naive     ${g.checkpoints} full copies ${estimate} at this run's copy rate ` +
    "(estimate from the largest size, not timed)",
    `            checkpoints total / naive estimate = ${fixed(g.createToEstimatedCopies, 2)}`,
    `  list      store.list() of these ${g.checkpoints} manifests (mean ` +
    `${formatBytes(Math.round(g.meanManifestBytes))} each): p50 ${g.listP50Ms.toFixed(1)} ms`,
  ];
  if (g.miscounted > 0) {
    lines.push(`  note: ${g.miscounted} checkpoints hold a different message count than appended`);
  }
  return lines;
}

function listingLines(result: CheckpointBenchResult): string[] {
  const l = result.listing;
  const c = l.commands;
  const line = (label: string, spread: Spread | undefined, ratio?: number) =>
    row(`  ${label}`, 48, [...spreadCells(spread, 1), ratio === undefined ? "" : fixed(ratio)]);
  const extra = c.list && c.version ? c.list.p50Ms - c.version.p50Ms : undefined;
  return [
    `checkpoint list: ${count(l.checkpoints)} checkpoints of one ${l.sessionMessages}-message ` +
    `session, 1 s apart (mean manifest ${formatBytes(Math.round(l.meanManifestBytes))})`,
    `  made in ${l.setupSeconds.toFixed(1)} s; create p50 ${l.createFirstTenthP50Ms.toFixed(1)} ` +
    `ms for the first tenth, ${l.createLastTenthP50Ms.toFixed(1)} ms for the last ` +
    "(create() lists the store first)",
    row("", 48, ["p50 ms", "p95 ms", "max ms"]),
    line(`store.list() in process, ${l.inProcess?.count ?? 0} runs`, l.inProcess),
    `    listed ${count(l.listed)}, ${count(l.listedOk)} ok`,
    row("", 48, ["p50 ms", "p95 ms", "max ms", "× empty"]),
    line(`empty program (deno run), ${c.runs} runs`, c.empty),
    line(
      `main.ts --version (startup), ${c.runs} runs`,
      c.version,
      c.version && c.empty ? c.version.p50Ms / c.empty.p50Ms : undefined,
    ),
    line(`main.ts checkpoint list, ${c.runs} runs`, c.list, c.listToEmpty),
    line(`main.ts checkpoint list --json, ${c.runs} runs`, c.listJson, c.listJsonToEmpty),
    `    printed ${count(c.textLines)} lines; --json ${count(c.listed)} checkpoints, ` +
    `${formatBytes(c.outputBytes)}; list p50 − startup p50 = ${fixed(extra)} ms`,
  ];
}

function loads(values: readonly number[] | undefined): string {
  return values ? values.map((value) => value.toFixed(2)).join("/") : "n/a";
}
