import { readLine, writeLine } from "./_line_io.ts";
import type { Logger } from "../logger.ts";
import { PersistError } from "../errors.ts";
import { type ControlReply, type ControlRequest, parseControlRequest } from "./protocol.ts";

/** Answers one checked request; thrown errors become `{ ok: false, error, code }`. */
export type ControlHandler = (request: ControlRequest) => Promise<ControlReply>;

const MAX_REQUEST_BYTES = 64 * 1024;
/** How long {@link ControlServer.close} lets requests in progress finish their answers. */
const CLOSE_WAIT_MS = 1000;

/**
 * Listens on a Unix socket in the data dir and answers newline-delimited JSON requests, one per
 * connection. A stale socket file left by a killed daemon is removed first; the caller must hold
 * the data-dir lock so that it cannot belong to a live daemon.
 */
export class ControlServer {
  readonly #listener: Deno.UnixListener;
  readonly #path: string;
  readonly #serving: Promise<void>;
  readonly #active: Set<Promise<void>>;

  private constructor(
    listener: Deno.UnixListener,
    path: string,
    serving: Promise<void>,
    active: Set<Promise<void>>,
  ) {
    this.#listener = listener;
    this.#path = path;
    this.#serving = serving;
    this.#active = active;
  }

  /**
   * Starts answering requests at `path`.
   *
   * @example
   * ```ts
   * const server = await ControlServer.start(layout.controlSocket, async (req) => ({ ok: true }), logger);
   * ```
   */
  static async start(
    path: string,
    handler: ControlHandler,
    logger: Logger,
  ): Promise<ControlServer> {
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o600);
    const active = new Set<Promise<void>>();
    const serving = acceptLoop(listener, handler, logger, active);
    return new ControlServer(listener, path, serving, active);
  }

  /**
   * Stops listening and removes the socket file. Answers in progress (a `stop` waiting for its
   * outcome) get up to a second to be written.
   */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#serving;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#active]),
      new Promise((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS)),
    ]);
    clearTimeout(timer);
    try {
      await Deno.remove(this.#path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

async function acceptLoop(
  listener: Deno.UnixListener,
  handler: ControlHandler,
  logger: Logger,
  active: Set<Promise<void>>,
): Promise<void> {
  try {
    for await (const connection of listener) {
      const serving = serveConnection(connection, handler, logger).catch((error) => {
        logger.warn("control_connection_failed", { error: (error as Error).message });
      }).finally(() => active.delete(serving));
      active.add(serving);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

async function serveConnection(
  connection: Deno.UnixConn,
  handler: ControlHandler,
  logger: Logger,
): Promise<void> {
  try {
    const line = await readLine(connection, MAX_REQUEST_BYTES) ?? "";
    const parsed = parseControlRequest(line);
    const response = parsed.ok ? await answer(parsed.request, handler, logger) : parsed.refusal;
    await writeLine(connection, JSON.stringify(response));
  } finally {
    connection.close();
  }
}

async function answer(
  request: ControlRequest,
  handler: ControlHandler,
  logger: Logger,
): Promise<ControlReply> {
  try {
    return await handler(request);
  } catch (error) {
    // One failed command (a damaged checkpoint, a full disk) must not end the daemon: the
    // client gets the message and the code.
    logger.warn("control_command_failed", { cmd: request.cmd, error: (error as Error).message });
    return {
      ok: false,
      error: (error as Error).message,
      ...(error instanceof PersistError ? { code: error.code } : {}),
    };
  }
}
