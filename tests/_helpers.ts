/**
 * Test helpers: real ports, real processes, real files. Nothing here fakes ZeroMQ, SQLite or
 * the file system.
 */
import * as zmq from "zeromq";
import { startBroker } from "../src/broker.ts";
import { RUN_PERMISSIONS } from "../src/self_command.ts";
import { sendControlRequest } from "../src/control/client.ts";
import type { DaemonStatus, PublisherFigures } from "../src/control/protocol.ts";
import type { LogRecord } from "../src/store/record.ts";
import { readLockHolder } from "../src/store/data_dir_lock.ts";
import { readRecords } from "./log_fixtures.ts";

/** Absolute path of main.ts. */
export const MAIN_PATH = new URL("../main.ts", import.meta.url).pathname;

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Two free endpoints for a broker. */
export function brokerEndpoints(): { frontend: string; backend: string } {
  return {
    frontend: `tcp://127.0.0.1:${freePort()}`,
    backend: `tcp://127.0.0.1:${freePort()}`,
  };
}

/**
 * Starts an in-process broker on free ports. A port found free can be taken before the bind
 * (ZeroMQ sockets that reconnect use ephemeral ports too), so a clash is retried on new ports.
 */
export async function startTestBroker(): Promise<{
  endpoints: { frontend: string; backend: string };
  broker: Awaited<ReturnType<typeof startBroker>>;
}> {
  for (let attempt = 1;; attempt++) {
    const endpoints = brokerEndpoints();
    try {
      return { endpoints, broker: await startBroker(endpoints) };
    } catch (error) {
      if (attempt >= 5 || !/in use/i.test((error as Error).message)) throw error;
    }
  }
}

