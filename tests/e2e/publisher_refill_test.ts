import { assert, assertEquals } from "../_assert.ts";
import type { LogRecord } from "../../src/store/record.ts";
import {
  daemonStatus,
  publisherFigures,
  readRecords,
  type RecordingRig,
  runCli,
  waitFor,
  waitPublisherSettled,
  withRecordingRig,
} from "../_helpers.ts";
import { TestPublisher } from "../_test_publisher.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** Publishes un-enveloped warm-ups until the daemon hears the peer (slow joiner). */
async function warmUpPeer(peer: TestPublisher, dataDir: string): Promise<void> {
  const before = (await daemonStatus(dataDir))!.received;
  await waitFor("the daemon to hear the test publisher", async () => {
    await peer.raw(["warmup", "ping"]);
    return (await daemonStatus(dataDir))!.received > before;
  }, 20_000);
}

async function withPeer(
  rig: RecordingRig,
  options: { outbox?: number },
  fn: (peer: TestPublisher) => Promise<void>,
): Promise<void> {
  const peer = await TestPublisher.start(rig.endpoints.frontend, options);
  try {
    await warmUpPeer(peer, rig.dataDir);
    await peer.presence("hello");
    await fn(peer);
  } finally {
    await peer.kill();
  }
}

async function logOf(dataDir: string): Promise<LogRecord[]> {
  await waitFor("the log to be durable", async () => {
    const status = await daemonStatus(dataDir);
    return status !== undefined && status.durable_seq === status.seq;
  });
  return await readRecords(`${dataDir}/current_session.jsonl`);
}

function pubSeqs(records: LogRecord[], pub: string): { seq: number; refilled: boolean }[] {
  return records.flatMap((record) => {
    const meta = record.meta as { pub?: string; pub_seq?: number; refilled?: boolean } | undefined;
    return record.type === "message" && meta?.pub === pub
      ? [{ seq: meta.pub_seq!, refilled: meta.refilled === true }]
      : [];
  });
}

function gapsOf(records: LogRecord[], pub: string): LogRecord[] {
  return records.filter((record) => record.type === "publisher_gap" && record.publisher === pub);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Every seq 1..last stored exactly once or covered by exactly one publisher_gap. */
function assertAccounted(records: LogRecord[], pub: string, last: number): void {
  const covered = pubSeqs(records, pub).map((s) => s.seq);
  for (const gap of gapsOf(records, pub)) {
    covered.push(...range(gap.first_missing as number, gap.last_missing as number));
  }
  assertEquals(covered.sort((a, b) => a - b), range(1, last));
}

Deno.test({
  name: "daemon refills a gap from the publisher's outbox, in order, marked meta.refilled",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_gap", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 5);
        await peer.lose(3); // seqs 6..8 never reach the bus
        await peer.send("work", 2);
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 10);
        const records = await logOf(rig.dataDir);
        assertEquals(gapsOf(records, peer.pub), []);
        assertEquals([figures.received, figures.missing, figures.refilled], [10, 0, 3]);
        // A clean stop with resend links open exits 0.
        assertEquals((await rig.daemon.kill("SIGTERM")).code, 0);
        const seqs = pubSeqs(records, peer.pub);
        assertEquals(seqs.map((s) => s.seq).sort((a, b) => a - b), range(1, 10));
        assertEquals(seqs.filter((s) => s.refilled).map((s) => s.seq), [6, 7, 8]);
        assertEquals(gapsOf(records, peer.pub), []);
      });
    });
  },
});

Deno.test({
  name: "daemon refills 5,000 missed messages in one request, none dropped on the way",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_large", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 1);
        await peer.lose(5000);
        await peer.send("work", 1);
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 5002);
        assertEquals([figures.received, figures.missing, figures.refilled], [5002, 0, 5000]);
        const seqs = pubSeqs(await logOf(rig.dataDir), peer.pub);
        assertEquals(seqs.filter((s) => s.refilled).map((s) => s.seq), range(2, 5001));
      });
    });
  },
});

