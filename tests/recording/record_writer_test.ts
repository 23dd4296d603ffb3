import { RecordWriter, type RecordWriterOptions } from "../../src/recording/record_writer.ts";
import { framesDigest } from "../../src/recording/replay_marks.ts";
import { encodeRecordLine, type LogRecord } from "../../src/store/record.ts";
import { assert, assertEquals } from "../_assert.ts";
import { readRecords, tempDir } from "../_helpers.ts";

const encoder = new TextEncoder();
const SESSION_A = "20261125_100000_aaaa";
const SESSION_B = "20261125_110000_bbbb";
const RECEIVED_MS = Date.parse("2026-11-25T10:00:00.000Z");
const OPTIONS: RecordWriterOptions = { syncMode: "interval", syncMs: 2, logLevel: "warn" };

/** Runs `fn` with a writer on `<tmp>/current_session.jsonl`, terminated afterwards. */
async function withWriter(
  options: Partial<RecordWriterOptions>,
  fn: (writer: RecordWriter, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await tempDir("record_writer");
  const writer = await RecordWriter.open(`${dir.path}/current_session.jsonl`, {
    ...OPTIONS,
    ...options,
  });
  try {
    await fn(writer, dir.path);
  } finally {
    await writer.terminate();
    await dir.cleanup();
  }
}

function eventLine(seq: number, session: string): Uint8Array {
  return encodeRecordLine({
    v: 1,
    seq,
    type: "gap",
    session,
    received_at: new Date(RECEIVED_MS + seq).toISOString(),
    reason: "test",
  });
}

function chat(text: string): Uint8Array[] {
  return [encoder.encode("agent.claude"), encoder.encode(JSON.stringify({ from: "claude", text }))];
}

function summary(record: LogRecord): [number, string, string] {
  return [record.seq, record.type, record.session];
}

Deno.test("RecordWriter writes messages and event lines in seq order, each with its session", async () => {
  await withWriter({}, async (writer) => {
    writer.appendLine(eventLine(1, SESSION_A), 1);
    writer.appendMessage(chat("one"), 2, SESSION_A, RECEIVED_MS);
    writer.appendMessage(chat("two"), 3, SESSION_A, RECEIVED_MS + 1);
    writer.appendLine(eventLine(4, SESSION_B), 4);
    writer.appendMessage(chat("three"), 5, SESSION_B, RECEIVED_MS + 2); // session changes mid-batch
    writer.appendMessage(chat("four"), 6, SESSION_A, RECEIVED_MS + 3);
    await writer.flush();
    const records = await readRecords(writer.path);
    assertEquals(records.map(summary), [
      [1, "gap", SESSION_A],
      [2, "message", SESSION_A],
      [3, "message", SESSION_A],
      [4, "gap", SESSION_B],
      [5, "message", SESSION_B],
      [6, "message", SESSION_A],
    ]);
    const message = records[1]!;
    assertEquals(message.topic, "agent.claude");
    assertEquals(message.received_at, new Date(RECEIVED_MS).toISOString());
    assertEquals((message.meta as { sender: string }).sender, "claude");
  });
});

Deno.test("RecordWriter.flush() makes everything appended durable and reports size and seq", async () => {
  await withWriter({}, async (writer) => {
    assertEquals([writer.durableSeq, writer.sizeBytes], [0, 0]);
    for (let seq = 1; seq <= 50; seq++) {
      writer.appendMessage(chat(`message ${seq}`), seq, SESSION_A, RECEIVED_MS + seq);
    }
    await writer.flush();
    assertEquals(writer.durableSeq, 50);
    assertEquals(writer.pendingBytes, 0);
    const stat = await Deno.stat(writer.path);
    assertEquals(writer.sizeBytes, stat.size);
    assertEquals(writer.fileIdentity, { dev: stat.dev, ino: stat.ino });
    assertEquals(
      (await readRecords(writer.path)).map((r) => r.seq),
      [...Array(50)].map((_, i) => i + 1),
    );
    assertEquals(stat.mode! & 0o777, 0o600);
  });
});

Deno.test("RecordWriter.hasRoom is false while more than maxInFlightBytes wait for fsync", async () => {
  await withWriter({ maxInFlightBytes: 1000 }, async (writer) => {
    writer.appendMessage([encoder.encode("big"), new Uint8Array(600)], 1, SESSION_A, RECEIVED_MS);
    assert(writer.hasRoom, "600 bytes in flight is under the limit");
    writer.appendMessage([encoder.encode("big"), new Uint8Array(600)], 2, SESSION_A, RECEIVED_MS);
    assert(!writer.hasRoom, "1206 bytes in flight is over the limit");
    await writer.flush();
    assert(writer.hasRoom, "nothing in flight after flush");
  });
});

Deno.test("RecordWriter.closeFile() then openFile() goes on in another file", async () => {
  await withWriter({}, async (writer, dir) => {
    const first = writer.path;
    writer.appendMessage(chat("in the first file"), 1, SESSION_A, RECEIVED_MS);
    await writer.closeFile();
    assertEquals(writer.durableSeq, 1);
    const second = `${dir}/second.jsonl`;
    await writer.openFile(second);
    assertEquals([writer.path, writer.sizeBytes], [second, 0]);
    writer.appendMessage(chat("in the second file"), 2, SESSION_B, RECEIVED_MS);
    writer.appendLine(eventLine(3, SESSION_B), 3);
    await writer.flush();
    assertEquals((await readRecords(first)).map(summary), [[1, "message", SESSION_A]]);
    assertEquals((await readRecords(second)).map(summary), [
      [2, "message", SESSION_B],
      [3, "gap", SESSION_B],
    ]);
    // Reopening an existing file appends at its end.
    await writer.closeFile();
    await writer.openFile(first);
    assertEquals(writer.sizeBytes, (await Deno.stat(first)).size);
  });
});

Deno.test("RecordWriter writes frames over blobThresholdBytes as blob files beside the log", async () => {
  await withWriter({ blobThresholdBytes: 1024 }, async (writer, dir) => {
    const big = new Uint8Array(5000).map((_, i) => i & 0xff);
    writer.appendMessage([encoder.encode("big.bin"), big], 1, SESSION_A, RECEIVED_MS);
    await writer.flush();
    const [record] = await readRecords(writer.path);
    const frame = (record!.frames as unknown[])[1] as { blob: string; bytes: number };
    assertEquals(frame.bytes, 5000);
    assertEquals(await Deno.readFile(`${dir}/blobs/${frame.blob}`), big);
  });
});

Deno.test("RecordWriter keeps a message over maxMessageBytes as an oversized record", async () => {
  await withWriter({ maxMessageBytes: 100 }, async (writer) => {
    writer.appendMessage([encoder.encode("huge"), new Uint8Array(200)], 1, SESSION_A, RECEIVED_MS);
    writer.appendMessage(chat("small"), 2, SESSION_A, RECEIVED_MS);
    await writer.flush();
    const records = await readRecords(writer.path);
    assertEquals(records.map(summary), [[1, "oversized", SESSION_A], [2, "message", SESSION_A]]);
    assertEquals(records[0]!.bytes, 204);
  });
});

Deno.test("RecordWriter reports a failed writer thread and counts the messages never written", async () => {
  let fatal: ((message: string) => void) | undefined;
  const failed = new Promise<string>((resolve) => fatal = resolve);
  const dir = await tempDir("record_writer_fault");
  const writer = await RecordWriter.open(`${dir.path}/current_session.jsonl`, {
    ...OPTIONS,
    handoffMs: 60_000, // batches go over only on flush
    faultTopic: "boom",
    onFatal: (message) => fatal!(message),
  });
  try {
    writer.appendMessage(chat("kept"), 1, SESSION_A, RECEIVED_MS);
    await writer.flush();
    writer.appendMessage([encoder.encode("boom"), encoder.encode("x")], 2, SESSION_A, RECEIVED_MS);
    writer.appendMessage(chat("lost with it"), 3, SESSION_A, RECEIVED_MS);
    const flushed = writer.flush().then(() => "resolved", (error: Error) => error.message);
    const message = await failed;
    assert(message.startsWith("record writer thread failed:"), message);
    assert(message.includes("debug fault injected"), message);
    assertEquals(writer.failure, message);
    assertEquals(await flushed, message);
    writer.appendMessage(chat("after the failure"), 4, SESSION_A, RECEIVED_MS);
    assertEquals(await writer.terminate(), { unwrittenMessages: 3, unwrittenRecords: 3 });
    assertEquals((await readRecords(`${dir.path}/current_session.jsonl`)).map((r) => r.seq), [1]);
  } finally {
    await writer.terminate();
    await dir.cleanup();
  }
});

Deno.test("RecordWriter.expectReplays() marks the matching message that follows with meta.replay_of", async () => {
  await withWriter({}, async (writer, dir) => {
    const frames = [encoder.encode("agent.chat"), encoder.encode('{"content":"hi"}')];
    writer.appendMessage(frames, 1, SESSION_A, RECEIVED_MS);
    await writer.expectReplays([{ digest: framesDigest(frames), replay_of: 1 }], 60_000);
    writer.appendMessage(frames, 2, SESSION_A, RECEIVED_MS);
    writer.appendMessage(frames, 3, SESSION_A, RECEIVED_MS); // the mark is used up
    await writer.flush();
    const records = await readRecords(`${dir}/current_session.jsonl`);
    const replayOf = records.map((record: LogRecord) =>
      (record.meta as { replay_of?: number }).replay_of ?? null
    );
    assertEquals(replayOf, [null, 1, null]);
  });
});
