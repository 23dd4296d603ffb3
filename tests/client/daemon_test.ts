/**
 * Both client libraries against the real daemon: publish through a real broker and check what
 * the daemon recorded — the envelope intact in the payload, `meta.pub` / `meta.pub_seq` on the
 * records, presence recorded — and refill through the real TypeScript client: the daemon killed
 * with -9 while the client sends, and a daemon that joins after the client sent. The Python
 * client's refill is driven from Python (`python/check_daemon_refill.py`).
 */
import * as zmq from "zeromq";
import { assert, assertEquals } from "../_assert.ts";
import {
  daemonStatus,
  killLockHolder,
  MAIN_PATH,
  messagesOn,
  publisherFigures,
  readRecords,
  type RecordingRig,
  startTestBroker,
  tempDir,
  waitFor,
  waitPublisherSettled,
  withRecordingRig,
} from "../_helpers.ts";
import { readLines } from "../lines.ts";
import { RUN_PERMISSIONS } from "../../src/self_command.ts";
import type { LogRecord } from "../../src/store/record.ts";
import { ENVELOPE_FIELD, PRESENCE_TOPIC, Publisher } from "../../src/client/mod.ts";
import { runPython } from "./_python.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const PUBLISH = new URL("./python/publish.py", import.meta.url).pathname;
const COUNT = 200;

/** Waits until the daemon has made everything durable and the log holds `pub`'s bye. */
async function recordsUntilBye(dataDir: string, pub: string): Promise<LogRecord[]> {
  let records: LogRecord[] = [];
  await waitFor(`the bye of ${pub} to be recorded`, async () => {
    const status = await daemonStatus(dataDir);
    if (!status || status.durable_seq !== status.seq) return false;
    records = await readRecords(`${dataDir}/current_session.jsonl`);
    return presences(records, pub).some((presence) => presence.type === "bye");
  }, 30_000);
  return records;
}

function presences(records: LogRecord[], pub: string): Array<Record<string, unknown>> {
  return messagesOn(records, PRESENCE_TOPIC)
    .map((record) => JSON.parse((record.frames as string[])[1]!))
    .filter((presence) => presence.pub === pub);
}

function checkRecorded(records: LogRecord[], topic: string, pub: string): void {
  const recorded = messagesOn(records, topic);
  assertEquals(recorded.length, COUNT);
  recorded.forEach((record, index) => {
    const payload = JSON.parse((record.frames as string[])[1]!);
    assertEquals(payload[ENVELOPE_FIELD], { pub, seq: index + 1 });
    assertEquals(payload.n, index + 1);
    const meta = record.meta as Record<string, unknown>;
    assertEquals([meta.pub, meta.pub_seq, meta.refilled], [pub, index + 1, undefined]);
  });
  const kinds = presences(records, pub).map((presence) => presence.type);
  assertEquals(kinds[0], "hello");
  assertEquals(kinds[kinds.length - 1], "bye");
  const bye = presences(records, pub).at(-1)!;
  assertEquals(bye.last_seq, COUNT);
  assert(typeof bye.resend === "string" && bye.resend.startsWith("tcp://127.0.0.1:"));
}

Deno.test({
  name:
    "the TypeScript client's messages reach the real daemon with the envelope intact and meta.pub / meta.pub_seq",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_ts", {}, async (rig) => {
      const publisher = await Publisher.open({
        frontend: rig.endpoints.frontend,
        name: "tsagent",
        waitForSubscriberMs: 15_000,
      });
      for (let n = 1; n <= COUNT; n++) {
        await publisher.send("agent.ts", { from: "tsagent", n, content: `ts ${n}` });
      }
      await publisher.close();
      checkRecorded(await recordsUntilBye(rig.dataDir, publisher.pub), "agent.ts", publisher.pub);
    });
  },
});

Deno.test({
  name:
    "the Python client's messages reach the real daemon with the envelope intact and meta.pub / meta.pub_seq",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_py", {}, async (rig) => {
      const result = await runPython(PUBLISH, [rig.endpoints.frontend, "agent.py", String(COUNT)]);
      assertEquals(result.code, 0, result.stderr);
      const pub = result.stdout.trim();
      assert(/^pyagent\/[0-9a-f]{6}$/.test(pub), result.stdout);
      checkRecorded(await recordsUntilBye(rig.dataDir, pub), "agent.py", pub);
    });
  },
});

const STREAM_CHILD = new URL("./_stream_child.ts", import.meta.url).pathname;

