/**
 * The fault suite's rig: a broker and a daemon as real child processes (both can be killed with
 * SIGKILL and restarted on the same endpoints and data dir), and steady-stream publishers.
 */
import {
  type CliProcess,
  daemonStatus,
  freePort,
  spawnCli,
  startDaemon,
  tempDir,
  waitFor,
} from "../_helpers.ts";
import { startStream, type StreamPublisher } from "./_stream.ts";

/** Checkpoints only when the suite asks, so the scenarios decide what exists. */
export const NO_AUTO_CHECKPOINTS = ["--checkpoint-every", "0", "--checkpoint-minutes", "0"];

/** A broker process, a daemon process, a data dir and the publishers streaming into them. */
export interface FaultRig {
  readonly dir: string;
  readonly dataDir: string;
  readonly endpoints: { frontend: string; backend: string };
  readonly streams: StreamPublisher[];
  daemon: CliProcess;
  broker: CliProcess;
  /** Starts a daemon on the same data dir and backend (the old one must be gone). */
  restartDaemon(): Promise<CliProcess>;
  /** Kills the broker with SIGKILL. */
  killBroker(): Promise<void>;
  /** Starts the broker again on the same endpoints. */
  restartBroker(): Promise<void>;
}

/** Options of {@link withFaultRig}. */
export interface FaultRigOptions {
  /** The data dir (default: a folder in the rig's temp dir). */
  readonly dataDir?: string;
  /** Steady-stream publishers to start (default 2). */
  readonly streams?: number;
  /** Messages per second of each stream (default 200). */
  readonly ratePerSecond?: number;
  /** Outbox capacity of each stream (default: the client library's, 10,000). */
  readonly outbox?: number;
  readonly daemonArgs?: string[];
  /**
   * Start the first daemon with this file-size limit (a soft RLIMIT_FSIZE, SIGXFSZ ignored, so
   * writes past it fail with EFBIG instead of killing it); restarts run without it.
   */
  readonly fileSizeLimitBytes?: number;
}

/** Starts a broker process on `endpoints` and waits until both its ports accept connections. */
async function startBrokerProcess(
  endpoints: { frontend: string; backend: string },
  logPath: string,
): Promise<CliProcess> {
  const broker = await spawnCli(
    ["broker", "--frontend", endpoints.frontend, "--backend", endpoints.backend],
    logPath,
  );
  let exited = false;
  broker.child.status.then(() => exited = true);
  await waitFor("the broker to listen", async () => {
    if (exited) throw new Error(`the broker exited early (log: ${logPath})`);
    for (const endpoint of [endpoints.frontend, endpoints.backend]) {
      const port = Number(endpoint.split(":").at(-1));
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionRefused) return false;
        throw error;
      }
    }
    return true;
  });
  return broker;
}

/**
 * Runs `fn` with a {@link FaultRig}; stops every process it started and removes its temp dir,
 * whatever `fn` did. The streams are started, warmed up (the daemon has heard each one), and
 * left running for `fn`.
 */
export async function withFaultRig(
  name: string,
  options: FaultRigOptions,
  fn: (rig: FaultRig) => Promise<void>,
): Promise<void> {
  const dir = await tempDir(`faults_${name}`);
  const endpoints = {
    frontend: `tcp://127.0.0.1:${freePort()}`,
    backend: `tcp://127.0.0.1:${freePort()}`,
  };
  const dataDir = options.dataDir ?? `${dir.path}/data`;
  const daemonArgs = [...NO_AUTO_CHECKPOINTS, ...(options.daemonArgs ?? [])];
  const brokerLog = `${dir.path}/broker.log`;
  const broker = await startBrokerProcess(endpoints, brokerLog);
  const started: { daemon?: CliProcess } = {};
  let fileSizeLimitBytes = options.fileSizeLimitBytes;
  const launchDaemon = () => {
    const limit = fileSizeLimitBytes;
    fileSizeLimitBytes = undefined;
    return limit !== undefined
      ? startLimitedDaemon(dataDir, endpoints.backend, { args: daemonArgs, limit })
      : startDaemon(dataDir, endpoints.backend, daemonArgs);
  };
  const streams: StreamPublisher[] = [];
  try {
    started.daemon = await launchDaemon();
    const rig: FaultRig = {
      dir: dir.path,
      dataDir,
      endpoints,
      streams,
      daemon: started.daemon,
      broker,
      async restartDaemon() {
        rig.daemon = await launchDaemon();
        started.daemon = rig.daemon;
        return rig.daemon;
      },
      async killBroker() {
        await rig.broker.kill("SIGKILL");
      },
      async restartBroker() {
        rig.broker = await startBrokerProcess(endpoints, brokerLog);
      },
    };
    for (let i = 0; i < (options.streams ?? 2); i++) {
      streams.push(
        await startStream({
          frontend: endpoints.frontend,
          name: `stream${i}`,
          ratePerSecond: options.ratePerSecond ?? 200,
          outbox: options.outbox,
        }),
      );
    }
    await waitFor("the daemon to hear every stream", async () => {
      const status = await daemonStatus(dataDir);
      return status !== undefined && streams.every((stream) => stream.published > 0) &&
        status.received >= streams.length;
    }, 30_000);
    try {
      await fn(rig);
    } finally {
      for (const stream of streams) await stream.stop();
      await rig.broker.kill();
      await rig.daemon.kill();
    }
  } finally {
    await started.daemon?.kill();
    await broker.kill();
    await dir.cleanup().catch((error) => {
      // A tmpfs mounted inside the rig's dir is cleaned up by its owner.
      if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    });
  }
}

/** SIGKILLs the rig's daemon and waits until it is gone. */
export async function killDaemon(rig: FaultRig): Promise<void> {
  const status = await rig.daemon.kill("SIGKILL");
  if (status.signal !== "SIGKILL" && status.code === 0) {
    throw new Error("the daemon had exited by itself before the kill");
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts a daemon through `bash`, which ignores SIGXFSZ, sets a soft file-size limit and then
 * execs the real deno (an ignored signal stays ignored across exec), so the PID is the
 * daemon's own. (`prlimit --pid` on a running process, which could lift the limit again, is
 * refused in our containers, hence a limit for the process's whole life.)
 */
async function startLimitedDaemon(
  dataDir: string,
  backend: string,
  options: { args: string[]; limit: number },
): Promise<CliProcess> {
  const { args, limit } = options;
  return await spawnCli(
    ["daemon", "--data-dir", dataDir, "--backend", backend, ...args],
    `${dataDir}.daemon.log`,
    {
      via: ["bash", "-c", `trap "" XFSZ; ulimit -S -f ${Math.ceil(limit / 1024)}; exec "$0" "$@"`],
    },
  );
}
