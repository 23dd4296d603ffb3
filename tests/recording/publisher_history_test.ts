import { assertEquals } from "../_assert.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { PublisherLedger } from "../../src/recording/publisher_ledger.ts";
import { restorePublishers } from "../../src/recording/publisher_history.ts";
import type { RecordBody } from "../../src/store/record.ts";
import { RECORD_FORMAT_VERSION } from "../../src/version.ts";
import { sessionStartRecord, writeLog } from "../log_fixtures.ts";

const SESSION = "20261130_010000_aaaa";
const encoder = new TextEncoder();

function enveloped(seq: number, pub: string, pubSeq: number): RecordBody {
  const payload = JSON.stringify({ n: pubSeq, _shearwater: { pub, seq: pubSeq } });
  return messageRecord([encoder.encode("work"), encoder.encode(payload)], {
    seq,
    session: SESSION,
    receivedAt: new Date(Date.parse("2026-11-30T01:00:00Z") + seq),
  });
}

function gapRecord(seq: number, pub: string, from: number, to: number): RecordBody {
  return {
    v: RECORD_FORMAT_VERSION,
    seq,
    type: "publisher_gap",
    session: SESSION,
    received_at: new Date(Date.parse("2026-11-30T01:00:00Z") + seq).toISOString(),
    publisher: pub,
    first_missing: from,
    last_missing: to,
    count: to - from + 1,
    reason: "no resend endpoint known (no presence announcement seen)",
  };
}

async function restoredHoles(
  logs: RecordBody[][],
  complete: boolean,
): Promise<{ pub: string; range: { from: number; to: number } }[]> {
  const dir = await Deno.makeTempDir({ prefix: "publisher_history_" });
  try {
    const paths = [];
    for (const [i, records] of logs.entries()) {
      const path = `${dir}/log_${i}.jsonl`;
      await writeLog(path, records);
      paths.push(path);
    }
    return (await restorePublishers(paths, new PublisherLedger(), { complete })).holes;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("restorePublishers() reopens 1..lowest-1 when a publisher's history starts above 1", async () => {
  const log = [sessionStartRecord(1, SESSION), enveloped(2, "a/1", 3), enveloped(3, "a/1", 4)];
  assertEquals(await restoredHoles([log], true), [{ pub: "a/1", range: { from: 1, to: 2 } }]);
});

Deno.test("restorePublishers() does not reopen a first range already written off", async () => {
  const log = [
    sessionStartRecord(1, SESSION),
    enveloped(2, "a/1", 3),
    gapRecord(3, "a/1", 1, 2),
    enveloped(4, "a/1", 5),
  ];
  assertEquals(await restoredHoles([log], true), [{ pub: "a/1", range: { from: 4, to: 4 } }]);
});

Deno.test("restorePublishers() leaves the start alone when it may lie in an older log", async () => {
  const older = [sessionStartRecord(1, SESSION), enveloped(2, "a/1", 7)];
  const current = [sessionStartRecord(3, SESSION), enveloped(4, "b/1", 5), enveloped(5, "a/1", 8)];
  // Not complete: a/1 appears in the oldest scanned log, its seqs 1..6 may be in an older one;
  // b/1 first appears after it, so its history starts in the scanned logs.
  assertEquals(await restoredHoles([older, current], false), [
    { pub: "b/1", range: { from: 1, to: 4 } },
  ]);
  assertEquals(await restoredHoles([older, current], true), [
    { pub: "a/1", range: { from: 1, to: 6 } },
    { pub: "b/1", range: { from: 1, to: 4 } },
  ]);
});
