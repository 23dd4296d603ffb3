/**
 * The daemon's side of the control protocol: which daemon operation each command runs and what
 * it answers. Requests arrive here already checked ({@link parseControlRequest}).
 *
 * @module
 */
import { ErrorCode, ExitCode } from "../errors.ts";
import type { CheckpointManifest } from "../store/checkpoint_store.ts";
import type {
  ClientTrigger,
  ControlAnswer,
  ControlCommand,
  ControlProtocol,
  ControlReply,
  ControlRequest,
  DaemonStatus,
  StopReport,
} from "./protocol.ts";
import type { ControlHandler } from "./server.ts";

/** What the control socket needs of a running daemon. */
export interface ControlledDaemon {
  /** Why the daemon is stopping, or undefined while it records. */
  readonly stoppingReason: string | undefined;
  status(): DaemonStatus;
  newSession(reason: string): Promise<{ archived: string | undefined; session: string }>;
  /** Flushes and fsyncs the log; resolves with the durable seq. */
  flush(): Promise<number>;
  createCheckpoint(trigger: ClientTrigger, label: string | null): Promise<CheckpointManifest>;
  loadCheckpoint(
    id: string,
  ): Promise<{ archived: string | undefined; session: string; before_load: string | null }>;
  /** Asks the indexer to let go of the index for a while; false when there is no indexer. */
  releaseIndex(): boolean;
  /**
   * Reserves `count` consecutive seqs for records another process writes (journaled first, so
   * a restart never hands them out again); the daemon's next records come after them.
   */
  reserveSeqs(count: number, reason: string): Promise<{ first: number; last: number }>;
  /**
   * Tells the recorder which messages a replayer is about to send; resolves once a matching
   * message received from now on will be recorded with `meta.replay_of`.
   */
  expectReplays(
    marks: readonly { readonly digest: string; readonly replay_of: number }[],
    ttlMs: number,
  ): Promise<void>;
  /** The log's fsyncs after `sinceSeq`: `[durable seq, wall-clock ms]`, oldest first. */
  durableTimes(sinceSeq: number): [number, number][];
  /** Starts stopping (not awaited here). */
  stop(reason: string): Promise<number>;
  /** How the stop went once the log is closed; undefined when the stop deadline passed first. */
  stopOutcome(): Promise<StopReport | undefined>;
}

/**
 * The handler the daemon's {@link ControlServer} calls: refuses everything but `stop` while the
 * daemon stops (code `daemon_stopping`), otherwise runs the command.
 *
 * @example
 * ```ts
 * const server = await ControlServer.start(layout.controlSocket, controlHandler(daemon), logger);
 * ```
 */
export function controlHandler(daemon: ControlledDaemon): ControlHandler {
  return async (request) => {
    const stopping = daemon.stoppingReason;
    if (stopping !== undefined && request.cmd !== "stop") {
      // A dying daemon must not look like a running one: it records nothing more.
      return {
        ok: false,
        code: ErrorCode.daemonStopping,
        error: `daemon PID ${Deno.pid} is stopping (${stopping}) and records nothing more`,
      };
    }
    return await dispatch(daemon, request);
  };
}

async function dispatch(
  daemon: ControlledDaemon,
  request: ControlRequest,
): Promise<ControlReply<ControlCommand>> {
  switch (request.cmd) {
    case "status":
      return answer(request, { status: daemon.status() });
    case "new-session":
      return answer(request, await daemon.newSession(request.reason ?? "new-session command"));
    case "flush":
      return answer(request, { durable_seq: await daemon.flush() });
    case "checkpoint": {
      const trigger = request.trigger ?? "manual";
      return answer(request, {
        checkpoint: await daemon.createCheckpoint(trigger, request.label ?? null),
      });
    }
    case "load-checkpoint":
      return answer(request, await daemon.loadCheckpoint(request.id));
    case "index-release":
      return answer(request, { indexing: daemon.releaseIndex() });
    case "reserve-seqs":
      return answer(request, await daemon.reserveSeqs(request.count, request.reason ?? "import"));
    case "expect-replays":
      await daemon.expectReplays(request.marks, request.ttl_ms);
      return answer(request, { accepted: request.marks.length });
    case "durable-times":
      return answer(request, { advances: daemon.durableTimes(request.since_seq ?? 0) });
    case "stop": {
      queueMicrotask(() => daemon.stop("stop command"));
      if (request.wait !== true) return answer(request, { pid: Deno.pid });
      // The caller waits for the outcome: how many received messages could not be written.
      const report = await daemon.stopOutcome();
      return answer(
        request,
        report
          ? { pid: Deno.pid, ...report }
          : { pid: Deno.pid, exit_code: ExitCode.daemonFailed, failure: "stop timed out" },
      );
    }
    default: {
      // Every command of the protocol has its case above, or this does not compile.
      const unhandled: never = request;
      throw new Error(`Control command ${JSON.stringify(unhandled)} has no handler`);
    }
  }
}

/** The answer to `request`: `ok: true` and fields checked against its command's answer type. */
function answer<C extends ControlCommand>(
  _request: { readonly cmd: C },
  fields: ControlProtocol[C]["answer"],
): ControlAnswer<C> {
  return { ok: true, ...fields } as ControlAnswer<C>;
}