/** A child process of this program, with its stderr collected in a file. */
export interface CliProcess {
  readonly child: Deno.ChildProcess;
  readonly logPath: string;
  /** Kills the process (SIGKILL unless told otherwise) and waits for it; safe to repeat. */
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `deno run main.ts <args>` as a real process (the real deno binary, so the PID is the
 * one to kill). stderr goes to `logPath`, stdout to `logPath.out`. `via` runs it through a
 * command that execs its arguments (e.g. `["bash", "-c", 'ulimit -f 8; exec "$0" "$@"']`).
 */
export async function spawnCli(
  args: string[],
  logPath: string,
  options: { env?: Record<string, string>; via?: readonly string[] } = {},
): Promise<CliProcess> {
  const stderrLog = await Deno.open(logPath, { write: true, create: true, append: true });
  const stdoutLog = await Deno.open(`${logPath}.out`, { write: true, create: true, append: true });
  const denoArgs = ["run", ...RUN_PERMISSIONS, MAIN_PATH, ...args];
  const [via, ...viaArgs] = options.via ?? [];
  const command = new Deno.Command(via ?? Deno.execPath(), {
    args: via === undefined ? denoArgs : [...viaArgs, Deno.execPath(), ...denoArgs],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  });
  const child = command.spawn();
  // Copy chunk by chunk with writeSync, so the files show output as soon as it is written.
  const copying = Promise.all([pump(child.stdout, stdoutLog), pump(child.stderr, stderrLog)]);
  let status: Promise<Deno.CommandStatus> | undefined;
  return {
    child,
    logPath,
    async kill(signal: Deno.Signal = "SIGKILL") {
      try {
        child.kill(signal);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error; // already exited
      }
      status ??= child.status;
      const result = await status;
      await copying;
      return result;
    },
  };
}

async function pump(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  try {
    for await (const chunk of stream) file.writeSync(chunk);
  } finally {
    file.close();
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, MAIN_PATH, ...args],
    stdin: "null",
    env: options.env,
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Waits until `condition` returns true, polling; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Daemon status through its control socket, or undefined when it does not answer. */
export async function daemonStatus(dataDir: string): Promise<DaemonStatus | undefined> {
  try {
    const response = await sendControlRequest(`${dataDir}/control.sock`, { cmd: "status" }, {
      timeoutMs: 2000,
    });
    return response.ok ? response.status : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a daemon process on `dataDir` and waits until its control socket answers. */
export async function startDaemon(
  dataDir: string,
  backend: string,
  extraArgs: string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<CliProcess> {
  const daemon = await spawnCli(
    ["daemon", "--data-dir", dataDir, "--backend", backend, ...extraArgs],
    `${dataDir}.daemon.log`,
    options,
  );
  let exited = false;
  daemon.child.status.then(() => exited = true);
  try {
    await waitFor("the daemon's control socket", async () => {
      if (exited) {
        throw new Error(`daemon exited early; log:\n${await readText(daemon.logPath)}`);
      }
      return (await daemonStatus(dataDir)) !== undefined;
    });
  } catch (error) {
    await daemon.kill();
    throw error;
  }
  return daemon;
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "(no log)";
  }
}

/** A ZeroMQ publisher connected to a broker frontend, with a high send HWM. */
export function connectPublisher(frontend: string): zmq.Publisher {
  const publisher = new zmq.Publisher({ sendHighWaterMark: 1_000_000, linger: 2000 });
  publisher.connect(frontend);
  return publisher;
}

/**
 * Publishes warm-up messages on topic `warmup` until the daemon has received one, so the
 * subscription has propagated (ZeroMQ's slow joiner) before the test's real messages.
 */
export async function warmUp(publisher: zmq.Publisher, dataDir: string): Promise<number> {
  const before = (await daemonStatus(dataDir))?.received as number;
  await waitFor("the daemon to receive a warm-up message", async () => {
    await publisher.send(["warmup", "ping"]);
    const status = await daemonStatus(dataDir);
    return typeof status?.received === "number" && status.received > before;
  }, 20_000);
  await new Promise((resolve) => setTimeout(resolve, 200)); // let in-flight warm-ups land
  return (await daemonStatus(dataDir))?.received as number;
}

/** Waits until the daemon has received `count` messages beyond `baseline`, all fsynced. */
export async function waitForDurable(
  dataDir: string,
  baseline: number,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(`${count} messages to be recorded and fsynced`, async () => {
    const status = await daemonStatus(dataDir);
    return typeof status?.received === "number" && status.received >= baseline + count &&
      status.durable_seq === status.seq;
  }, timeoutMs);
}

/** The daemon's figures for publisher `pub` (status), if it knows it. */
export async function publisherFigures(
  dataDir: string,
  pub: string,
): Promise<PublisherFigures | undefined> {
  return (await daemonStatus(dataDir))?.publishers.find((figures) => figures.pub === pub);
}

/**
 * Waits until the daemon has accounted for every seq of `pub` up to `lastSeq` (stored or
 * written off as a gap), nothing pending, and everything it wrote durable.
 */
export async function waitPublisherSettled(
  dataDir: string,
  pub: string,
  lastSeq: number,
): Promise<PublisherFigures> {
  let figures: PublisherFigures | undefined;
  await waitFor(`the daemon to account for ${pub} up to ${lastSeq}`, async () => {
    const status = await daemonStatus(dataDir);
    figures = status?.publishers.find((p) => p.pub === pub);
    return figures !== undefined && figures.highest_seq === lastSeq && figures.pending === 0 &&
      figures.received + figures.missing === lastSeq && status!.durable_seq === status!.seq;
  }, 60_000);
  return figures!;
}

/**
 * Waits until the running daemon's indexer has indexed everything it made durable, so that
 * commands reading the index (`recent`, `search`) see the latest messages.
 */
export async function waitForIndexed(dataDir: string, timeoutMs = 60_000): Promise<void> {
  await waitFor("the daemon's indexer to catch up", async () => {
    const status = await daemonStatus(dataDir);
    return status?.index?.state === "indexing" && status.index.lag === 0 &&
      status.durable_seq === status.seq;
  }, timeoutMs);
}

/** Reads and verifies every line of a log; any line that fails its checksum fails the test. */
export { readRecords };

/** Records of type `message` on `topic`. */
export function messagesOn(records: LogRecord[], topic: string): LogRecord[] {
  return records.filter((record) => record.type === "message" && record.topic === topic);
}

/** A temp dir removed by the returned cleanup function. */
export async function tempDir(prefix: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: `shearwater_${prefix}_` });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }) };
}

