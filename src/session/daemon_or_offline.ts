/**
 * The session operations as the CLI and the menu run them: through the daemon when one runs,
 * otherwise offline under the data-dir lock ({@link OfflineSession}), which writes the same
 * records and journal entries. Notes for the user (a segment rewritten, waiting for the lock)
 * go to the `notify` option.
 *
 * @module
 */
import { askDaemon } from "../daemon_process.ts";
import { DaemonNotRunningError, DataDirBusyError } from "../errors.ts";
import { OfflineSession, withDataDirLock } from "./offline.ts";
import type { CheckpointManifest } from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";

/** Options of the daemon-or-offline operations. */
export interface DaemonOrOfflineOptions {
  /** Receives notes for the user (e.g. the CLI prints them on stderr). Default: dropped. */
  readonly notify?: (note: string) => void;
}

/** How long `checkpoint create` waits for another process's hold on the data dir. */
const LOCK_WAIT_MS = 30_000;
const LOCK_RETRY_MS = 50;

/** The two ways to run one operation, for {@link viaDaemonOrOffline}. */
interface BothPaths<T> {
  /** The lock holder's role while the offline path runs. */
  readonly role: string;
  /** Asks the running daemon; rejects with DaemonNotRunningError when none runs. */
  viaDaemon(): Promise<T>;
  /** Does it in this process, under the data-dir lock. */
  offline(session: OfflineSession): Promise<T>;
  /**
   * While another process holds the data dir (a daemon starting, another offline command),
   * retry for this long before failing with its exit code 3. Default: fail at once.
   */
  readonly lockWaitMs?: number;
}

/** Runs an operation through the daemon if one runs, else offline under the data-dir lock. */
async function viaDaemonOrOffline<T>(
  layout: DataDirLayout,
  paths: BothPaths<T>,
  options: DaemonOrOfflineOptions,
): Promise<T> {
  const notify = options.notify ?? (() => {});
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      return await paths.viaDaemon();
    } catch (error) {
      if (!(error instanceof DaemonNotRunningError)) throw error;
    }
    try {
      return await withDataDirLock(
        layout,
        paths.role,
        () =>
          OfflineSession.run(layout, {
            onSegmentRepaired: ({ sha256, problem }) =>
              notify(
                `note: Rewrote segment ${sha256.slice(0, 12)} from the log: it ${problem}`,
              ),
          }, paths.offline),
      );
    } catch (error) {
      if (
        !(error instanceof DataDirBusyError) || Date.now() - started >= (paths.lockWaitMs ?? 0)
      ) {
        throw error;
      }
      if (!told && Date.now() - started > 1000) {
        notify(`Waiting for the data dir: ${error.message}`);
        told = true;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS * (1 + Math.random())));
  }
}

/** What ending the current session did. */
export interface NewSessionResult {
  readonly archived: string | undefined | null;
  /** The new session, or null when no daemon runs (the next daemon start begins one). */
  readonly session: string | null;
  readonly daemon: boolean;
}

/** Archives the current session through the daemon, or offline when none runs. */
export function startNewSession(
  layout: DataDirLayout,
  options: DaemonOrOfflineOptions = {},
): Promise<NewSessionResult> {
  return viaDaemonOrOffline<NewSessionResult>(layout, {
    role: "new-session",
    async viaDaemon() {
      const answer = await askDaemon(layout, { cmd: "new-session", reason: REASON });
      return {
        archived: answer.archived as string | undefined,
        session: answer.session as string,
        daemon: true,
      };
    },
    async offline(session) {
      const done = await session.rotate(REASON, { kind: "none" });
      return { archived: done.archived, session: null, daemon: false };
    },
  }, options);
}

const REASON = "new-session command";

/**
 * Creates a checkpoint through the daemon, or offline; while another process (another
 * offline `checkpoint create`, a daemon starting) holds the data dir, retries for up to 30 s
 * before giving up with its exit code 3.
 */
export function createCheckpointAnywhere(
  layout: DataDirLayout,
  label: string | null,
  options: DaemonOrOfflineOptions = {},
): Promise<CheckpointManifest> {
  return viaDaemonOrOffline(layout, {
    role: "checkpoint",
    lockWaitMs: LOCK_WAIT_MS,
    async viaDaemon() {
      const answer = await askDaemon(layout, { cmd: "checkpoint", label }, { timeoutMs: 60_000 });
      return answer.checkpoint as CheckpointManifest;
    },
    offline: (session) => session.createCheckpoint("manual", label),
  }, options);
}

/** What loading a checkpoint did. */
export interface LoadResult {
  readonly archived: string | undefined;
  readonly session: string;
  readonly before_load: string | null;
  readonly daemon: boolean;
}

/** Loads a checkpoint through the running daemon, or offline when none runs. */
export function loadCheckpointAnywhere(
  layout: DataDirLayout,
  manifest: CheckpointManifest,
  options: DaemonOrOfflineOptions = {},
): Promise<LoadResult> {
  return viaDaemonOrOffline<LoadResult>(layout, {
    role: "checkpoint-load",
    async viaDaemon() {
      const answer = await askDaemon(layout, { cmd: "load-checkpoint", id: manifest.id }, {
        timeoutMs: 120_000,
      });
      return {
        archived: answer.archived,
        session: answer.session,
        before_load: answer.before_load,
        daemon: true,
      };
    },
    async offline(session) {
      return { ...await session.load(manifest), daemon: false };
    },
  }, options);
}
