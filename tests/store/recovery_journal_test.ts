import {
  type JournalEntry,
  readJournal,
  RecoveryJournal,
} from "../../src/store/recovery_journal.ts";
import { assert, assertEquals } from "../_assert.ts";

const COMPACT_ABOVE_BYTES = 1024 * 1024;

function entry(
  event: JournalEntry["event"],
  minute: number,
  fields: Partial<JournalEntry> = {},
): JournalEntry {
  const at = new Date(Date.UTC(2026, 10, 25, 13, minute)).toISOString();
  return { event, at, pid: 4242, session: "20261125_133107_959e", ...fields };
}

function lines(entries: readonly JournalEntry[]): string {
  return entries.map((e) => JSON.stringify(e) + "\n").join("");
}

async function withJournal(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shearwater_journal_" });
  try {
    await fn(`${dir}/crash_recovery.jsonl`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("RecoveryJournal.readPreviousRun() reports a first start for a missing journal", async () => {
  await withJournal(async (path) => {
    assertEquals(await RecoveryJournal.readPreviousRun(path), {
      unclean: false,
      last: undefined,
      maxDurableSeq: 0,
      maxReservedSeq: 0,
      unreadableLines: 0,
    });
  });
});

Deno.test("RecoveryJournal.readPreviousRun() calls a start without a stop unclean", async () => {
  await withJournal(async (path) => {
    const start = entry("start", 1, { durable_seq: 3 });
    await Deno.writeTextFile(path, lines([start]));
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.unclean, true);
    assertEquals(previous.last, start);
    assertEquals(previous.maxDurableSeq, 3);
  });
});

Deno.test("RecoveryJournal.readPreviousRun() calls start, heartbeat, stop clean", async () => {
  await withJournal(async (path) => {
    const stop = entry("stop", 3, { durable_seq: 9 });
    await Deno.writeTextFile(
      path,
      lines([
        entry("start", 1, { durable_seq: 1 }),
        entry("heartbeat", 2, { durable_seq: 5 }),
        stop,
      ]),
    );
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.unclean, false);
    assertEquals(previous.last, stop);
    assertEquals(previous.maxDurableSeq, 9);
  });
});

Deno.test("RecoveryJournal.readPreviousRun() calls a run whose last entry is a heartbeat unclean", async () => {
  await withJournal(async (path) => {
    const heartbeat = entry("heartbeat", 6, { durable_seq: 20 });
    await Deno.writeTextFile(
      path,
      lines([
        entry("start", 1),
        entry("stop", 2, { durable_seq: 10 }),
        entry("start", 5),
        heartbeat,
      ]),
    );
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.unclean, true);
    assertEquals(previous.last, heartbeat);
    assertEquals(previous.maxDurableSeq, 20);
  });
});

Deno.test("RecoveryJournal.readPreviousRun() ignores non-lifecycle entries after a stop", async () => {
  await withJournal(async (path) => {
    const stop = entry("stop", 3, { durable_seq: 9 });
    await Deno.writeTextFile(
      path,
      lines([
        entry("start", 1),
        entry("recovered", 1, { durable_seq: 2 }),
        stop,
        entry("session_archived", 4, { durable_seq: 12, archived_to: "archive/session_x.jsonl" }),
      ]),
    );
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.unclean, false);
    assertEquals(previous.last, stop);
    assertEquals(previous.maxDurableSeq, 12, "session_archived counts towards maxDurableSeq");
  });
});

Deno.test("RecoveryJournal.readPreviousRun() counts a torn last line and does not trust it", async () => {
  await withJournal(async (path) => {
    const heartbeat = entry("heartbeat", 2, { durable_seq: 7 });
    const torn = JSON.stringify(entry("stop", 3, { durable_seq: 99 })).slice(0, 40);
    await Deno.writeTextFile(path, lines([entry("start", 1), heartbeat]) + torn);
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.unreadableLines, 1);
    assertEquals(previous.unclean, true, "a torn stop is not a stop");
    assertEquals(previous.last, heartbeat);
    assertEquals(previous.maxDurableSeq, 7);
  });
});

Deno.test("RecoveryJournal.readPreviousRun() counts lines that are JSON but not entries", async () => {
  await withJournal(async (path) => {
    await Deno.writeTextFile(
      path,
      lines([entry("start", 1)]) + '{"event":"stop"}\n' + "42\n" + "null\n" + "\n" +
        lines([entry("stop", 2)]),
    );
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.unreadableLines, 3);
    assertEquals(previous.unclean, false);
  });
});

Deno.test("RecoveryJournal.readPreviousRun() takes the highest durable_seq of any entry", async () => {
  await withJournal(async (path) => {
    await Deno.writeTextFile(
      path,
      lines([
        entry("start", 1, { durable_seq: 4 }),
        entry("recovered", 2, { durable_seq: 50 }),
        entry("heartbeat", 3, { durable_seq: 30 }),
        entry("heartbeat", 4, { durable_seq: "60" as unknown as number }),
        entry("stop", 5, { durable_seq: 31 }),
      ]),
    );
    assertEquals((await RecoveryJournal.readPreviousRun(path)).maxDurableSeq, 50);
  });
});

