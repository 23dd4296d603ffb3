import * as zmq from "zeromq";

/** Options for {@link startBroker}. */
export interface BrokerOptions {
  /** XSUB endpoint publishers connect to. */
  readonly frontend: string;
  /** XPUB endpoint subscribers connect to. */
  readonly backend: string;
  /** High-water mark of both proxy sockets; high so a healthy recorder loses nothing in bursts. */
  readonly highWaterMark?: number;
}

/** A running broker. */
export interface RunningBroker {
  /** Resolves when the proxy stops. */
  readonly done: Promise<void>;
  /** Stops the proxy and closes both sockets. */
  stop(): Promise<void>;
}

/** Proxy high-water mark: with 1e6 on both sockets nothing was lost in measured bursts. */
export const DEFAULT_BROKER_HWM = 1_000_000;

/**
 * Starts a pure XPUB/XSUB proxy: it forwards messages from the frontend to the backend and
 * subscriptions the other way. It records nothing; persistence is a subscriber like any other.
 *
 * @example
 * ```ts
 * const broker = await startBroker({ frontend: "tcp://127.0.0.1:5559", backend: "tcp://127.0.0.1:5560" });
 * await broker.stop();
 * ```
 */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const highWaterMark = options.highWaterMark ?? DEFAULT_BROKER_HWM;
  const frontend = new zmq.XSubscriber({
    receiveHighWaterMark: highWaterMark,
    sendHighWaterMark: highWaterMark,
    linger: 0,
  });
  const backend = new zmq.XPublisher({
    receiveHighWaterMark: highWaterMark,
    sendHighWaterMark: highWaterMark,
    linger: 0,
  });
  try {
    await frontend.bind(options.frontend);
    await backend.bind(options.backend);
  } catch (error) {
    frontend.close();
    backend.close();
    throw error;
  }
  const proxy = new zmq.Proxy(frontend, backend);
  const done = proxy.run();
  let stopped = false;
  return {
    done,
    async stop() {
      if (stopped) return;
      stopped = true;
      proxy.terminate();
      await done;
      frontend.close();
      backend.close();
    },
  };
}
