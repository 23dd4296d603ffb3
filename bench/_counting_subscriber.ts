/**
 * Child process for the baseline: a bare ZeroMQ subscriber set up like the daemon's (same
 * high-water mark, subscribed to everything) that only counts messages.
 *
 * Usage: `deno run <perms> bench/_counting_subscriber.ts --backend ADDR --expect N --out-dir DIR`
 *
 * Writes `DIR/ready` when the first warm-up message arrives, and `DIR/result.json`
 * ({@link CountingResult}) once `N` timed messages arrived or on SIGTERM, then exits.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import * as zmq from "zeromq";
import { DEFAULT_RECEIVE_HWM } from "../src/transport/subscriber.ts";
import { DATA_TOPIC, wallClockMs } from "./_payload.ts";

/** What the counting subscriber reports. */
export interface CountingResult {
  /** Timed (`bench.data`) messages received. */
  readonly received: number;
  /** Wall-clock ms of the first and last timed message; null if none came. */
  readonly firstAtMs: number | null;
  readonly lastAtMs: number | null;
  /** CPU time (user + system, all threads) from connected to done, ms. */
  readonly cpuMs: number;
}

/** Name of the file written once the subscriber is connected. */
export const READY_FILE = "ready";
/** Name of the result file. */
export const RESULT_FILE = "result.json";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string" },
      expect: { type: "string" },
      "out-dir": { type: "string" },
    },
    strict: true,
  });
  const expected = Number(values.expect);
  if (!values.backend || !values["out-dir"] || !Number.isInteger(expected)) {
    throw new Error("Usage: _counting_subscriber.ts --backend ADDR --expect N --out-dir DIR");
  }
  await countMessages(values.backend, expected, values["out-dir"]);
}

async function countMessages(backend: string, expected: number, outDir: string): Promise<void> {
  const socket = new zmq.Subscriber({ receiveHighWaterMark: DEFAULT_RECEIVE_HWM, linger: 0 });
  socket.subscribe();
  socket.connect(backend);
  const state = {
    received: 0,
    firstAtMs: null as number | null,
    lastAtMs: null as number | null,
    cpuMs: 0,
  };
  let cpuAtReady = process.cpuUsage();
  const finish = async () => {
    const cpu = process.cpuUsage(cpuAtReady);
    state.cpuMs = (cpu.user + cpu.system) / 1000;
    await Deno.writeTextFile(`${outDir}/${RESULT_FILE}`, JSON.stringify(state));
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", finish);
  const decoder = new TextDecoder();
  let ready = false;
  while (state.received < expected) {
    const [topic] = await socket.receive();
    if (topic && decoder.decode(topic) === DATA_TOPIC) {
      state.lastAtMs = wallClockMs();
      state.firstAtMs ??= state.lastAtMs;
      state.received++;
    } else if (!ready) {
      ready = true;
      await Deno.writeTextFile(`${outDir}/${READY_FILE}`, "");
      cpuAtReady = process.cpuUsage();
    }
  }
  await finish();
}

if (import.meta.main) await main();
