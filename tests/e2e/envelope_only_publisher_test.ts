/**
 * Publishers that adopt only the envelope (no presence, so no resend endpoint is ever known):
 * whatever they lose must still end up on disk or written off as a `publisher_gap`, across
 * `kill -9` restarts of the daemon and within a bounded time after the last one.
 */
import { assert, assertEquals } from "../_assert.ts";
import type { LogRecord } from "../../src/store/record.ts";
import {
  daemonStatus,
  readRecords,
  type RecordingRig,
  waitFor,
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

/** The log once everything received is durable. */
async function durableLog(dataDir: string): Promise<LogRecord[]> {
  await waitFor("the log to be durable", async () => {
    const status = await daemonStatus(dataDir);
    return status !== undefined && status.durable_seq === status.seq;
  });
  return await readRecords(`${dataDir}/current_session.jsonl`);
}

/** For each seq 1..last: how many times it is stored plus how many publisher_gaps cover it. */
function coverage(records: LogRecord[], pub: string, last: number): number[] {
  const counts = new Array<number>(last + 1).fill(0);
  for (const record of records) {
    const meta = record.meta as { pub?: string; pub_seq?: number } | undefined;
    if (record.type === "message" && meta?.pub === pub && meta.pub_seq! <= last) {
      counts[meta.pub_seq!]!++;
    }
    if (record.type === "publisher_gap" && record.publisher === pub) {
      const to = Math.min(record.last_missing as number, last);
      for (let seq = record.first_missing as number; seq <= to; seq++) counts[seq]!++;
    }
  }
  return counts.slice(1);
}

/** Seqs of 1..last neither stored nor written off, or stored/written off more than once. */
function unaccounted(records: LogRecord[], pub: string, last: number): number[] {
  return coverage(records, pub, last).flatMap((count, i) => count === 1 ? [] : [i + 1]);
}

async function withEnvelopeOnlyPeer(
  rig: RecordingRig,
  fn: (peer: TestPublisher) => Promise<void>,
): Promise<void> {
  // No presence("hello"): the daemon never learns a resend endpoint for this publisher.
  const peer = await TestPublisher.start(rig.endpoints.frontend);
  try {
    await warmUpPeer(peer, rig.dataDir);
    await fn(peer);
  } finally {
    await peer.kill();
  }
}

Deno.test({
  name: "daemon killed before an envelope-only publisher's first gap was written off writes it " +
    "after the restart",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("envelope_only_first", {}, async (rig) => {
      await withEnvelopeOnlyPeer(rig, async (peer) => {
        await peer.lose(2);
        await peer.send("work", 1); // the daemon's first message from this publisher: seq 3
        await waitFor("the gap 1..2 to wait for an endpoint, seq 3 durable", async () => {
          const status = await daemonStatus(rig.dataDir);
          const figures = status?.publishers.find((p) => p.pub === peer.pub);
          return figures?.pending === 2 && status!.durable_seq === status!.seq;
        });
        await rig.daemon.kill("SIGKILL");
        const before = await readRecords(`${rig.dataDir}/current_session.jsonl`);
        assertEquals(
          before.filter((r) => r.type === "publisher_gap" && r.publisher === peer.pub),
          [],
          "the daemon was to be killed before it wrote the gap off",
        );

        await rig.restartDaemon();
        let records: LogRecord[] = [];
        await waitFor("seqs 1..3 to be accounted for after the restart", async () => {
          records = await durableLog(rig.dataDir);
          return unaccounted(records, peer.pub, 3).length === 0;
        }, 30_000);
        const gaps = records.filter((r) => r.type === "publisher_gap" && r.publisher === peer.pub);
        assertEquals(gaps.map((gap) => [gap.first_missing, gap.last_missing, gap.count]), [[
          1,
          2,
          2,
        ]]);
        assert(
          /no resend endpoint known/.test(gaps[0]!.reason as string),
          gaps[0]!.reason as string,
        );
      });
    });
  },
});

Deno.test({
  name: "daemon killed 6 times while an envelope-only publisher sends accounts for every seq " +
    "soon after the last restart",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("envelope_only_kills", {}, async (rig) => {
      await withEnvelopeOnlyPeer(rig, async (peer) => {
        // A steady stream through every kill; it ends when the peer is killed (then it rejects).
        const sending = peer.send("work", 100_000, 2).catch(() => 0);
        try {
          for (let kill = 0; kill < 6; kill++) {
            await new Promise((resolve) => setTimeout(resolve, 300 + 150 * (kill % 3)));
            await rig.daemon.kill("SIGKILL");
            await rig.restartDaemon();
          }
        } finally {
          await peer.kill(); // ends the stream (the send never finishes)
          await sending;
        }
        // Without a later message or presence the daemon cannot know the stream's true end: the
        // last seq it stored is the end that must be accounted for.
        let last = 0;
        await waitFor("the publisher's last message to be stored", async () => {
          const status = await daemonStatus(rig.dataDir);
          const figures = status?.publishers.find((p) => p.pub === peer.pub);
          if (figures === undefined || figures.highest_seq !== last) {
            last = figures?.highest_seq ?? 0;
            return false;
          }
          return last > 0;
        });
        // Bounded: the holes of a publisher with no endpoint share one wait, not one each.
        let records: LogRecord[] = [];
        await waitFor(`every seq 1..${last} to be stored or written off`, async () => {
          records = await durableLog(rig.dataDir);
          return unaccounted(records, peer.pub, last).length === 0;
        }, 15_000);
        const gaps = records.filter((r) => r.type === "publisher_gap" && r.publisher === peer.pub);
        assert(gaps.length > 0, "the kills lost messages: there are publisher_gaps");
        assertEquals(unaccounted(records, peer.pub, last), []);
      });
    });
  },
});
