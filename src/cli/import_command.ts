import { DaemonNotRunningError, DataDirBusyError, UsageError } from "../errors.ts";
import {
  type FileOutcome,
  filesToImport,
  importFiles,
  type SeqSource,
} from "../importers/import_files.ts";
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from "../importers/transcript.ts";
import { nextFreeSeq, withDataDirLock } from "../session/offline.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { askDaemon } from "../daemon_process.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printError, printJson, printLine } from "./output.ts";
import { createProgress, type ProgressReporter } from "./progress.ts";
import { formatCount } from "./render.ts";

const OPTIONS = { ...COMMON_OPTIONS, format: { type: "string" } } as const;
/** Imports of at least this many bytes show a progress bar. */
const LARGE_IMPORT_BYTES = 4 * 1024 * 1024;
/** How long an offline import waits for another holder of the data dir. */
const LOCK_WAIT_MS = 30_000;
const LOCK_RETRY_MS = 50;

/** `shearwater-persist import PATH...`: transcripts from elsewhere as archived sessions. */
export const importCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("import", args, OPTIONS, true);
    const format = parseFormat(values.format);
    if (positionals.length === 0) {
      throw new UsageError(
        'Cannot import: name at least one file or folder (see "shearwater-persist import --help")',
      );
    }
    const layout = layoutFromFlags(values, { mustExist: false });
    const files = await filesToImport(positionals);
    if (files.length === 0) {
      printError(`Cannot import: no .jsonl files under ${positionals.join(", ")}`);
      return 1;
    }
    let progress: ProgressReporter | undefined;
    const run = (seqs: SeqSource, daemon: boolean) =>
      importFiles(layout, files, {
        format,
        seqs,
        onProgress: (done, total, count) => {
          if (values.json || total < LARGE_IMPORT_BYTES) return;
          progress ??= createProgress("Importing");
          progress.update(done, total, `${count} of ${files.length} files`);
        },
      }).then((outcomes) => ({ outcomes, daemon }));
    const { outcomes, daemon } = await viaDaemonOrOffline(layout, run);
    progress?.finish(`${files.length} files read`);
    for (const outcome of outcomes) {
      for (const problem of outcome.problems) {
        printError(`${outcome.path}:${problem.line}: ${problem.reason}`);
      }
      if (outcome.error) printError(outcome.error);
    }
    if (values.json) printJson({ daemon, files: outcomes.map(jsonOutcome) });
    else for (const outcome of outcomes) printLine(describe(outcome));
    return outcomes.every((outcome) => outcome.imported + outcome.already > 0) ? 0 : 1;
  },
};

/**
 * Seqs from the running daemon, or, when none runs, from the data dir under its lock. While
 * another process holds the lock (another offline import, a daemon starting), retries for up to
 * {@link LOCK_WAIT_MS}.
 */
async function viaDaemonOrOffline<T>(
  layout: DataDirLayout,
  run: (seqs: SeqSource, daemon: boolean) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (await daemonRuns(layout)) {
      return await run({
        async reserve(count) {
          const answer = await askDaemon(layout, { cmd: "reserve-seqs", count, reason: "import" });
          return answer.first;
        },
      }, true);
    }
    try {
      return await withDataDirLock(layout, "import", async () => {
        let next = await nextFreeSeq(layout);
        return await run({
          reserve(count) {
            const first = next;
            next += count;
            return Promise.resolve(first);
          },
        }, false);
      });
    } catch (error) {
      if (!(error instanceof DataDirBusyError) || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS * (1 + Math.random())));
  }
}

async function daemonRuns(layout: DataDirLayout): Promise<boolean> {
  try {
    await askDaemon(layout, { cmd: "status" }, { timeoutMs: 5000 });
    return true;
  } catch (error) {
    if (!(error instanceof DaemonNotRunningError)) throw error;
    return false;
  }
}

function parseFormat(value: string | undefined): TranscriptFormat | "auto" {
  if (value === undefined || value === "auto") return "auto";
  if ((TRANSCRIPT_FORMATS as readonly string[]).includes(value)) return value as TranscriptFormat;
  throw new UsageError(
    `Cannot import: unknown --format "${value}" (use auto, ${TRANSCRIPT_FORMATS.join(", ")})`,
  );
}

function describe(outcome: FileOutcome): string {
  const bad = outcome.problems.length > 0 ? `, ${outcome.problems.length} unreadable` : "";
  if (outcome.error) return `${outcome.path}: not imported`;
  if (outcome.imported === 0) {
    return outcome.already > 0
      ? `${outcome.path}: nothing new (${
        formatCount(outcome.already)
      } lines already imported${bad})`
      : `${outcome.path}: nothing to import${bad}`;
  }
  const already = outcome.already > 0 ? `, ${formatCount(outcome.already)} already there` : "";
  return `${outcome.path}: imported ${formatCount(outcome.imported)} lines (${outcome.format})` +
    ` as session ${outcome.session}, seq ${outcome.firstSeq}-${outcome.lastSeq}${already}${bad}`;
}

function jsonOutcome(outcome: FileOutcome) {
  return {
    path: outcome.path,
    format: outcome.format,
    imported: outcome.imported,
    already: outcome.already,
    problems: outcome.problems.map((problem) =>
      `${outcome.path}:${problem.line}: ${problem.reason}`
    ),
    session: outcome.session,
    archive: outcome.archive,
    first_seq: outcome.firstSeq,
    last_seq: outcome.lastSeq,
    error: outcome.error,
  };
}
