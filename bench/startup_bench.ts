/**
 * The start-up benchmark: whole commands as people type them and as agent hooks run them, each
 * a fresh `deno run` process with the `cli` task's permissions, against an empty program run the
 * same way in the same run. Start-up is most of what these commands cost.
 *
 * @module
 */
import { ExitCode } from "../src/errors.ts";
import { refreshIndex } from "../src/indexer/refresh.ts";
import { silentLogger } from "../src/logger.ts";
import { CheckpointStore } from "../src/store/checkpoint_store.ts";
import { dataDirLayout } from "../src/store/data_dir.ts";
import { CleanupStack, waitUntil } from "./_async.ts";
import { freePorts, REPO_ROOT } from "./_child_process.ts";
import { timeCommands, type TimedCommand } from "./_command_timing.ts";
import { MessageCorpus } from "./_corpus.ts";
import { readStatus, spawnDaemon } from "./_daemon_scenario.ts";
import {
  count,
  fixed,
  limitCheck,
  row,
  spreadCells,
  type TargetCheck,
  targetLines,
} from "./_format.ts";
import { generateLogs } from "./_log_generator.ts";
import type { Spread } from "./_stats.ts";

/** Each command's p50 may be at most this many times the empty program's. */
export const MAX_STARTUP_RATIO = 2;

/** Options for {@link runStartupBench}. */
export interface StartupBenchOptions {
  /** Timed runs of each command (and of the empty program), interleaved. */
  readonly runs: number;
  /** Messages in the data dir that search, recent and checkpoint list read; default 10,000. */
  readonly messages?: number;
  /** Aborting stops the run; the daemon and temp files are cleaned up all the same. */
  readonly signal?: AbortSignal;
  /** Receives progress lines; default: none. */
  readonly progress?: (line: string) => void;
}

/** One command's wall time against the empty program. */
export interface StartupCase {
  /** The command line after `main.ts`, data-dir flags left out. */
  readonly command: string;
  readonly spread: Spread | undefined;
  /** p50 / the empty program's p50. */
  readonly ratio: number | undefined;
}

/** Everything one run measured. */
export interface StartupBenchResult {
  readonly runs: number;
  readonly messages: number;
  /** `deno run` of an empty file, same permissions, same working directory. */
  readonly empty: Spread | undefined;
  readonly commands: readonly StartupCase[];
  readonly targets: readonly TargetCheck[];
}

const HOOK_FIXTURE = `${REPO_ROOT}/tests/fixtures/hooks/claude_session_start.json`;
const DAY_MS = 86_400_000;

/**
 * Prepares a data dir with logs, index and checkpoints but no daemon, and a second one with a
 * daemon running (the hook's usual case), then times every command against the empty program.
 *
 * @example
 * ```ts
 * const result = await runStartupBench({ runs: 10, progress: console.error });
 * console.log(formatStartupReport(result));
 * ```
 */
export async function runStartupBench(options: StartupBenchOptions): Promise<StartupBenchResult> {
  const progress = options.progress ?? (() => {});
  const messages = options.messages ?? 10_000;
  const cleanup = new CleanupStack();
  try {
    const tempDir = await Deno.makeTempDir({ prefix: "shearwater-startup-bench-" });
    cleanup.defer(`remove "${tempDir}"`, () => Deno.remove(tempDir, { recursive: true }));
    progress(`startup: a data dir of ${count(messages)} messages, index and checkpoints…`);
    const idle = `${tempDir}/idle`;
    const word = await prepareIdleDataDir(idle, messages);
    const live = `${tempDir}/live`;
    const backend = `tcp://127.0.0.1:${freePorts(1)[0]}`;
    progress("  starting a daemon for the hook…");
    await startDaemon({ tempDir, backend, dataDir: live, cleanup, signal: options.signal });
    const emptyScript = `${tempDir}/empty.ts`;
    await Deno.writeTextFile(emptyScript, "");
    const idleFlags = ["--data-dir", idle];
    const cases: { command: string; timed: Omit<TimedCommand, "name" | "args">; args: string[] }[] =
      [
        { command: "--version", args: ["--version"], timed: {} },
        {
          command: "status (no daemon)",
          args: ["status", ...idleFlags],
          timed: { okCodes: [ExitCode.notRunning] },
        },
        {
          command: `search "${word}"`,
          args: ["search", word, ...idleFlags],
          timed: { okCodes: [ExitCode.ok, ExitCode.failure] }, // 1: no results
        },
        { command: "recent", args: ["recent", ...idleFlags], timed: {} },
        { command: "checkpoint list", args: ["checkpoint", "list", ...idleFlags], timed: {} },
        {
          command: "hook claude session-start",
          args: ["hook", "claude", "session-start", "--data-dir", live, "--backend", backend],
          timed: { stdin: await Deno.readTextFile(HOOK_FIXTURE), onOutput: checkHookReachedDaemon },
        },
      ];
    progress(`  timing ${options.runs} runs of ${cases.length} commands and the empty program…`);
    const spreads = await timeCommands([
      { name: "empty", script: emptyScript, args: () => [] },
      ...cases.map((c) => ({ ...c.timed, name: c.command, args: () => c.args })),
    ], { runs: options.runs, signal: options.signal });
    const empty = spreads.empty;
    const commands = cases.map(({ command }) => {
      const spread = spreads[command];
      const ratio = spread && empty ? spread.p50Ms / empty.p50Ms : undefined;
      return { command, spread, ratio };
    });
    const targets = commands.map((c) =>
      limitCheck(`${c.command} p50 ≤ ${MAX_STARTUP_RATIO} × empty program`, c.ratio, {
        limit: MAX_STARTUP_RATIO,
        show: (ratio) => `${ratio.toFixed(1)} ×`,
      })
    );
    return { runs: options.runs, messages, empty, commands, targets };
  } finally {
    await cleanup.run();
  }
}

