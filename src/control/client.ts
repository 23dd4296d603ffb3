import { readLine, writeLine } from "./_line_io.ts";
import { DaemonNotRunningError, ErrorCode, isErrorCode, PersistError } from "../errors.ts";
import type {
  ControlAnswer,
  ControlCommand,
  ControlProtocol,
  ControlRefusal,
  ControlReply,
} from "./protocol.ts";

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Options of a control call. */
export interface ControlCallOptions {
  /** How long to wait for the answer; default 5000. */
  readonly timeoutMs?: number;
}

/**
 * The request of command `C` as a caller writes it. `C` is inferred from `cmd`, so the answer's
 * type follows the request, and a field of the wrong type or name does not compile.
 */
export type RequestFor<C extends ControlCommand> =
  & { readonly cmd: C }
  & ControlProtocol[C]["request"];

/**
 * Sends one request to the daemon's control socket and returns its answer, typed by the command.
 * Throws {@link DaemonNotRunningError} when nothing listens there, and a {@link PersistError}
 * when the daemon does not answer within `timeoutMs`.
 *
 * @example
 * ```ts
 * const reply = await sendControlRequest(layout.controlSocket, { cmd: "status" });
 * if (reply.ok) console.log(reply.status.durable_seq);
 * ```
 */
export async function sendControlRequest<C extends ControlCommand>(
  socketPath: string,
  request: RequestFor<C>,
  options: ControlCallOptions = {},
): Promise<ControlReply<C>> {
  return JSON.parse(await exchange(socketPath, request, options)) as ControlReply<C>;
}

/**
 * Like {@link sendControlRequest}, but a refusal (`ok: false`) throws a {@link PersistError}
 * with the daemon's message and code, so the caller gets the answer's fields directly.
 *
 * @example
 * ```ts
 * const { checkpoint } = await callDaemon(layout.controlSocket, { cmd: "checkpoint", label: null });
 * ```
 */
export async function callDaemon<C extends ControlCommand>(
  socketPath: string,
  request: RequestFor<C>,
  options: ControlCallOptions = {},
): Promise<ControlAnswer<C>> {
  const reply = await sendControlRequest(socketPath, request, options);
  if (!reply.ok) {
    throw new PersistError(`The daemon refused "${request.cmd}": ${reply.error}`, {
      code: isErrorCode(reply.code) ? reply.code : ErrorCode.controlRefused,
    });
  }
  return reply;
}

/** Any answer, untyped: what {@link sendRawControlRequest} returns. */
export type RawControlReply =
  | { readonly ok: true; readonly [field: string]: unknown }
  | ControlRefusal;

/**
 * Sends any request, checked by nobody on this side: for tests and tools that probe the
 * protocol itself (unknown commands, malformed fields). Code that uses the daemon calls
 * {@link sendControlRequest} or {@link callDaemon}.
 */
export async function sendRawControlRequest(
  socketPath: string,
  request: { readonly cmd?: unknown; readonly [field: string]: unknown },
  options: ControlCallOptions = {},
): Promise<RawControlReply> {
  return JSON.parse(await exchange(socketPath, request, options)) as RawControlReply;
}

async function exchange(
  socketPath: string,
  request: { readonly cmd?: unknown },
  options: ControlCallOptions,
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let connection: Deno.UnixConn;
  try {
    connection = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused
    ) {
      throw new DaemonNotRunningError(
        `Cannot reach the daemon at "${socketPath}": no daemon is running on this data dir`,
        { cause: error },
      );
    }
    throw error;
  }
  // AbortSignal.timeout, not setTimeout: a process's first setTimeout loads Node's timers
  // module in Deno 2.9 (~5 ms of every short command's start-up); this timer is unref'd too.
  const signal = AbortSignal.timeout(timeoutMs);
  let onTimeout = () => {};
  try {
    const exchange = exchangeLine(connection, JSON.stringify(request));
    const timeout = new Promise<never>((_, reject) => {
      onTimeout = () =>
        reject(
          new PersistError(
            `Cannot get an answer from the daemon: "${request.cmd}" took over ${timeoutMs} ms`,
            { code: ErrorCode.controlTimeout },
          ),
        );
      signal.addEventListener("abort", onTimeout, { once: true });
    });
    return await Promise.race([exchange, timeout]);
  } finally {
    signal.removeEventListener("abort", onTimeout);
    connection.close();
  }
}

async function exchangeLine(connection: Deno.UnixConn, line: string): Promise<string> {
  await writeLine(connection, line);
  const answer = await readLine(connection, MAX_RESPONSE_BYTES);
  if (answer === null) {
    throw new PersistError("Cannot read the daemon's answer: the connection closed early", {
      code: ErrorCode.controlClosed,
    });
  }
  return answer;
}