Deno.test("RecoveryJournal.append() writes one JSON line per entry in a 0600 file", async () => {
  await withJournal(async (path) => {
    const journal = await RecoveryJournal.open(path);
    const written = [
      entry("start", 1, { durable_seq: 0 }),
      entry("heartbeat", 2, { durable_seq: 3 }),
    ];
    try {
      for (const e of written) await journal.append(e);
    } finally {
      journal.close();
    }
    assertEquals(await Deno.readTextFile(path), lines(written));
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const again = await RecoveryJournal.open(path);
    try {
      await again.append(entry("stop", 3, { durable_seq: 3 }));
    } finally {
      again.close();
    }
    const { entries, unreadableLines } = await readJournal(path);
    assertEquals(entries.map((e) => e.event), ["start", "heartbeat", "stop"]);
    assertEquals(unreadableLines, 0);
  });
});

// Regression (fixed; this was the bug): RecoveryJournal.open() appends right after a torn
// last line, so the first new entry is glued onto it and becomes unreadable too. When that entry
// is a `start` and the daemon dies before its first heartbeat, the next start reads the previous
// `stop` as the last lifecycle entry and calls an unclean stop clean.
Deno.test("RecoveryJournal.append() after a torn last line keeps the new entry readable", async () => {
  await withJournal(async (path) => {
    const torn = JSON.stringify(entry("session_archived", 3, { durable_seq: 8 })).slice(0, 30);
    await Deno.writeTextFile(path, lines([entry("start", 1), entry("stop", 2)]) + torn);
    const journal = await RecoveryJournal.open(path);
    const start = entry("start", 5, { durable_seq: 8 });
    try {
      await journal.append(start);
    } finally {
      journal.close();
    }
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.last, start, "the new start entry is readable");
    assertEquals(previous.unclean, true);
  });
});

/** Heartbeats enough to push the journal over the compaction threshold. */
function heartbeats(fromSeq: number, count: number): JournalEntry[] {
  const padding = "p".repeat(200);
  return Array.from(
    { length: count },
    (_, i) => entry("heartbeat", 10, { durable_seq: fromSeq + i, received: fromSeq + i, padding }),
  );
}

async function openAndClose(path: string): Promise<void> {
  const journal = await RecoveryJournal.open(path);
  journal.close();
}

Deno.test("RecoveryJournal.open() compacts a journal over 1 MiB and keeps the last heartbeat", async () => {
  await withJournal(async (path) => {
    const beats = heartbeats(1, 5000);
    const all = [entry("start", 1), entry("stop", 2), entry("start", 3), ...beats];
    await Deno.writeTextFile(path, lines(all));
    assert((await Deno.stat(path)).size > COMPACT_ABOVE_BYTES, "test journal is over 1 MiB");
    const before = await RecoveryJournal.readPreviousRun(path);
    await openAndClose(path);
    assert((await Deno.stat(path)).size < COMPACT_ABOVE_BYTES, "compacted below 1 MiB");
    const { entries } = await readJournal(path);
    assertEquals(entries, [entry("start", 1), entry("stop", 2), entry("start", 3), beats.at(-1)!]);
    assertEquals(await RecoveryJournal.readPreviousRun(path), before);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("RecoveryJournal.open() compaction keeps a final stop, so the run stays clean", async () => {
  await withJournal(async (path) => {
    const stop = entry("stop", 20, { durable_seq: 6000 });
    await Deno.writeTextFile(path, lines([entry("start", 1), ...heartbeats(1, 5000), stop]));
    const before = await RecoveryJournal.readPreviousRun(path);
    await openAndClose(path);
    const after = await RecoveryJournal.readPreviousRun(path);
    assertEquals(after, before);
    assertEquals(after.unclean, false);
    assertEquals(after.last, stop);
  });
});

Deno.test("RecoveryJournal.open() does not compact a journal of 1 MiB or less", async () => {
  await withJournal(async (path) => {
    const text = lines([entry("start", 1), ...heartbeats(1, 100)]);
    await Deno.writeTextFile(path, text);
    await openAndClose(path);
    assertEquals(await Deno.readTextFile(path), text);
  });
});

// Regression (fixed; this was the bug): compaction keeps a heartbeat only when it is the
// very last entry, so a heartbeat followed by a non-lifecycle entry (session_archived,
// recovered) is dropped and `last` falls back to the older start: the next gap record's `from`
// and `previous_pid` come from the wrong entry.
Deno.test("RecoveryJournal.open() compaction keeps the last lifecycle entry", async () => {
  await withJournal(async (path) => {
    const beats = heartbeats(1, 5000);
    await Deno.writeTextFile(
      path,
      lines([entry("start", 1), ...beats, entry("session_archived", 30, { durable_seq: 5000 })]),
    );
    const before = await RecoveryJournal.readPreviousRun(path);
    assertEquals(before.last, beats.at(-1));
    await openAndClose(path);
    const after = await RecoveryJournal.readPreviousRun(path);
    assertEquals(after.unclean, true);
    assertEquals(after.maxDurableSeq, before.maxDurableSeq);
    assertEquals(after.last, before.last, "the last heartbeat survives compaction");
  });
});

Deno.test("RecoveryJournal.readPreviousRun() reports the highest seq reserved for an import", async () => {
  await withJournal(async (path) => {
    await Deno.writeTextFile(
      path,
      lines([
        entry("start", 1, { durable_seq: 3 }),
        entry("seqs_reserved", 2, { reserved_seq: 1010, first_seq: 11 }),
        entry("heartbeat", 3, { durable_seq: 9 }),
      ]),
    );
    const previous = await RecoveryJournal.readPreviousRun(path);
    assertEquals(previous.maxReservedSeq, 1010);
    assertEquals(previous.maxDurableSeq, 9, "a reservation is not a durable record");
    assertEquals(previous.last?.event, "heartbeat");
  });
});