/**
 * The human-readable report: p50/p95/max of each command and its ratio to the empty program,
 * then the targets.
 */
export function formatStartupReport(result: StartupBenchResult): string {
  const head = ["p50 ms", "p95 ms", "max ms", "× empty"];
  return [
    `startup: whole commands, ${result.runs} runs each interleaved with an empty program ` +
    "(deno run, same permissions);",
    `search, recent and checkpoint list read a data dir of ${count(result.messages)} ` +
    "messages with no daemon; the hook finds its daemon running",
    row("", 48, head),
    row("  empty program", 48, spreadCells(result.empty, 0)),
    ...result.commands.map((c) =>
      row(`  ${c.command}`, 48, [...spreadCells(c.spread, 0), fixed(c.ratio)])
    ),
    "",
    ...targetLines(result.targets, 64),
  ].join("\n");
}

/** Writes two sessions of chat, indexes them and takes three checkpoints; returns a word to find. */
async function prepareIdleDataDir(dataDir: string, messages: number): Promise<string> {
  const corpus = new MessageCorpus({ seed: 7 });
  const endMs = Date.now();
  await generateLogs(dataDir, { messages, sessions: 2, spanMs: DAY_MS, endMs, corpus });
  const layout = dataDirLayout(dataDir);
  await refreshIndex(layout, { logger: silentLogger, fresh: true });
  const store = new CheckpointStore(layout.checkpointsDir);
  const endOffset = (await Deno.stat(layout.currentLog)).size;
  for (let i = 0; i < 3; i++) {
    await store.create({
      logPath: layout.currentLog,
      endOffset,
      trigger: "manual",
      label: `startup bench ${i + 1}`,
      parentCheckpoint: null,
      now: new Date(endMs + i * 1000),
    });
  }
  return corpus.vocabulary[150]!; // a word of medium frequency
}

async function startDaemon(parts: {
  tempDir: string;
  backend: string;
  dataDir: string;
  cleanup: CleanupStack;
  signal?: AbortSignal;
}): Promise<void> {
  const context = { tempDir: parts.tempDir, backend: parts.backend, profileDir: undefined };
  const daemon = await spawnDaemon(context, parts.dataDir, {
    name: "daemon-startup",
    syncMode: "interval",
  });
  parts.cleanup.defer("stop the daemon", () => daemon.kill());
  const socket = dataDirLayout(parts.dataDir).controlSocket;
  await waitUntil(
    "start the daemon",
    async () => (await readStatus(daemon, socket)) !== undefined,
    {
      timeoutMs: 20_000,
      intervalMs: 50,
      signal: parts.signal,
    },
  );
}

/** The hook must have talked to the daemon, or the run timed another path (a timeout). */
function checkHookReachedDaemon(stdout: string): void {
  if (!stdout.includes("Recording is on")) {
    throw new Error(`Cannot time the hook: it did not reach the daemon; it printed: ${stdout}`);
  }
}
