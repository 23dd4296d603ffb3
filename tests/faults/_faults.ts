/**
 * The faults the suite inflicts that take more than a line: malformed input on the bus, damage
 * to the log, the index and the checkpoints.
 */
import { assert, assertEquals } from "../_assert.ts";
import { connectPublisher, runCli, warmUp } from "../_helpers.ts";
import type { Prng } from "../prng.ts";
import type { LogRecord } from "../../src/store/record.ts";
import { envelopeOf, readDataDirLogs } from "./_invariants.ts";
import type { FaultRig } from "./_rig.ts";

/** A deep JSON array, `[[[…]]]`, `depth` levels. */
function deepJson(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** The malformed messages: what is sent, and a name to report. */
function malformedMessages(prng: Prng): { what: string; frames: (string | Uint8Array)[] }[] {
  const big = new Uint8Array(64 * 1024 * 1024);
  big.set(prng.bytes(4096));
  big.fill(0x61, 4096);
  const manyFrames = Array.from({ length: 1000 }, (_, i) => `frame ${i}`);
  return [
    { what: "invalid UTF-8", frames: ["malformed.utf8", new Uint8Array([0xff, 0xfe, 0xc3, 0x28])] },
    { what: "invalid UTF-8 topic", frames: [new Uint8Array([0xc3, 0x28, 0x80]), "{}"] },
    { what: "one empty frame", frames: [""] },
    { what: "two empty frames", frames: [new Uint8Array(0), new Uint8Array(0)] },
    { what: "empty payload", frames: ["malformed.empty", ""] },
    { what: "a 64 MB frame", frames: ["malformed.big", big] },
    { what: "1,000 frames", frames: ["malformed.frames", ...manyFrames.slice(1)] },
    { what: "JSON nested 100,000 deep", frames: ["malformed.deep", deepJson(100_000)] },
    {
      what: "JSON nested 100,000 deep with an envelope",
      frames: [
        "malformed.deep",
        `{"_shearwater":{"pub":"deep/000000","seq":1},"x":${deepJson(100_000)}}`,
      ],
    },
    {
      what: "an envelope nested 100,000 deep",
      frames: ["malformed.deep", `${'{"_shearwater":'.repeat(100_000)}1${"}".repeat(100_000)}`],
    },
    {
      what: "a lone surrogate, UTF-8 encoded",
      frames: ["malformed.surrogate", new Uint8Array([0xed, 0xa0, 0x80])],
    },
    {
      what: "a lone surrogate, JSON escaped",
      frames: ["malformed.surrogate", '{"text":"\\ud800 lone","from":"\\udc00"}'],
    },
    { what: "a lone surrogate in the topic", frames: [new Uint8Array([0xed, 0xb0, 0x80]), "{}"] },
    { what: "NUL bytes", frames: ["malformed.nul\0topic", 'a\0b\0{"text":"\0"}'] },
    { what: "a 10,000-character topic", frames: ["t".repeat(10_000), '{"text":"long topic"}'] },
    { what: "a 10,000-character single frame", frames: [`${"u".repeat(10_000)} {"text":"x"}`] },
    {
      what: "envelope seq as text",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":"bad/000001","seq":"1"}}'],
    },
    {
      what: "envelope seq 0",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":"bad/000002","seq":0}}'],
    },
    {
      what: "envelope seq negative",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":"bad/000003","seq":-5}}'],
    },
    {
      what: "envelope seq fractional",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":"bad/000004","seq":1.5}}'],
    },
    {
      what: "envelope seq 1e300",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":"bad/000005","seq":1e300}}'],
    },
    {
      what: "envelope seq 2^53+2",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":"bad/000006","seq":9007199254740994}}'],
    },
    {
      what: "envelope pub a number",
      frames: ["malformed.envelope", '{"_shearwater":{"pub":5,"seq":1}}'],
    },
    { what: "envelope null", frames: ["malformed.envelope", '{"_shearwater":null}'] },
    { what: "envelope a string", frames: ["malformed.envelope", '{"_shearwater":"x"}'] },
    {
      what: "envelope pub of 10,000 characters",
      frames: ["malformed.envelope", `{"_shearwater":{"pub":"${"p".repeat(10_000)}","seq":1}}`],
    },
    {
      what: "envelope twice in one object",
      frames: [
        "malformed.envelope",
        '{"_shearwater":{"pub":"bad/000007","seq":1},"_shearwater":{"pub":"bad/000007","seq":2}}',
      ],
    },
    {
      what: "envelope in the topic frame only",
      frames: ['{"_shearwater":{"pub":"bad/000008","seq":1}}'],
    },
    {
      what: "an envelope",
      frames: ["malformed.duplicate", '{"_shearwater":{"pub":"dup/000000","seq":1}}'],
    },
    {
      what: "the same envelope again (a duplicate: not stored twice)",
      frames: ["malformed.duplicate", '{"_shearwater":{"pub":"dup/000000","seq":1}}'],
    },
    {
      what: "presence with nonsense",
      frames: [
        "shearwater.presence",
        '{"type":"hello","pub":"ghost/000000","resend":"tcp://127.0.0.1:1","last_seq":1e9}',
      ],
    },
    { what: "presence not JSON", frames: ["shearwater.presence", "\u0000\u00ff"] },
  ];
}

/** Topics (first frames) of the suite's own traffic, which the malformed count leaves out. */
function isSuiteTraffic(record: LogRecord): boolean {
  const topic = record.topic;
  return typeof topic === "string" && (topic.startsWith("stream.") || topic === "warmup");
}

/**
 * Publishes every malformed message once, after a warm-up; returns checks to run once the
 * daemon has settled: each message is on disk (the 64 MB frame as a blob, the 1,000 frames
 * all there, the long topic whole).
 */
export async function sendMalformedInput(
  rig: FaultRig,
  prng: Prng,
): Promise<{ checks: (() => Promise<void>)[] }> {
  const publisher = connectPublisher(rig.endpoints.frontend);
  const messages = malformedMessages(prng);
  try {
    await warmUp(publisher, rig.dataDir);
    for (const message of messages) await publisher.send(message.frames);
  } finally {
    publisher.close();
  }
  const check = async () => {
    const records = (await readDataDirLogs(rig.dataDir)).flatMap((file) => file.records)
      .filter((record) =>
        (record.type === "message" || record.type === "oversized") &&
        !isSuiteTraffic(record)
      );
    // The stream publishers' own presence announcements are not part of the malformed input.
    const ours = records.filter((record) =>
      !(record.topic === "shearwater.presence" &&
        String((record.frames as unknown[])[1]).includes('"pub":"stream')) &&
      !(record.topic === "shearwater.presence" &&
        String((record.frames as unknown[])[1]).includes('"pub":"burst'))
    );
    assertEquals(
      ours.length,
      messages.length - 1,
      "every malformed message is recorded once (the duplicate envelope is not stored again)",
    );
    const big = ours.find((record) => record.topic === "malformed.big");
    const bigFrame = (big?.frames as { blob?: string; bytes?: number }[] | undefined)?.[1];
    assertEquals(bigFrame?.bytes, 64 * 1024 * 1024, "the 64 MB frame is stored as a blob");
    const many = ours.find((record) => record.topic === "malformed.frames");
    assertEquals((many?.frames as unknown[] | undefined)?.length, 1000, "1,000 frames kept");
    // The record's `topic` is capped (256 characters); the frame itself is kept whole.
    const long = ours.find((record) => (record.frames as unknown[])[0] === "t".repeat(10_000));
    assert(long !== undefined, "the 10,000-character topic frame is kept whole");
    for (const what of ["malformed.utf8", "malformed.empty", "malformed.surrogate"]) {
      assert(ours.some((record) => record.topic === what), `a ${what} message is recorded`);
    }
    assertEquals(
      ours.filter((record) => record.topic === "malformed.duplicate").length,
      1,
      "a duplicate (pub, seq) is stored once",
    );
    assertEquals(
      ours.filter((record) => record.topic === "malformed.deep").length,
      3,
      "the deep JSON messages are recorded",
    );
  };
  return { checks: [check] };
}

/**
 * Flips bytes inside one stream message's line in the middle of the current log (the daemon
 * must be stopped); returns that message's envelope, which is now unreadable.
 */
export async function flipBytesMidLog(
  dataDir: string,
  prng: Prng,
): Promise<{ pub: string; seq: number }[]> {
  const path = `${dataDir}/current_session.jsonl`;
  const bytes = await Deno.readFile(path);
  const lineStarts = [0];
  for (
    let i = bytes.indexOf(0x0a);
    i !== -1 && i < bytes.length - 1;
    i = bytes.indexOf(0x0a, i + 1)
  ) {
    lineStarts.push(i + 1);
  }
  const decoder = new TextDecoder();
  const middle = Math.floor(lineStarts.length / 2);
  for (let offset = 0; offset < lineStarts.length / 2; offset++) {
    const start = lineStarts[middle + offset]!;
    const end = bytes.indexOf(0x0a, start);
    const line = decoder.decode(bytes.subarray(start, end));
    if (!line.includes('"stream.')) continue;
    const record = JSON.parse(line) as LogRecord;
    const envelope = envelopeOf(record);
    if (envelope === undefined) continue;
    // Inside the line's text, away from its ends, so the line stays one line.
    const at = start + prng.int(10, end - start - 20);
    bytes[at] = bytes[at]! === 0x41 ? 0x42 : 0x41;
    await Deno.writeFile(path, bytes);
    return [envelope];
  }
  throw new Error("no stream message in the middle of the log to damage");
}

/** Cuts `index.db` to a random length below its size (the daemon must be stopped). */
export async function truncateIndex(dataDir: string, prng: Prng): Promise<void> {
  const path = `${dataDir}/metadata_index/index.db`;
  const size = (await Deno.stat(path)).size;
  await Deno.truncate(path, prng.int(0, Math.max(0, size - 1)));
}

/** `checkpoint create --json` on the rig's data dir; returns the manifest. */
async function createCheckpoint(
  rig: FaultRig,
  label: string,
): Promise<{ id: string; segments: { sha256: string; zstd_bytes?: number }[] }> {
  const run = await runCli([
    "checkpoint",
    "create",
    "--data-dir",
    rig.dataDir,
    "--label",
    label,
    "--json",
  ]);
  assertEquals(run.code, 0, `checkpoint create: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** `checkpoint verify --json`: which checkpoints are damaged. */
async function verifyCheckpoints(rig: FaultRig): Promise<{ code: number; damaged: string[] }> {
  const run = await runCli(["checkpoint", "verify", "--data-dir", rig.dataDir, "--json"]);
  const report = JSON.parse(run.stdout) as { results: { id: string; ok: boolean }[] };
  return { code: run.code, damaged: report.results.filter((r) => !r.ok).map((r) => r.id) };
}

/**
 * Three checkpoints while the streams publish; damages the first one's manifest, deletes a
 * segment only the later ones use and the third one's manifest; then checks the damage is
 * reported, the rest keeps working, and the next create heals the missing segment.
 */
export async function corruptCheckpoints(rig: FaultRig, prng: Prng): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(prng.int(500, 1200));
  const first = await createCheckpoint(rig, "first");
  await sleep(prng.int(300, 800));
  const second = await createCheckpoint(rig, "second");
  await sleep(prng.int(300, 800));
  const third = await createCheckpoint(rig, "third");
  const dir = `${rig.dataDir}/checkpoints`;

  const manifestPath = `${dir}/checkpoint_${first.id}.json`;
  const manifest = await Deno.readFile(manifestPath);
  const at = prng.int(Math.floor(manifest.length / 4), Math.floor(manifest.length * 3 / 4));
  manifest[at] = manifest[at]! ^ 0x04;
  await Deno.writeFile(manifestPath, manifest);

  const firstSegments = new Set(first.segments.map((segment) => segment.sha256));
  const own = second.segments.filter((segment) => !firstSegments.has(segment.sha256));
  assert(own.length > 0, "the second checkpoint has segments of its own");
  const segment = prng.pick(own);
  await Deno.remove(
    `${dir}/segments/${segment.sha256}.jsonl${segment.zstd_bytes !== undefined ? ".zst" : ""}`,
  );
  await Deno.remove(`${dir}/checkpoint_${third.id}.json`);

  const damaged = await verifyCheckpoints(rig);
  assert(damaged.code !== 0, "checkpoint verify fails on the damage");
  assert(
    damaged.damaged.includes(first.id),
    `the damaged manifest is reported: ${damaged.damaged}`,
  );
  assert(
    damaged.damaged.includes(second.id),
    `the missing segment is reported: ${damaged.damaged}`,
  );
  const list = await runCli(["checkpoint", "list", "--data-dir", rig.dataDir]);
  assertEquals(list.code, 0, `checkpoint list works beside the damage: ${list.stderr}`);
  assert(!list.stdout.includes(third.id), "a deleted manifest is a deleted checkpoint");

  await createCheckpoint(rig, "after the damage");
  const healed = await verifyCheckpoints(rig);
  assert(
    !healed.damaged.includes(second.id),
    `the next create healed the segment: ${healed.damaged}`,
  );
  assert(healed.damaged.includes(first.id), "the damaged manifest stays reported");
}
