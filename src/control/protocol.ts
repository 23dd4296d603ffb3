/**
 * The daemon's control protocol: every request, the answer to each, and the check of requests
 * arriving on the socket. On the wire a request is one JSON line `{"cmd": NAME, ...fields}` and
 * its answer one JSON line `{"ok": true, ...fields}` or `{"ok": false, "error": TEXT, "code"?}`.
 *
 * @module
 */
import type { CheckpointManifest, CheckpointTrigger } from "../store/checkpoint_store.ts";
import { ErrorCode } from "../errors.ts";
import type { PublisherFigures } from "../recording/publisher_ledger.ts";
import type { StoreStatus } from "../pgstore/ship_worker_handle.ts";

export type { PublisherFigures, StoreStatus };

/** A snapshot of what the daemon is doing, as answered to `status`. */
export interface DaemonStatus {
  readonly pid: number;
  readonly version: string;
  readonly started_at: string;
  readonly data_dir: string;
  readonly backend: string;
  readonly session: string;
  readonly seq: number;
  readonly durable_seq: number;
  readonly received: number;
  readonly excluded: number;
  /** Messages not stored again: their publisher envelope's (pub, seq) was already stored. */
  readonly duplicates: number;
  /** Accounting per publisher that uses the envelope, most recently seen first. */
  readonly publishers: readonly PublisherFigures[];
  readonly last_message_at: string | null;
  readonly broker_connected: boolean;
  readonly broker_last_change_at: string | null;
  readonly log_path: string;
  readonly log_bytes: number;
  readonly sync_mode: string;
  readonly sync_ms: number;
  readonly last_write_error: string | null;
  /** The daemon's indexer, or null when it runs without one (`--no-index`). */
  readonly index: IndexStatus | null;
  /**
   * The data dir's origin id in the shared store (created once, `<data-dir>/origin`); null
   * while it cannot be written yet (a full disk) or when the file is damaged (the log says).
   */
  readonly origin: string | null;
  /** Shipping to the shared PostgreSQL store, or null when no store is configured. */
  readonly store: StoreStatus | null;
}

/** The daemon's indexer, as part of {@link DaemonStatus}. */
export interface IndexStatus {
  readonly state: string;
  readonly last_seq: number;
  readonly lag: number;
  readonly detail: string | null;
}

/** How a stop went, as answered to a control `stop` request with `wait: true`. */
export interface StopReport {
  readonly exit_code: number;
  /** Received messages that could not be written (a full disk, a failed writer thread). */
  readonly unwritten_messages: number;
  readonly failure: string | null;
}

/** Checkpoint triggers a control client may ask for. */
export const CLIENT_TRIGGERS = ["manual", "session-end"] as const satisfies CheckpointTrigger[];

/** A checkpoint trigger a control client may ask for: one of {@link CLIENT_TRIGGERS}. */
export type ClientTrigger = typeof CLIENT_TRIGGERS[number];

/**
 * Each command: the fields its request may carry besides `cmd`, and the fields of its answer
 * besides `ok: true`. The one place a command or a field is added.
 */
export interface ControlProtocol {
  readonly status: {
    readonly request: Record<never, never>;
    readonly answer: { readonly status: DaemonStatus };
  };
  readonly "new-session": {
    /** `reason` is written into `session_end`/`session_start`; default "new-session command". */
    readonly request: { readonly reason?: string };
    /** `archived` is absent when there was no session log to archive. */
    readonly answer: { readonly archived?: string; readonly session: string };
  };
  readonly flush: {
    readonly request: Record<never, never>;
    readonly answer: { readonly durable_seq: number };
  };
  readonly checkpoint: {
    /** `trigger` defaults to "manual"; a null or absent `label` means none. */
    readonly request: { readonly label?: string | null; readonly trigger?: ClientTrigger };
    readonly answer: { readonly checkpoint: CheckpointManifest };
  };
  readonly "load-checkpoint": {
    readonly request: { readonly id: string };
    readonly answer: {
      readonly archived?: string;
      readonly session: string;
      /** The checkpoint of the session that was current before the load (null: it was empty). */
      readonly before_load: string | null;
    };
  };
  readonly "index-release": {
    readonly request: Record<never, never>;
    /** `indexing` is false when the daemon keeps no index (nothing to release). */
    readonly answer: { readonly indexing: boolean };
  };
  readonly "reserve-seqs": {
    /**
     * `count` (1 to {@link MAX_RESERVED_SEQS}) consecutive seqs for records another process
     * writes (an import); `reason` is journaled.
     */
    readonly request: { readonly count: number; readonly reason?: string };
    /** The reserved range, inclusive; the daemon's next records come after `last`. */
    readonly answer: { readonly first: number; readonly last: number };
  };
  readonly "expect-replays": {
    /**
     * Messages a replayer is about to send to the bus this daemon records: the SHA-256 of their
     * frames (`framesDigest`) and their original seq; each mark waits `ttl_ms` at most. A
     * received message that matches is recorded with `meta.replay_of`.
     */
    readonly request: {
      readonly marks: readonly { readonly digest: string; readonly replay_of: number }[];
      readonly ttl_ms: number;
    };
    readonly answer: { readonly accepted: number };
  };
  readonly stop: {
    /** With `wait: true` the answer comes once the log is closed, with how the stop went. */
    readonly request: { readonly wait?: boolean };
    /**
     * The report fields come with `wait: true`; after a stop that timed out,
     * `unwritten_messages` is absent.
     */
    readonly answer: { readonly pid: number } & Partial<StopReport>;
  };
}