Deno.test({
  name: "daemon writes an explained publisher_gap for what the outbox no longer holds",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_short_outbox", {}, async (rig) => {
      await withPeer(rig, { outbox: 3 }, async (peer) => {
        await peer.send("work", 2);
        await peer.lose(10); // 3..12; the outbox keeps only 11, 12 and then 13
        await peer.send("work", 1);
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 13);
        assertEquals([figures.received, figures.missing, figures.refilled], [5, 8, 2]);
        const records = await logOf(rig.dataDir);
        const gaps = gapsOf(records, peer.pub);
        assertEquals(gaps.length, 1);
        assertEquals([gaps[0]!.first_missing, gaps[0]!.last_missing, gaps[0]!.count], [3, 10, 8]);
        assert(
          /outbox no longer holds it \(oldest held: 11\)/.test(gaps[0]!.reason as string),
          gaps[0]!.reason as string,
        );
        assertAccounted(records, peer.pub, 13);
        await peer.sendAgain(13);
        await waitFor("the duplicate", async () => {
          return (await publisherFigures(rig.dataDir, peer.pub))?.duplicates === 1;
        });

        const status = await runCli(["status", "--data-dir", rig.dataDir]);
        assert(
          status.stdout.includes(
            `${peer.pub}: 5 received, 8 missing, 2 refilled, 1 duplicates`,
          ),
          status.stdout,
        );
        const stats = await runCli(["stats", "--data-dir", rig.dataDir, "--json"]);
        assertEquals(stats.code, 0, stats.stderr);
        const publishers = JSON.parse(stats.stdout).publishers;
        assertEquals(publishers, [{
          pub: peer.pub,
          received: 5,
          refilled: 2,
          missing: 8,
          duplicates: 1,
        }]);
        const diag = await runCli(["diag", "--data-dir", rig.dataDir, "--json"]);
        const check = JSON.parse(diag.stdout).checks.find(
          (c: { name: string }) => c.name === "publishers",
        );
        assertEquals(check.status, "warn");
        assert(
          check.detail.includes("8 message(s) in 1 UNFILLED gap(s) in the last hour"),
          check.detail,
        );
        assert(check.detail.includes(`${peer.pub} 3..10 (outbox no longer holds it`), check.detail);
      });
    });
  },
});

Deno.test({
  name: "daemon writes publisher_gap 'publisher gone' when the resend endpoint does not answer",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_gone", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 2);
        await peer.mute();
        await peer.lose(4);
        await peer.send("work", 1);
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 7);
        assertEquals([figures.received, figures.missing, figures.refilled], [3, 4, 0]);
        const gaps = gapsOf(await logOf(rig.dataDir), peer.pub);
        assertEquals(gaps.map((gap) => [gap.first_missing, gap.last_missing]), [[3, 6]]);
        assert(/^publisher gone/.test(gaps[0]!.reason as string), gaps[0]!.reason as string);
      });
    });
  },
});

Deno.test({
  name: "daemon stores a (pub, seq) once and counts the repeats as duplicates",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_duplicates", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 3);
        await peer.sendAgain(2);
        await peer.sendAgain(3);
        await peer.send("work", 1);
        await waitPublisherSettled(rig.dataDir, peer.pub, 4);
        await waitFor("two duplicates", async () => {
          return (await publisherFigures(rig.dataDir, peer.pub))?.duplicates === 2;
        });
        const records = await logOf(rig.dataDir);
        assertEquals(pubSeqs(records, peer.pub).map((s) => s.seq), [1, 2, 3, 4]);
        assertEquals((await daemonStatus(rig.dataDir))!.duplicates, 2);
      });
    });
  },
});