/** SIGKILLs whoever holds a lock file (a daemon started detached by the code under test). */
export async function killLockHolder(lockPath: string): Promise<void> {
  const holder = await readLockHolder(lockPath);
  if (!holder) return;
  try {
    Deno.kill(holder.pid, "SIGKILL");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error; // already gone
  }
}

/** A broker in this process, a daemon process on a temp data dir, and a publisher. */
export interface RecordingRig {
  readonly dir: string;
  readonly dataDir: string;
  readonly endpoints: { frontend: string; backend: string };
  readonly publisher: zmq.Publisher;
  /** The current daemon (replaced by {@link RecordingRig.restartDaemon}). */
  daemon: CliProcess;
  /** Starts a new daemon on the same data dir and backend (the old one must be stopped). */
  restartDaemon(args?: string[]): Promise<CliProcess>;
}

/**
 * Runs `fn` with a {@link RecordingRig}, then stops everything it started and removes the
 * temp dir, whatever `fn` did.
 */
export async function withRecordingRig(
  name: string,
  options: { daemonArgs?: string[]; daemonEnv?: Record<string, string>; dataDir?: string },
  fn: (rig: RecordingRig) => Promise<void>,
): Promise<void> {
  const dir = await tempDir(name);
  const { endpoints, broker } = await startTestBroker();
  const dataDir = options.dataDir ?? `${dir.path}/data`;
  const rig: RecordingRig = {
    dir: dir.path,
    dataDir,
    endpoints,
    publisher: connectPublisher(endpoints.frontend),
    daemon: await startDaemon(dataDir, endpoints.backend, options.daemonArgs, {
      env: options.daemonEnv,
    }),
    async restartDaemon(args?: string[]) {
      rig.daemon = await startDaemon(dataDir, endpoints.backend, args);
      return rig.daemon;
    },
  };
  try {
    await fn(rig);
  } finally {
    rig.publisher.close();
    await rig.daemon.kill();
    await broker.stop();
    await dir.cleanup();
  }
}

/** Mounts a small tmpfs at a new folder; undefined when mounting is not permitted here. */
export async function mountSmallTmpfs(
  sizeMb: number,
): Promise<{ path: string; cleanup(): Promise<void> } | undefined> {
  const outer = await tempDir("tmpfs");
  const path = `${outer.path}/mnt`;
  await Deno.mkdir(path);
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "tmpfs", path],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!mounted?.success) {
    await outer.cleanup();
    return undefined;
  }
  return {
    path,
    async cleanup() {
      await new Deno.Command("umount", { args: [path] }).output();
      await outer.cleanup();
    },
  };
}

/** True when this process may mount a tmpfs (root in a container that allows it). */
export async function canMountTmpfs(): Promise<boolean> {
  const probe = await mountSmallTmpfs(1);
  await probe?.cleanup();
  return probe !== undefined;
}

const TMPFS_OK = await canMountTmpfs();
if (!TMPFS_OK) {
  console.error(
    "ignoring the full-disk tests: mounting a tmpfs is not permitted here (needs root)",
  );
}

/** Fills the file system holding `dir` to the last byte; returns the filler's path. */
export async function fillDisk(dir: string): Promise<string> {
  const path = `${dir}/filler.bin`;
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    for (const chunk of [new Uint8Array(64 * 1024), new Uint8Array(512), new Uint8Array(1)]) {
      for (;;) {
        try {
          await file.write(chunk);
        } catch (error) {
          if (!/space|ENOSPC/i.test((error as Error).message)) throw error;
          break;
        }
      }
    }
  } finally {
    file.close();
  }
  return path;
}