/** The name of a control command. */
export type ControlCommand = keyof ControlProtocol;

/**
 * Every command the daemon answers on its control socket, in the order its "unknown command"
 * error lists them. Checked against {@link ControlProtocol} at compile time both ways.
 */
export const CONTROL_COMMANDS = [
  "status",
  "new-session",
  "flush",
  "checkpoint",
  "load-checkpoint",
  "index-release",
  "reserve-seqs",
  "expect-replays",
  "stop",
] as const satisfies readonly ControlCommand[];

// A command in ControlProtocol missing from CONTROL_COMMANDS does not compile.
const _everyCommandListed: ControlCommand extends typeof CONTROL_COMMANDS[number] ? true : never =
  true;

/** The request of command `C` (by default: any request, a union discriminated by `cmd`). */
export type ControlRequest<C extends ControlCommand = ControlCommand> = C extends ControlCommand
  ? { readonly cmd: C } & ControlProtocol[C]["request"]
  : never;

/** The answer to command `C` when the daemon did it. */
export type ControlAnswer<C extends ControlCommand = ControlCommand> = C extends ControlCommand
  ? { readonly ok: true } & ControlProtocol[C]["answer"]
  : never;

/** The answer when the daemon did not do what was asked. */
export interface ControlRefusal {
  readonly ok: false;
  readonly error: string;
  /** An error code (e.g. `daemon_stopping`, `checkpoint_damaged`), when there is one. */
  readonly code?: string;
}

/** Either answer to command `C`. */
export type ControlReply<C extends ControlCommand = ControlCommand> =
  | ControlAnswer<C>
  | ControlRefusal;

/** Most seqs one `reserve-seqs` request may take. */
export const MAX_RESERVED_SEQS = 100_000_000;

/** Code of a refusal for a request that is not valid JSON or has a field of the wrong type. */
export const BAD_REQUEST_CODE = ErrorCode.badControlRequest;

/** The outcome of {@link parseControlRequest}. */
export type ParsedRequest =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly refusal: ControlRefusal };

/**
 * Checks a request line from the socket (it comes from outside): valid JSON, a known `cmd`, and
 * each field of the right type. Fields a command does not know are ignored. Never throws: a bad
 * request becomes the refusal to answer with.
 *
 * @example
 * ```ts
 * const parsed = parseControlRequest('{"cmd":"checkpoint","label":"before refactor"}');
 * if (parsed.ok) console.log(parsed.request.cmd); // "checkpoint"
 * ```
 */
export function parseControlRequest(line: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return refuse("Bad control request: expected one JSON line with a cmd", BAD_REQUEST_CODE);
  }
  const fields = value as Record<string, unknown>;
  const cmd = fields.cmd;
  if (typeof cmd !== "string") {
    return refuse("Bad control request: expected one JSON line with a cmd", BAD_REQUEST_CODE);
  }
  if (!isControlCommand(cmd)) {
    return refuse(
      `Unknown control command ${JSON.stringify(cmd)}: use ${CONTROL_COMMANDS.join(", ")}`,
    );
  }
  return checkFields(cmd, fields);
}