/** The real TypeScript client in a child process, publishing a steady stream (`_stream_child.ts`). */
class StreamClient {
  readonly pub: string;
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;

  private constructor(child: Deno.ChildProcess, lines: AsyncIterator<string>, pub: string) {
    this.#child = child;
    this.#lines = lines;
    this.pub = pub;
  }

  static async start(
    frontend: string,
    options: { count: number; intervalMs: number; outbox: number; waitForSubscriberMs: number },
  ): Promise<StreamClient> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...RUN_PERMISSIONS,
        STREAM_CHILD,
        frontend,
        "tsstream",
        String(options.count),
        String(options.intervalMs),
        String(options.outbox),
        String(options.waitForSubscriberMs),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = readLines(child.stdout)[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error("the client child exited before it opened");
    return new StreamClient(child, lines, JSON.parse(first.value).pub);
  }

  /** Reads the child's progress lines until one satisfies `test`; returns it. */
  async until(test: (line: Record<string, number>) => boolean): Promise<Record<string, number>> {
    for (;;) {
      const next = await this.#lines.next();
      if (next.done) throw new Error("the client child exited early");
      const line = JSON.parse(next.value);
      if (test(line)) return line;
    }
  }

  /** Lets the child close its publisher (bye) and waits for it to exit. */
  async close(): Promise<void> {
    await this.#child.stdin.close();
    await this.until((line) => "closed" in line);
    assertEquals((await this.#child.status).code, 0);
  }

  /** SIGKILLs the child (cleanup); safe after {@link close}. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    await this.#child.status;
  }
}

/**
 * Every seq 1..last of `pub` stored exactly once or inside exactly one publisher_gap; live
 * records in increasing seq, refilled ones (meta.refilled) in increasing seq too. Returns the
 * refilled seqs and the gaps.
 */
function assertAccountedInOrder(
  records: LogRecord[],
  pub: string,
  last: number,
): { refilled: number[]; gaps: LogRecord[] } {
  const live: number[] = [];
  const refilled: number[] = [];
  for (const record of records) {
    const meta = record.meta as { pub?: string; pub_seq?: number; refilled?: boolean } | undefined;
    if (record.type !== "message" || meta?.pub !== pub) continue;
    const payload = JSON.parse((record.frames as string[])[1]!);
    assertEquals(payload[ENVELOPE_FIELD], { pub, seq: meta.pub_seq }); // the original bytes
    (meta.refilled === true ? refilled : live).push(meta.pub_seq!);
  }
  const increasing = (seqs: number[]) => seqs.every((seq, i) => i === 0 || seqs[i - 1]! < seq);
  assert(increasing(live), `live records out of order: ${live.join(",")}`);
  assert(increasing(refilled), `refilled records out of order: ${refilled.join(",")}`);
  const gaps = records.filter((record) =>
    record.type === "publisher_gap" && record.publisher === pub
  );
  const covered = [...live, ...refilled];
  for (const gap of gaps) {
    for (let seq = gap.first_missing as number; seq <= (gap.last_missing as number); seq++) {
      covered.push(seq);
    }
  }
  assertEquals(covered.sort((a, b) => a - b), Array.from({ length: last }, (_, i) => i + 1));
  return { refilled, gaps };
}

async function durableLog(dataDir: string): Promise<LogRecord[]> {
  await waitFor("the log to be durable", async () => {
    const status = await daemonStatus(dataDir);
    return status !== undefined && status.durable_seq === status.seq;
  });
  return await readRecords(`${dataDir}/current_session.jsonl`);
}

async function withStreamClient(
  rig: RecordingRig,
  options: { count: number; intervalMs: number; outbox: number; waitForSubscriberMs: number },
  fn: (client: StreamClient) => Promise<void>,
): Promise<void> {
  const client = await StreamClient.start(rig.endpoints.frontend, options);
  try {
    await fn(client);
  } finally {
    await client.kill();
  }
}

Deno.test({
  name: "the daemon killed with -9 while the TypeScript client sends refills the outage from it",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_ts_refill", {}, async (rig) => {
      const options = { count: 1000, intervalMs: 4, outbox: 10_000, waitForSubscriberMs: 15_000 };
      await withStreamClient(rig, options, async (client) => {
        await waitFor("the daemon to record 100 of the client's messages", async () => {
          return ((await publisherFigures(rig.dataDir, client.pub))?.received ?? 0) >= 100;
        }, 30_000);
        await rig.daemon.kill("SIGKILL");
        const killedAt = await client.until((line) => "seq" in line || "sent" in line);
        // The client keeps sending: at least 100 more go out with nobody recording them.
        const upTo = (killedAt.seq ?? killedAt.sent!) + 100;
        await client.until((line) => (line.seq ?? line.sent ?? 0) >= upTo);
        await rig.restartDaemon();
        const { sent } = await client.until((line) => "sent" in line);
        const figures = await waitPublisherSettled(rig.dataDir, client.pub, sent!);
        const { refilled, gaps } = assertAccountedInOrder(
          await durableLog(rig.dataDir),
          client.pub,
          sent!,
        );
        assertEquals(gaps, []); // all within the outbox: nothing lost at all
        // How many went out during the outage depends on timing; that some did is certain.
        assert(refilled.length > 0, "nothing was refilled: the outage lost nothing?");
        assertEquals([figures.missing, figures.refilled, figures.received], [
          0,
          refilled.length,
          sent,
        ]);
        await client.close();
        await waitFor("the bye", async () => {
          const records = await durableLog(rig.dataDir);
          return presences(records, client.pub).some((presence) => presence.type === "bye");
        });
      });
    });
  },
});

