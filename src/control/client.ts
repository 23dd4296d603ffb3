import { readLine, writeLine } from "./_line_io.ts";
import { DaemonNotRunningError, PersistError } from "../errors.ts";
import type { ControlRequest, ControlResponse } from "./server.ts";

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request to the daemon's control socket and returns its answer. Throws
 * {@link DaemonNotRunningError} when nothing listens there, and a {@link PersistError} when the
 * daemon does not answer within `timeoutMs`.
 *
 * @example
 * ```ts
 * const status = await sendControlRequest(layout.controlSocket, { cmd: "status" });
 * ```
 */
export async function sendControlRequest(
  socketPath: string,
  request: ControlRequest,
  options: { timeoutMs?: number } = {},
): Promise<ControlResponse> {
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const exchange = exchangeLine(connection, JSON.stringify(request));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new PersistError(
            `Cannot get an answer from the daemon: "${request.cmd}" took over ${timeoutMs} ms`,
            { code: "control_timeout" },
          ),
        );
      }, timeoutMs);
    });
    const line = await Promise.race([exchange, timeout]);
    return JSON.parse(line) as ControlResponse;
  } finally {
    clearTimeout(timer);
    connection.close();
  }
}

async function exchangeLine(connection: Deno.UnixConn, line: string): Promise<string> {
  await writeLine(connection, line);
  const answer = await readLine(connection, MAX_RESPONSE_BYTES);
  if (answer === null) {
    throw new PersistError("Cannot read the daemon's answer: the connection closed early", {
      code: "control_closed",
    });
  }
  return answer;
}
