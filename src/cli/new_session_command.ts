import { DaemonNotRunningError } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { type DataDirLayout, ensureDataDir } from "../store/data_dir.ts";
import { DataDirLock } from "../store/data_dir_lock.ts";
import { MessageLog } from "../store/message_log.ts";
import { encodeRecordLine } from "../store/record.ts";
import { RecoveryJournal } from "../store/recovery_journal.ts";
import { archiveCurrentLog, highestStoredSeq } from "../store/session_archive.ts";
import { readLastGoodRecord } from "../store/tail_repair.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { askDaemon, layoutFromFlags } from "./daemon_link.ts";
import { printJson, printLine } from "./output.ts";

/** `shearwater-persist new-session`: archive the current session and start a new one. */
export const newSessionCommand: Command = {
  name: "new-session",
  summary: "archive current_session.jsonl to archive/ and start a new session",
  help: `Usage: shearwater-persist new-session [options]

Ends the current session: its log moves atomically to
archive/session_<id>.jsonl and a new current_session.jsonl begins. With a
daemon running, the daemon does it without pausing recording (messages
arriving meanwhile go to the new session). Nothing is deleted.

Options:
${COMMON_HELP}

Exit codes: 0 done, 3 the data dir is locked by a daemon that does not answer.
`,
  async run(args) {
    const { values } = parseCommandArgs("new-session", args, COMMON_OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const layout = layoutFromFlags(values);
    let result: { archived: string | undefined | null; session: string | null; daemon: boolean };
    try {
      const answer = await askDaemon(layout, { cmd: "new-session", reason: "new-session command" });
      result = {
        archived: answer.archived as string | undefined,
        session: answer.session as string,
        daemon: true,
      };
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError)) throw error;
      result = { ...await archiveWithoutDaemon(layout), session: null, daemon: false };
    }
    if (values.json) {
      printJson({
        archived: result.archived ?? null,
        session: result.session,
        daemon: result.daemon,
      });
    } else if (result.archived) {
      printLine(`Archived the session to ${result.archived}.`);
      printLine(
        result.daemon
          ? `The daemon now records into session ${result.session}.`
          : "The next daemon start begins a new session.",
      );
    } else {
      printLine("There was no current session to archive; the next messages start a new one.");
    }
    return 0;
  },
};

async function archiveWithoutDaemon(
  layout: DataDirLayout,
): Promise<{ archived: string | undefined }> {
  await ensureDataDir(layout.root);
  const lock = await DataDirLock.acquire(layout.lockFile, "new-session");
  try {
    const last = await readLastGoodRecord(layout.currentLog);
    if (!last) return { archived: await archiveCurrentLog(layout, "unknown") };
    const log = await MessageLog.open(layout.currentLog, {
      syncMode: "always",
      syncMs: 0,
      logger: silentLogger,
    });
    const seq = Math.max(await highestStoredSeq(layout), last.seq) + 1;
    log.append(
      encodeRecordLine({
        v: RECORD_FORMAT_VERSION,
        seq,
        type: "session_end",
        session: last.session,
        received_at: new Date().toISOString(),
        reason: "new-session command (no daemon running)",
      }),
      seq,
    );
    await log.close();
    const archived = await archiveCurrentLog(layout, last.session);
    const journal = await RecoveryJournal.open(layout.recoveryJournal);
    try {
      await journal.append({
        event: "session_archived",
        at: new Date().toISOString(),
        pid: Deno.pid,
        previous_session: last.session,
        archived_to: archived,
        durable_seq: seq,
      });
    } finally {
      journal.close();
    }
    return { archived };
  } finally {
    lock.release();
  }
}