Deno.test({
  name: "a daemon started after the TypeScript client sent refills what its outbox holds",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_ts_late", {}, async (rig) => {
      await rig.daemon.kill("SIGKILL"); // nobody subscribes while the client sends
      const options = { count: 60, intervalMs: 0, outbox: 40, waitForSubscriberMs: 0 };
      await withStreamClient(rig, options, async (client) => {
        const { sent } = await client.until((line) => "sent" in line);
        await rig.restartDaemon();
        // The daemon's subscription reaches the client, which says hello with last_seq 60.
        const figures = await waitPublisherSettled(rig.dataDir, client.pub, sent!);
        const { refilled, gaps } = assertAccountedInOrder(
          await durableLog(rig.dataDir),
          client.pub,
          sent!,
        );
        assertEquals(refilled, Array.from({ length: 40 }, (_, i) => i + 21));
        assertEquals(gaps.map((gap) => [gap.first_missing, gap.last_missing, gap.reason]), [
          [1, 20, "outbox no longer holds it (oldest held: 21)"],
        ]);
        assertEquals([figures.received, figures.missing, figures.refilled], [40, 20, 40]);
      });
    });
  },
});

Deno.test({
  name:
    "a late daemon whose subscription the broker folds into another's refills after the next alive",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_ts_folded", {}, async (rig) => {
      await rig.daemon.kill("SIGKILL");
      // Somebody else already subscribes to everything: the proxy forwards the daemon's
      // identical subscription to no publisher, so the client announces nothing at once; its
      // periodic alive (every 5 s) brings the resend address and last_seq.
      const other = new zmq.Subscriber({ linger: 0 });
      other.subscribe();
      other.connect(rig.endpoints.backend);
      try {
        const options = { count: 30, intervalMs: 0, outbox: 100, waitForSubscriberMs: 15_000 };
        await withStreamClient(rig, options, async (client) => {
          const { sent } = await client.until((line) => "sent" in line);
          await rig.restartDaemon();
          const figures = await waitPublisherSettled(rig.dataDir, client.pub, sent!);
          const { refilled, gaps } = assertAccountedInOrder(
            await durableLog(rig.dataDir),
            client.pub,
            sent!,
          );
          assertEquals([refilled.length, gaps.length, figures.missing], [30, 0, 0]);
        });
      } finally {
        other.close(); // never received on: no receive is pending
      }
    });
  },
});

const DAEMON_REFILL = new URL("./python/check_daemon_refill.py", import.meta.url).pathname;

Deno.test({
  name:
    "the Python client's messages are refilled after kill -9 and for a late daemon (from Python)",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("client_py_refill");
    const { endpoints, broker } = await startTestBroker();
    try {
      const result = await runPython(DAEMON_REFILL, [
        endpoints.frontend,
        endpoints.backend,
        dir.path,
        JSON.stringify([Deno.execPath(), "run", ...RUN_PERMISSIONS, MAIN_PATH]),
      ], { timeoutMs: 150_000 });
      assertEquals(result.signal, null, result.stderr);
      assertEquals(result.code, 0, result.stdout + result.stderr);
      assertEquals(result.stdout.trim().split("\n").at(-1), "ok", result.stdout);
    } finally {
      // The script kills its daemons; a script killed by the guard may have left one.
      for (const name of ["restart", "late"]) {
        await killLockHolder(`${dir.path}/${name}/daemon.lock`);
      }
      await broker.stop();
      await dir.cleanup();
    }
  },
});
