import { silentLogger } from "../../src/logger.ts";
import { MessageLog, type MessageLogOptions } from "../../src/store/message_log.ts";
import { encodeRecordLine } from "../../src/store/record.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from "../_helpers.ts";

const decoder = new TextDecoder();

function line(seq: number): Uint8Array {
  return encodeRecordLine({
    v: 1,
    seq,
    type: "message",
    session: "20261125_133107_959e",
    received_at: "2026-11-25T13:31:10.777Z",
    frames: ["agent.test", `message ${seq}`],
  });
}

function joined(seqs: number[]): string {
  return seqs.map((seq) => decoder.decode(line(seq))).join("");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shearwater_message_log_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Polls `condition` until it holds; fails after `timeoutMs` (a deadline, not a speed check). */
async function eventually(what: string, condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ALWAYS: MessageLogOptions = { syncMode: "always", syncMs: 5, logger: silentLogger };

Deno.test("MessageLog.flush() writes appended lines and raises durableSeq", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const durable: number[] = [];
    const log = await MessageLog.open(path, { ...ALWAYS, onDurable: (seq) => durable.push(seq) });
    try {
      log.append(line(1), 1);
      log.append(line(2), 2);
      log.append(line(5), 5);
      // Appending only queues: nothing is durable before a write, which needs an await.
      assertEquals(log.durableSeq, 0);
      assertEquals(log.pendingBytes, line(1).length + line(2).length + line(5).length);
      await log.flush();
      assertEquals(log.durableSeq, 5);
      assertEquals(durable, [5]);
      assertEquals(log.pendingBytes, 0);
      assertEquals(await Deno.readTextFile(path), joined([1, 2, 5]));
      assertEquals(log.sizeBytes, (await Deno.stat(path)).size);
      assertEquals(log.lastError, undefined);
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.flush() with nothing pending resolves and changes nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const log = await MessageLog.open(path, ALWAYS);
    try {
      await log.flush();
      assertEquals(log.durableSeq, 0);
      assertEquals(log.sizeBytes, 0);
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.append() in interval mode is written and fsynced without a flush() call", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const log = await MessageLog.open(path, {
      syncMode: "interval",
      syncMs: 5,
      logger: silentLogger,
    });
    try {
      log.append(line(1), 1);
      log.append(line(2), 2);
      await eventually("durableSeq to reach 2", () => log.durableSeq === 2);
      assertEquals(await Deno.readTextFile(path), joined([1, 2]));
      log.append(line(3), 3);
      await eventually("durableSeq to reach 3", () => log.durableSeq === 3);
      assertEquals(await Deno.readTextFile(path), joined([1, 2, 3]));
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.append() in always mode is written and fsynced without a flush() call", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const log = await MessageLog.open(path, { ...ALWAYS, syncMs: 60_000 });
    try {
      log.append(line(1), 1);
      await eventually("durableSeq to reach 1", () => log.durableSeq === 1, 20_000);
      assertEquals(await Deno.readTextFile(path), joined([1]));
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.append() in interval mode writes a full batch without waiting for syncMs", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    // syncMs far beyond the deadline below: only the batch size can trigger this write.
    const log = await MessageLog.open(path, {
      syncMode: "interval",
      syncMs: 60_000,
      maxBatchBytes: 1,
      logger: silentLogger,
    });
    try {
      log.append(line(1), 1);
      await eventually("the full batch to be written", () => log.durableSeq === 1, 20_000);
      assertEquals(await Deno.readTextFile(path), joined([1]));
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.append() on an idle log writes at once, the caller's synchronous appends in one write; the next waits for syncMs", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const durableSeqs: number[] = [];
    // syncMs far beyond the deadline below: only an idle log's immediate write can make the
    // first lines durable in time.
    const log = await MessageLog.open(path, {
      syncMode: "interval",
      syncMs: 60_000,
      logger: silentLogger,
      onDurable: (seq) => durableSeqs.push(seq),
    });
    try {
      log.append(line(1), 1);
      log.append(line(2), 2);
      log.append(line(3), 3);
      await eventually("the idle log's first write", () => log.durableSeq === 3, 20_000);
      assertEquals(durableSeqs, [3], "three synchronous appends, one write and fsync");
      log.append(line(4), 4);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assertEquals(log.durableSeq, 3, "a write started within syncMs: the next one waits");
      await log.flush();
      assertEquals(await Deno.readTextFile(path), joined([1, 2, 3, 4]));
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.flush() keeps order across many appends interleaved with flushes", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const durable: number[] = [];
    const log = await MessageLog.open(path, {
      syncMode: "interval",
      syncMs: 1,
      maxBatchBytes: 4096,
      onDurable: (seq) => durable.push(seq),
      logger: silentLogger,
    });
    const seqs: number[] = [];
    const flushes: Promise<void>[] = [];
    try {
      for (let seq = 1; seq <= 500; seq++) {
        log.append(line(seq), seq);
        seqs.push(seq);
        if (seq % 37 === 0) flushes.push(log.flush());
        if (seq % 101 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await Promise.all(flushes);
      await log.flush();
      assertEquals(log.durableSeq, 500);
      assertEquals(await Deno.readTextFile(path), joined(seqs));
      for (let i = 1; i < durable.length; i++) {
        assert(durable[i]! > durable[i - 1]!, `durableSeq only rises: ${durable.join(",")}`);
      }
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.append() throws when seq does not increase", async () => {
  await withTempDir(async (dir) => {
    const log = await MessageLog.open(`${dir}/current_session.jsonl`, ALWAYS);
    try {
      log.append(line(5), 5);
      assertThrows(() => log.append(line(5), 5), Error, "seq 5 not above 5");
      assertThrows(() => log.append(line(4), 4), Error, "seq 4 not above 5");
      await log.flush();
      // Still enforced once the earlier lines are written.
      assertThrows(() => log.append(line(3), 3), Error, "not above 5");
      assertThrows(() => log.append(line(0), 0), Error, "not above 5");
      log.append(line(6), 6);
      await log.flush();
      assertEquals(log.durableSeq, 6);
      assertEquals(await Deno.readTextFile(`${dir}/current_session.jsonl`), joined([5, 6]));
    } finally {
      await log.close();
    }
  });
});

Deno.test("MessageLog.open() appends after what the file already holds", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const first = await MessageLog.open(path, ALWAYS);
    first.append(line(1), 1);
    first.append(line(2), 2);
    await first.close();
    const second = await MessageLog.open(path, ALWAYS);
    try {
      assertEquals(second.sizeBytes, line(1).length + line(2).length);
      second.append(line(3), 3);
      await second.flush();
      assertEquals(await Deno.readTextFile(path), joined([1, 2, 3]));
      assertEquals(second.sizeBytes, (await Deno.stat(path)).size);
    } finally {
      await second.close();
    }
  });
});

Deno.test("MessageLog.close() flushes pending lines, then append() throws", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const log = await MessageLog.open(path, {
      syncMode: "interval",
      syncMs: 60_000,
      logger: silentLogger,
    });
    log.append(line(1), 1);
    log.append(line(2), 2);
    await log.close();
    assertEquals(log.durableSeq, 2);
    assertEquals(await Deno.readTextFile(path), joined([1, 2]));
    assertThrows(() => log.append(line(3), 3), Error, "after close");
  });
});

Deno.test("MessageLog.open() creates the log with mode 0600", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/current_session.jsonl`;
    const log = await MessageLog.open(path, ALWAYS);
    await log.close();
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("MessageLog.open() fails on a path in a missing folder", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => MessageLog.open(`${dir}/missing/current_session.jsonl`, ALWAYS),
      Deno.errors.NotFound,
    );
  });
});

const TMPFS_OK = await canMountTmpfs();

Deno.test({
  name:
    "MessageLog.giveUpAfter() on a full disk writes what fits, whole lines, and counts the rest",
  ignore: !TMPFS_OK, // mounting a tmpfs needs root
  async fn() {
    const tmpfs = (await mountSmallTmpfs(1))!;
    try {
      const path = `${tmpfs.path}/current_session.jsonl`;
      const log = await MessageLog.open(path, ALWAYS);
      log.append(line(1), 1, 1);
      await log.flush();
      await fillDisk(tmpfs.path);
      for (let seq = 2; seq <= 200; seq++) log.append(line(seq), seq, seq % 2);
      const flushing = log.flush(); // retries the full disk until it gives up
      await eventually("a write error", () => log.lastError !== undefined);
      log.giveUpAfter(0);
      await flushing;
      const report = await log.close();
      const text = decoder.decode(await Deno.readFile(path));
      assert(text.endsWith("\n"), "no torn line");
      const written = text.split("\n").length - 1;
      assert(report.records > 0, "the full disk left lines unwritten");
      assertEquals(written + report.records, 200);
      assertEquals(report.firstSeq, written + 1);
      let messages = 0;
      for (let seq = written + 1; seq <= 200; seq++) messages += seq % 2;
      assertEquals(report.messages, messages);
      assertEquals(log.durableSeq, written);
    } finally {
      await tmpfs.cleanup();
    }
  },
});