Deno.test({
  name: "daemon killed with -9 while a publisher sends refills the outage after its restart",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_restart", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 20);
        await waitPublisherSettled(rig.dataDir, peer.pub, 20);
        await logOf(rig.dataDir); // durable, presence included: what a restart rebuilds from
        await rig.daemon.kill("SIGKILL");
        await peer.send("work", 30); // nobody records these
        await rig.restartDaemon();
        // The endpoint is known from the log's presence record; the next message shows the gap.
        await warmUpPeer(peer, rig.dataDir);
        await peer.send("work", 1);
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 51);
        const records = await logOf(rig.dataDir);
        assertEquals(gapsOf(records, peer.pub), []);
        assertEquals([figures.missing, figures.refilled], [0, 30]);
        const seqs = pubSeqs(records, peer.pub);
        assertEquals(seqs.map((s) => s.seq).sort((a, b) => a - b), range(1, 51));
        assertEquals(seqs.filter((s) => s.refilled).map((s) => s.seq), range(21, 50));
      });
    });
  },
});

Deno.test({
  name: "a refill cut short by kill -9 is taken up again after the restart",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_cut_short", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 3);
        await peer.mute(); // the refill request waits unanswered
        await peer.lose(3);
        await peer.send("work", 1);
        await waitFor("the refill to be under way, the rest durable", async () => {
          const status = await daemonStatus(rig.dataDir);
          const figures = status?.publishers.find((p) => p.pub === peer.pub);
          return figures?.pending === 3 && status!.durable_seq === status!.seq;
        });
        await rig.daemon.kill("SIGKILL");
        await peer.unmute();
        await rig.restartDaemon();
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 7);
        assertEquals([figures.received, figures.missing, figures.refilled], [7, 0, 3]);
        const records = await logOf(rig.dataDir);
        assertEquals(gapsOf(records, peer.pub), []);
        assertEquals(
          pubSeqs(records, peer.pub).filter((s) => s.refilled).map((s) => s.seq),
          [4, 5, 6],
        );
      });
    });
  },
});

Deno.test({
  name: "a daemon that joins late refills what the publisher's outbox still holds",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_late_joiner", {}, async (rig) => {
      await rig.daemon.kill("SIGKILL");
      const peer = await TestPublisher.start(rig.endpoints.frontend, { outbox: 15 });
      try {
        await peer.presence("hello");
        await peer.send("work", 25); // no daemon: lost on the bus; the outbox keeps 11..25
        await rig.restartDaemon([]);
        await warmUpPeer(peer, rig.dataDir);
        await peer.presence("alive"); // last_seq 25: the daemon learns the endpoint and the gap
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 25);
        const records = await logOf(rig.dataDir);
        const gaps = gapsOf(records, peer.pub);
        assertEquals(gaps.map((gap) => gap.reason), [
          "outbox no longer holds it (oldest held: 11)",
        ]);
        assertEquals([figures.received, figures.missing, figures.refilled], [15, 10, 15]);
        assertEquals(gaps.map((gap) => [gap.first_missing, gap.last_missing]), [[1, 10]]);
        assertAccounted(records, peer.pub, 25);
      } finally {
        await peer.kill();
      }
    });
  },
});

Deno.test({
  name: "presence last_seq reveals a loss at the end of a stream (after bye: publisher gone)",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("refill_stream_end", {}, async (rig) => {
      await withPeer(rig, {}, async (peer) => {
        await peer.send("work", 3);
        await peer.lose(2);
        await peer.presence("bye");
        const figures = await waitPublisherSettled(rig.dataDir, peer.pub, 5);
        assertEquals([figures.received, figures.missing], [3, 2]);
        const records = await logOf(rig.dataDir);
        const gaps = gapsOf(records, peer.pub);
        assertEquals(gaps.map((gap) => [gap.first_missing, gap.last_missing]), [[4, 5]]);
        assert(/said bye/.test(gaps[0]!.reason as string), gaps[0]!.reason as string);
        assertAccounted(records, peer.pub, 5);
      });
    });
  },
});