/** True when `cmd` is one of {@link CONTROL_COMMANDS}. */
export function isControlCommand(cmd: string): cmd is ControlCommand {
  return (CONTROL_COMMANDS as readonly string[]).includes(cmd);
}

function checkFields(cmd: ControlCommand, fields: Record<string, unknown>): ParsedRequest {
  switch (cmd) {
    case "status":
    case "flush":
    case "index-release":
      return { ok: true, request: { cmd } };
    case "new-session": {
      const reason = fields.reason;
      if (reason !== undefined && typeof reason !== "string") return badField(cmd, "reason");
      return { ok: true, request: reason === undefined ? { cmd } : { cmd, reason } };
    }
    case "checkpoint": {
      const { label, trigger } = fields;
      if (label !== undefined && label !== null && typeof label !== "string") {
        return badField(cmd, "label", "a string or null");
      }
      if (trigger !== undefined && !(CLIENT_TRIGGERS as readonly unknown[]).includes(trigger)) {
        // The message predates this check; clients may match it.
        return refuse(`Unknown checkpoint trigger ${JSON.stringify(trigger)}`);
      }
      return {
        ok: true,
        request: {
          cmd,
          label: (label ?? null) as string | null,
          trigger: (trigger ?? "manual") as ClientTrigger,
        },
      };
    }
    case "load-checkpoint": {
      const id = fields.id;
      if (typeof id !== "string" || id === "") return badField(cmd, "id", "a checkpoint id");
      return { ok: true, request: { cmd, id } };
    }
    case "reserve-seqs": {
      const { count, reason } = fields;
      if (
        typeof count !== "number" || !Number.isInteger(count) || count < 1 ||
        count > MAX_RESERVED_SEQS
      ) {
        return badField(cmd, "count", `a whole number from 1 to ${MAX_RESERVED_SEQS}`);
      }
      if (reason !== undefined && typeof reason !== "string") return badField(cmd, "reason");
      return { ok: true, request: reason === undefined ? { cmd, count } : { cmd, count, reason } };
    }
    case "expect-replays":
      return checkReplayMarks(fields);
    case "stop": {
      const wait = fields.wait;
      if (wait !== undefined && typeof wait !== "boolean") {
        return badField(cmd, "wait", "true or false");
      }
      return { ok: true, request: wait === undefined ? { cmd } : { cmd, wait } };
    }
    default: {
      // Every command has its case above, or this does not compile.
      const unchecked: never = cmd;
      throw new Error(`Control command ${unchecked} has no field check`);
    }
  }
}

/** Most marks in one `expect-replays` request. */
export const MAX_MARKS_PER_REQUEST = 10_000;
const DIGEST = /^[0-9a-f]{64}$/;

function checkReplayMarks(fields: Record<string, unknown>): ParsedRequest {
  const cmd = "expect-replays";
  const { marks, ttl_ms } = fields;
  if (typeof ttl_ms !== "number" || !Number.isFinite(ttl_ms) || ttl_ms <= 0) {
    return badField(cmd, "ttl_ms", "a positive number of milliseconds");
  }
  const expected = `a list of at most ${MAX_MARKS_PER_REQUEST} {digest, replay_of}`;
  if (!Array.isArray(marks) || marks.length > MAX_MARKS_PER_REQUEST) {
    return badField(cmd, "marks", expected);
  }
  const checked: { digest: string; replay_of: number }[] = [];
  for (const mark of marks as unknown[]) {
    const { digest, replay_of } = (mark ?? {}) as Record<string, unknown>;
    if (
      typeof digest !== "string" || !DIGEST.test(digest) || !Number.isSafeInteger(replay_of) ||
      (replay_of as number) < 1
    ) {
      return badField(cmd, "marks", expected);
    }
    checked.push({ digest, replay_of: replay_of as number });
  }
  return { ok: true, request: { cmd, marks: checked, ttl_ms } };
}

function badField(cmd: ControlCommand, field: string, expected = "a string"): ParsedRequest {
  return refuse(
    `Bad control request "${cmd}": field "${field}" must be ${expected}`,
    BAD_REQUEST_CODE,
  );
}

function refuse(error: string, code?: string): ParsedRequest {
  return {
    ok: false,
    refusal: code === undefined ? { ok: false, error } : { ok: false, error, code },
  };
}
