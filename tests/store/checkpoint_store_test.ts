import { zstdDecompressSync } from "node:zlib";
import { messageRecord } from "../../src/enrich/mod.ts";
import { PersistError } from "../../src/errors.ts";
import {
  type CheckpointManifest,
  CheckpointStore,
  SEGMENT_RECORDS,
  type SegmentRef,
  sha256Hex,
} from "../../src/store/checkpoint_store.ts";
import { fileTimestamp } from "../../src/store/data_dir.ts";
import { checkRecordLine, encodeRecordLine, type RecordBody } from "../../src/store/record.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { mulberry32, type Prng, testSeed } from "../prng.ts";
import { canMountTmpfs, mountSmallTmpfs } from "../_helpers.ts";
import { concatBytes } from "../../src/store/bytes.ts";

const encoder = new TextEncoder();
const SESSION = "20261125_133107_959e";
const OTHER_SESSION = "20261125_140000_beef";
const START_MS = Date.parse("2026-11-25T13:31:07.000Z");
const NOW = new Date("2026-11-25T14:00:00.123Z");

// ---------------------------------------------------------------------------------------------
// Fixtures: logs written the way the daemon writes them.

function startLine(seq: number, session = SESSION): Uint8Array {
  return encodeRecordLine({
    v: 1,
    seq,
    type: "session_start",
    session,
    received_at: new Date(START_MS + seq).toISOString(),
    reason: "daemon start",
  });
}

function chatBody(seq: number, text: string, options: { session?: string; from?: string } = {}) {
  const from = options.from ?? ["claude", "gemini", "codex"][seq % 3]!;
  const payload = JSON.stringify({ from, to: "all", type: "chat", content: text });
  return messageRecord([encoder.encode(`agent.${from}`), encoder.encode(payload)], {
    seq,
    session: options.session ?? SESSION,
    receivedAt: new Date(START_MS + seq),
  });
}

function chatLine(seq: number, text: string, options: { session?: string; from?: string } = {}) {
  return encodeRecordLine(chatBody(seq, text, options));
}

/** `session_start` at `firstSeq`, then `messages` chat lines (random lengths when given a PRNG). */
function sessionLines(
  messages: number,
  options: { session?: string; firstSeq?: number; random?: Prng } = {},
): Uint8Array[] {
  const firstSeq = options.firstSeq ?? 1;
  const lines = [startLine(firstSeq, options.session)];
  for (let i = 1; i <= messages; i++) {
    const filler = options.random ? "x".repeat(options.random.int(0, 120)) : "";
    lines.push(chatLine(firstSeq + i, `message ${i} ${filler}`, { session: options.session }));
  }
  return lines;
}

async function withStore(
  fn: (context: { root: string; store: CheckpointStore; logPath: string }) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "shearwater_checkpoint_store_" });
  try {
    await fn({
      root,
      store: new CheckpointStore(`${root}/checkpoints`),
      logPath: `${root}/current_session.jsonl`,
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function writeLog(path: string, lines: readonly Uint8Array[]): Promise<Uint8Array> {
  const bytes = concatBytes(lines);
  await Deno.writeFile(path, bytes);
  return bytes;
}

function createOf(logPath: string, endOffset: number, extra: { now?: Date } = {}) {
  return {
    logPath,
    endOffset,
    trigger: "manual" as const,
    label: null,
    parentCheckpoint: null,
    ...extra,
  };
}

async function readBack(store: CheckpointStore, manifest: CheckpointManifest) {
  const lines: Uint8Array[] = [];
  for await (const line of store.lines(manifest)) lines.push(line.slice());
  return concatBytes(lines);
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function fileNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

async function okManifests(store: CheckpointStore): Promise<CheckpointManifest[]> {
  return (await store.list()).map((entry) => {
    assert(entry.ok, `checkpoint ${entry.id} is listed as damaged: ${!entry.ok && entry.reason}`);
    return entry.manifest;
  });
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[offset] = bytes[offset]! ^ 0x01;
  await Deno.writeFile(path, bytes);
}

/** Bytes of a segment's file: compressed size when compressed. */
function storedSize(segment: SegmentRef): number {
  return segment.zstd_bytes ?? segment.bytes;
}

/** The file of segment `sha`: compressed (`.jsonl.zst`) as written now, or an older plain one. */
function segmentFile(store: CheckpointStore, sha: string): string {
  const compressed = `${store.segmentsDir}/${sha}.jsonl.zst`;
  try {
    Deno.statSync(compressed);
    return compressed;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return `${store.segmentsDir}/${sha}.jsonl`;
  }
}

// ---------------------------------------------------------------------------------------------
// create() and lines()

Deno.test("create() then lines() gives back the log's lines byte for byte", async () => {
  await withStore(async ({ store, logPath }) => {
    const random = mulberry32(testSeed("create() then lines() round trip"));
    const lines = sessionLines(2 * SEGMENT_RECORDS + 300, { random });
    const log = await writeLog(logPath, lines);
    const manifest = await store.create(createOf(logPath, log.length));
    assertEquals(await readBack(store, manifest), log);
    assertEquals(manifest.segments.map((s) => s.records), [SEGMENT_RECORDS, SEGMENT_RECORDS, 301]);
    assertEquals(manifest.bytes, log.length);
    assertEquals(manifest.segments.reduce((sum, s) => sum + s.bytes, 0), log.length);
    let lineCount = 0;
    for await (const line of store.lines(manifest)) {
      assertEquals(line, lines[lineCount], `line ${lineCount} differs`);
      lineCount++;
    }
    assertEquals(lineCount, lines.length);
    assertEquals(await store.verify(manifest), []);
  });
});

Deno.test("create() fills the manifest from the records it copied", async () => {
  await withStore(async ({ store, logPath }) => {
    const long = "A long closing remark that goes well past the sixty characters of a title.";
    const bodies: RecordBody[] = [
      chatBody(8, "hi there", { from: "gemini" }),
      chatBody(9, "reply", { from: "claude" }),
      messageRecord([encoder.encode("bin.blob"), new Uint8Array([0, 255, 1])], {
        seq: 10,
        session: SESSION,
        receivedAt: new Date(START_MS),
      }),
      messageRecord([new Uint8Array([0xc3, 0x28]), encoder.encode("binary topic")], {
        seq: 11,
        session: SESSION,
        receivedAt: new Date(START_MS),
      }),
      {
        v: 1,
        seq: 12,
        type: "gap",
        session: SESSION,
        received_at: new Date(START_MS).toISOString(),
        from: "a",
        to: "b",
        reason: "test",
      },
      chatBody(13, long, { from: "codex" }),
    ];
    const log = await writeLog(logPath, [startLine(7), ...bodies.map(encodeRecordLine)]);
    const manifest = await store.create({
      logPath,
      endOffset: log.length,
      trigger: "auto",
      label: "before the refactor",
      parentCheckpoint: "20261124_090000",
      now: NOW,
    });
    const payloadBytes = bodies.filter((b) => b.type === "message")
      .reduce((sum, b) => sum + (b.meta as { bytes: number }).bytes, 0);
    const { checksum, segments, ...fields } = manifest;
    assertEquals(fields, {
      v: 1,
      id: fileTimestamp(NOW),
      label: "before the refactor",
      created_at: NOW.toISOString(),
      trigger: "auto",
      session: SESSION,
      first_seq: 7,
      last_seq: 13,
      message_count: 5,
      record_count: 7,
      bytes: log.length,
      payload_bytes: payloadBytes,
      agents: ["claude", "codex", "gemini"],
      topics: ["agent.claude", "agent.codex", "agent.gemini", "bin.blob"],
      title: long.slice(0, 59) + "…",
      parent: { session: SESSION, checkpoint: "20261124_090000" },
      omitted: [],
    });
    assertEquals(segments.length, 1);
    assertEquals(segments[0]!.records, 7);
    const { checksum: _, ...body } = manifest;
    assertEquals(checksum, await sha256(JSON.stringify(body)));
    const file = `${store.dir}/checkpoint_${manifest.id}.json`;
    assertEquals(JSON.parse(await Deno.readTextFile(file)), manifest);
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(segmentFile(store, segments[0]!.sha256))).mode! & 0o777, 0o600);
    const entry = await store.get(manifest.id);
    assert(entry.ok);
    assertEquals(entry.manifest, manifest);
  });
});

Deno.test("create() titles a checkpoint without previews by its message count", async () => {
  await withStore(async ({ store, logPath }) => {
    const binary = messageRecord([encoder.encode("bin"), new Uint8Array([0xff])], {
      seq: 2,
      session: SESSION,
      receivedAt: new Date(START_MS),
    });
    const log = await writeLog(logPath, [startLine(1), encodeRecordLine(binary)]);
    const manifest = await store.create(createOf(logPath, log.length));
    assertEquals(manifest.title, "1 messages");
    assertEquals(manifest.agents, []);
  });
});

Deno.test("create() stops at the last whole line before endOffset", async () => {
  await withStore(async ({ store, logPath }) => {
    const random = mulberry32(testSeed("create() endOffset"));
    const lines = sessionLines(SEGMENT_RECORDS + 100, { random });
    const log = await writeLog(logPath, lines);
    const ends: number[] = [];
    for (let at = 0; at < lines.length; at++) ends.push((ends.at(-1) ?? 0) + lines[at]!.length);
    const picks = [1, 2, SEGMENT_RECORDS, SEGMENT_RECORDS + 1, random.int(3, lines.length - 1)];
    for (const [round, wholeLines] of picks.entries()) {
      const boundary = ends[wholeLines - 1]!;
      const nextEnd = ends[wholeLines] ?? log.length;
      const cases = [boundary, boundary + 1, random.int(boundary, nextEnd - 1)];
      for (const [n, endOffset] of cases.entries()) {
        const manifest = await store.create(
          createOf(logPath, endOffset, { now: new Date(NOW.getTime() + 1000 * (round * 3 + n)) }),
        );
        assertEquals(manifest.record_count, wholeLines, `endOffset ${endOffset}`);
        assertEquals(manifest.bytes, boundary);
        assertEquals(await readBack(store, manifest), log.subarray(0, boundary));
      }
    }
  });
});

Deno.test("create() leaves out a line that fails its checksum", async () => {
  await withStore(async ({ store, logPath }) => {
    const lines = sessionLines(20);
    const damaged = lines[5]!.slice();
    damaged[40] = damaged[40]! ^ 0x04;
    assert(!checkRecordLine(damaged).ok);
    const log = await writeLog(logPath, [...lines.slice(0, 5), damaged, ...lines.slice(6)]);
    const manifest = await store.create(createOf(logPath, log.length));
    assertEquals(manifest.record_count, 20);
    assertEquals(manifest.message_count, 19);
    assertEquals(manifest.bytes, log.length - damaged.length);
    assertEquals(
      await readBack(store, manifest),
      concatBytes([...lines.slice(0, 5), ...lines.slice(6)]),
    );
  });
});

Deno.test("create() names the lines it left out in the manifest, and so does the next one", async () => {
  await withStore(async ({ store, logPath }) => {
    const lines = sessionLines(SEGMENT_RECORDS + 20);
    const damaged = lines[5]!.slice();
    damaged[60] = damaged[60]! ^ 0x04; // inside the frames: the seq still reads
    assert(!checkRecordLine(damaged).ok);
    const first = concatBytes([...lines.slice(0, 5), damaged, ...lines.slice(6, 100)]);
    await Deno.writeFile(logPath, first);
    const reason = checkRecordLine(damaged);
    assert(!reason.ok && reason.reason.startsWith("checksum mismatch"));
    const expected = {
      offset: concatBytes(lines.slice(0, 5)).length,
      bytes: damaged.length,
      reason: reason.reason,
      seq: 6,
      after_seq: 5,
      before_seq: 7,
    };
    const manifest = await store.create(createOf(logPath, first.length, { now: NOW }));
    assertEquals(manifest.omitted, [expected]);
    assertEquals(manifest.message_count, 98);

    // The log grows: the next checkpoint reuses the segments around the damaged line and
    // still says the line is missing.
    await Deno.writeFile(logPath, concatBytes(lines.slice(100)), { append: true });
    const size = (await Deno.stat(logPath)).size;
    const next = await store.create(createOf(logPath, size, { now: new Date(NOW.getTime() + 1) }));
    assertEquals(next.omitted, [expected]);
    assertEquals(next.record_count, lines.length - 1);
    assertEquals(next.segments.slice(0, manifest.segments.length), manifest.segments);
    assertEquals(await store.verify(next), []);
  });
});

Deno.test("create() of an empty, missing or torn-only log throws PersistError", async () => {
  await withStore(async ({ store, logPath }) => {
    const error = await assertRejects(
      () => store.create(createOf(logPath, 0)),
      PersistError,
      "no records yet",
    );
    assertEquals(error.code, "checkpoint_empty");
    await Deno.writeFile(logPath, new Uint8Array(0));
    await assertRejects(() => store.create(createOf(logPath, 0)), PersistError);
    const torn = startLine(1).subarray(0, 50);
    await Deno.writeFile(logPath, torn);
    await assertRejects(() => store.create(createOf(logPath, torn.length)), PersistError);
    const whole = await writeLog(logPath, sessionLines(3));
    await assertRejects(() => store.create(createOf(logPath, 10)), PersistError);
    assertEquals(await store.list(), []);
    assertEquals(await fileNames(store.segmentsDir), []);
    assertEquals((await store.create(createOf(logPath, whole.length))).record_count, 4);
  });
});

// ---------------------------------------------------------------------------------------------
// Sharing segments across the checkpoints of a growing session

Deno.test("create() stores each line once: 30 checkpoints of a growing session use less disk than its log", async () => {
  await withStore(async ({ store, logPath }) => {
    const random = mulberry32(testSeed("create() growth"));
    const checkpoints = 30;
    const file = await Deno.open(logPath, { write: true, create: true, append: true });
    const manifests: CheckpointManifest[] = [];
    let seq = 1;
    let size = 0;
    try {
      for (let n = 0; n < checkpoints; n++) {
        const batch = seq === 1 ? [startLine(seq++)] : [];
        // About one automatic checkpoint per 1,000 messages, as the daemon's default.
        for (let i = random.int(600, 1400); i > 0; i--) {
          batch.push(chatLine(seq++, `turn ${seq} ${"y".repeat(random.int(0, 80))}`));
        }
        const bytes = concatBytes(batch);
        await file.write(bytes);
        size += bytes.length;
        manifests.push(
          await store.create(createOf(logPath, size, { now: new Date(NOW.getTime() + n * 1000) })),
        );
      }
    } finally {
      file.close();
    }
    const final = manifests.at(-1)!;
    assertEquals(final.record_count, seq - 1);
    assertEquals(await readBack(store, final), await Deno.readFile(logPath));
    assert(final.record_count >= 5 * SEGMENT_RECORDS, "grow the log past a few full segments");

    // Disk: the segments hold every line exactly once, so they take the log's size; the
    // manifests add a little. (Before: each checkpoint kept its own partial tail segment, and
    // 50 automatic checkpoints took 178 MB for a 131 MB log.)
    const segmentNames = await fileNames(store.segmentsDir);
    let segmentBytes = 0;
    for (const name of segmentNames) {
      segmentBytes += (await Deno.stat(`${store.segmentsDir}/${name}`)).size;
    }
    const diskBytes = await store.diskBytes();
    const fullCopies = manifests.reduce((sum, manifest) => sum + manifest.bytes, 0);
    console.log(
      `growth: ${final.record_count} records, ${checkpoints} checkpoints, log ${size} bytes, ` +
        `segments ${segmentBytes} bytes, all files ${diskBytes} bytes ` +
        `(${(100 * diskBytes / fullCopies).toFixed(1)}% of full copies)`,
    );
    // Compressed, each line once: well below the log (before: 1.36 x the log in a stress test).
    assert(segmentBytes < 0.5 * size, `segments take ${segmentBytes} bytes for a ${size}-byte log`);
    assert(diskBytes < 0.5 * size, `${diskBytes} bytes on disk for a ${size}-byte log`);
    // Each checkpoint's segments are the start of the next one's: the tail of one checkpoint is
    // reused by the next, never copied again.
    for (let n = 1; n < manifests.length; n++) {
      const earlier = manifests[n - 1]!.segments.map((segment) => segment.sha256);
      const later = manifests[n]!.segments.map((segment) => segment.sha256);
      assertEquals(later.slice(0, earlier.length), earlier, `checkpoint ${n}`);
    }
    // Cuts fall on every SEGMENT_RECORDS-th record too, so no segment spans that boundary.
    let records = 0;
    for (const segment of final.segments) {
      const before = Math.floor(records / SEGMENT_RECORDS);
      records += segment.records;
      assert(Math.floor((records - 1) / SEGMENT_RECORDS) === before, "segment spans a boundary");
    }
    assertEquals(
      segmentNames,
      final.segments.map((segment) => `${segment.sha256}.jsonl.zst`).sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Self-contained

Deno.test("a checkpoint still verifies and reads back after its session log is deleted", async () => {
  await withStore(async ({ root, store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(SEGMENT_RECORDS + 10));
    const first = await store.create(createOf(logPath, log.length, { now: NOW }));
    const second = await store.create(
      createOf(logPath, log.length - 100, { now: new Date(NOW.getTime() + 1000) }),
    );
    await Deno.remove(logPath);
    for (const manifest of [first, second]) {
      assertEquals(await store.verify(manifest), []);
      assertEquals(await readBack(store, manifest), log.subarray(0, manifest.bytes));
    }

    await copyTree(store.dir, `${root}/elsewhere/checkpoints`);
    await Deno.remove(store.dir, { recursive: true });
    const copied = new CheckpointStore(`${root}/elsewhere/checkpoints`);
    const manifests = await okManifests(copied);
    assertEquals(manifests.map((m) => m.id), [second.id, first.id]);
    for (const manifest of manifests) {
      assertEquals(await copied.verify(manifest), []);
      assertEquals(await readBack(copied, manifest), log.subarray(0, manifest.bytes));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Damage

Deno.test("list() reports edited and non-JSON manifests as damaged; others still load", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(30));
    const made: CheckpointManifest[] = [];
    for (let n = 0; n < 4; n++) {
      made.push(
        await store.create(
          createOf(logPath, log.length, { now: new Date(NOW.getTime() + n * 1000) }),
        ),
      );
    }
    const [oldest, edited, good, garbled] = made as [
      CheckpointManifest,
      CheckpointManifest,
      CheckpointManifest,
      CheckpointManifest,
    ];
    const editedFile = `${store.dir}/checkpoint_${edited.id}.json`;
    const text = await Deno.readTextFile(editedFile);
    assert(text.includes('"message_count": 30'));
    await Deno.writeTextFile(
      editedFile,
      text.replace('"message_count": 30', '"message_count": 31'),
    );
    await Deno.writeTextFile(`${store.dir}/checkpoint_${garbled.id}.json`, '{"v": 1, "id": "');

    const entries = await store.list();
    assertEquals(entries.map((e) => [e.id, e.ok]), [
      [garbled.id, false],
      [good.id, true],
      [edited.id, false],
      [oldest.id, true],
    ]);
    const reasons = new Map(entries.map((e) => [e.id, e.ok ? "" : e.reason]));
    assertEquals(reasons.get(edited.id), "manifest checksum mismatch");
    assert(reasons.get(garbled.id)!.startsWith("manifest unreadable: "), reasons.get(garbled.id));

    const latest = await store.get("latest");
    assert(latest.ok, "latest skips the damaged newest manifest");
    assertEquals(latest.id, good.id);
    for (const manifest of [oldest, good]) {
      const entry = await store.get(manifest.id);
      assert(entry.ok);
      assertEquals(await store.verify(entry.manifest), []);
      assertEquals(await readBack(store, entry.manifest), log);
    }
    const editedInMemory = { ...good, message_count: 99 };
    assertEquals(await store.verify(editedInMemory), [
      "manifest checksum does not match its content",
    ]);
  });
});

Deno.test("list() reports a manifest whose id or version does not match its name", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(3));
    const manifest = await store.create(createOf(logPath, log.length, { now: NOW }));
    const renamed = `${store.dir}/checkpoint_20200101_000000.json`;
    await Deno.copyFile(`${store.dir}/checkpoint_${manifest.id}.json`, renamed);
    await Deno.writeTextFile(`${store.dir}/checkpoint_20200101_000001.json`, "null");
    const entries = await store.list();
    assertEquals(entries.map((e) => [e.id, e.ok ? "ok" : e.reason]), [
      [manifest.id, "ok"],
      ["20200101_000001", "manifest is not a v1 checkpoint"],
      ["20200101_000000", "manifest is not a v1 checkpoint"],
    ]);
  });
});

Deno.test("a checkpoint written before compression (plain .jsonl segments) still lists, verifies, reads and is reused", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(SEGMENT_RECORDS + 50));
    const created = await store.create(createOf(logPath, log.length - 300, { now: NOW }));
    // Turn it into what the store wrote before: plain segment files, refs without zstd_bytes.
    const plainSegments = [];
    for (const segment of created.segments) {
      const compressed = store.segmentFilePath(segment);
      const { zstd_bytes: _stored, ...plain } = segment;
      await Deno.writeFile(
        store.segmentFilePath(plain),
        new Uint8Array(zstdDecompressSync(await Deno.readFile(compressed))),
        { mode: 0o600 },
      );
      await Deno.remove(compressed);
      plainSegments.push(plain);
    }
    const { checksum: _old, ...body } = { ...created, segments: plainSegments };
    const old = {
      ...body,
      checksum: await sha256Hex(new TextEncoder().encode(JSON.stringify(body))),
    };
    const [written] = await store.list();
    await Deno.writeTextFile(written!.file, JSON.stringify(old));

    const [entry] = await store.list();
    assert(entry?.ok, `listed as healthy: ${entry?.ok === false ? entry.reason : ""}`);
    assertEquals(await store.verify(old as CheckpointManifest), []);
    assertEquals(await readBack(store, old as CheckpointManifest), log.subarray(0, old.bytes));
    // The next checkpoint reuses the plain segments as they are and compresses only new ones.
    const next = await store.create(
      createOf(logPath, log.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    assertEquals(next.segments.slice(0, plainSegments.length), plainSegments);
    assert(next.segments.slice(plainSegments.length).every((s) => s.zstd_bytes !== undefined));
    assertEquals(await store.verify(next), []);
    assertEquals(await readBack(store, next), log);
  });
});

Deno.test("verify() reports a segment with one flipped byte and lines() refuses it", async () => {
  await withStore(async ({ root, store, logPath }) => {
    const random = mulberry32(testSeed("verify() flipped byte"));
    const log = await writeLog(logPath, sessionLines(SEGMENT_RECORDS + 50));
    const otherLog = `${root}/other.jsonl`;
    const other = await writeLog(otherLog, sessionLines(40, { session: OTHER_SESSION }));
    const damaged = await store.create(createOf(logPath, log.length, { now: NOW }));
    const intact = await store.create(
      createOf(otherLog, other.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    const victim = damaged.segments[1]!;
    await flipByte(segmentFile(store, victim.sha256), random.int(0, storedSize(victim) - 1));

    assertEquals(await store.verify(damaged), [
      `segment ${victim.sha256.slice(0, 12)} is damaged (hash mismatch)`,
    ]);
    const error = await assertRejects(() => readBack(store, damaged), PersistError, "damaged");
    assertEquals(error.code, "checkpoint_damaged");
    assertEquals(await store.verify(intact), []);
    assertEquals(await readBack(store, intact), other);
    assertEquals((await store.list()).map((e) => e.ok), [true, true]);
  });
});

Deno.test("create() rewrites a shared segment with a flipped byte from the log", async () => {
  await withStore(async ({ store, logPath }) => {
    const random = mulberry32(testSeed("create() repairs a reused segment"));
    const lines = sessionLines(SEGMENT_RECORDS + 300);
    await writeLog(logPath, lines.slice(0, SEGMENT_RECORDS + 100));
    const first = await store.create(
      createOf(logPath, (await Deno.stat(logPath)).size, { now: NOW }),
    );
    for (const victim of first.segments) {
      await flipByte(segmentFile(store, victim.sha256), random.int(0, storedSize(victim) - 1));
    }
    assertEquals((await store.verify(first)).length, first.segments.length);

    await Deno.writeFile(logPath, concatBytes(lines.slice(SEGMENT_RECORDS + 100)), {
      append: true,
    });
    const log = await Deno.readFile(logPath);
    const repaired: string[] = [];
    const next = await store.create({
      ...createOf(logPath, log.length, { now: new Date(NOW.getTime() + 1000) }),
      onSegmentRepaired: ({ sha256, problem }) => repaired.push(`${sha256} ${problem}`),
    });
    assertEquals(next.segments.slice(0, first.segments.length), first.segments, "reused");
    assertEquals(
      repaired,
      first.segments.map((segment) => `${segment.sha256} is damaged (hash mismatch)`),
    );
    assertEquals(await store.verify(next), []);
    assertEquals(await store.verify(first), [], "the older checkpoint is whole again");
    assertEquals(await readBack(store, next), log);
  });
});

Deno.test("create() rewrites a missing shared segment from the log", async () => {
  await withStore(async ({ store, logPath }) => {
    const lines = sessionLines(SEGMENT_RECORDS + 300);
    const log = await writeLog(logPath, lines);
    const first = await store.create(createOf(logPath, log.length - 500, { now: NOW }));
    await Deno.remove(segmentFile(store, first.segments[0]!.sha256));
    const listed = await store.list();
    assertEquals(listed[0]!.ok, false);
    const next = await store.create(
      createOf(logPath, log.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    assertEquals(next.segments.slice(0, first.segments.length), first.segments);
    assertEquals(await store.verify(next), []);
    assertEquals((await store.list()).map((entry) => entry.ok), [true, true]);
  });
});

Deno.test("verify() reports a missing segment", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(SEGMENT_RECORDS + 50));
    const manifest = await store.create(createOf(logPath, log.length, { now: NOW }));
    const gone = manifest.segments[0]!;
    await Deno.remove(segmentFile(store, gone.sha256));
    assertEquals(await store.verify(manifest), [`segment ${gone.sha256.slice(0, 12)} is missing`]);
  });
});

Deno.test("lines() throws PersistError, not a raw NotFound, for a missing segment", async () => {
  // `checkpoint show` reads lines() without verifying first, so a deleted segment ends the
  // command as an "internal error (please report)" with exit code 70 instead of exit code 1.
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(10));
    const manifest = await store.create(createOf(logPath, log.length, { now: NOW }));
    await Deno.remove(segmentFile(store, manifest.segments[0]!.sha256));
    await assertRejects(() => readBack(store, manifest), PersistError, "missing");
  });
});

// ---------------------------------------------------------------------------------------------
// Ids and leftovers

Deno.test("create() gives checkpoints taken in the same second distinct ids", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(5));
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      ids.push((await store.create(createOf(logPath, log.length - n, { now: NOW }))).id);
    }
    const base = fileTimestamp(NOW);
    assertEquals(ids, [base, `${base}_2`, `${base}_3`, `${base}_4`]);
    assertEquals((await okManifests(store)).map((m) => m.id), [...ids].reverse());
    assertEquals((await store.get("latest")).id, `${base}_4`);
  });
});

Deno.test("list() sorts the 10th checkpoint of one second above the 9th", async () => {
  // Names sort as text, so `<second>_10` lands between `<second>` and `<second>_2`, and
  // `latest` picks the 9th checkpoint instead of the newest.
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(5));
    const ids: string[] = [];
    for (let n = 0; n < 11; n++) {
      ids.push((await store.create(createOf(logPath, log.length, { now: NOW }))).id);
    }
    assertEquals((await store.list()).map((e) => e.id), [...ids].reverse());
    assertEquals((await store.get("latest")).id, ids.at(-1));
  });
});

Deno.test("get() finds latest, an exact id and a unique prefix; rejects the rest", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(5));
    const a = await store.create(createOf(logPath, log.length, { now: NOW }));
    const b = await store.create(
      createOf(logPath, log.length, { now: new Date("2026-11-26T09:00:00Z") }),
    );
    assertEquals((await store.get("latest")).id, b.id);
    assertEquals((await store.get(a.id)).id, a.id);
    assertEquals((await store.get("20261126")).id, b.id);
    const ambiguous = await assertRejects(() => store.get("2026112"), PersistError, a.id);
    assertEquals(ambiguous.code, "checkpoint_not_found");
    await assertRejects(() => store.get("1999"), PersistError, 'Cannot find checkpoint "1999"');
    const empty = new CheckpointStore(`${store.dir}/nowhere`);
    assertEquals(await empty.list(), []);
    await assertRejects(() => empty.get("latest"), PersistError);
  });
});

Deno.test("leftover temporary files are not listed and the next create() removes them", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(5));
    const kept = await store.create(createOf(logPath, log.length, { now: NOW }));
    const leftovers = [
      `${store.dir}/checkpoint_20261125_150000.json.tmp-1a2b3c4d`,
      `${store.segmentsDir}/${"ab".repeat(32)}.jsonl.tmp-5e6f7a8b`,
    ];
    for (const path of leftovers) await Deno.writeTextFile(path, '{"v": 1, "id": "half');
    assertEquals((await store.list()).map((e) => e.id), [kept.id]);
    const diskWithLeftovers = await store.diskBytes();

    const next = await store.create(
      createOf(logPath, log.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    for (const dir of [store.dir, store.segmentsDir]) {
      const names = await fileNames(dir);
      assert(!names.some((name) => name.includes(".tmp-")), `left in ${dir}: ${names}`);
    }
    assertEquals((await okManifests(store)).map((m) => m.id), [next.id, kept.id]);
    assert(await store.diskBytes() < diskWithLeftovers + 2048);
  });
});

// ---------------------------------------------------------------------------------------------
// remove()

Deno.test("remove() deletes manifests and only the segments nobody else uses", async () => {
  await withStore(async ({ store, logPath }) => {
    const lines = sessionLines(SEGMENT_RECORDS + 100);
    const log = await writeLog(logPath, lines);
    const small = await store.create(createOf(logPath, log.length - 1000, { now: NOW }));
    const big = await store.create(
      createOf(logPath, log.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    assertEquals(big.segments.slice(0, small.segments.length), small.segments);
    assertEquals((await fileNames(store.segmentsDir)).length, 3);
    const otherLog = `${logPath}.other`;
    const otherBytes = await writeLog(otherLog, sessionLines(5, { session: OTHER_SESSION }));
    const elsewhere = await store.create(
      createOf(otherLog, otherBytes.length, { now: new Date(NOW.getTime() - 1000) }),
    );

    assertEquals(await store.remove([small.id]), { segmentsRemoved: 0 }, "big uses them all");
    assertEquals(await store.remove([elsewhere.id]), { segmentsRemoved: 1 });
    assertEquals((await okManifests(store)).map((m) => m.id), [big.id]);
    assertEquals(await store.verify(big), []);
    assertEquals(await readBack(store, big), log);

    await Deno.writeTextFile(`${store.dir}/checkpoint_20200101_000000.json`, "garbage");
    const other = await store.create(
      createOf(logPath, 500, { now: new Date(NOW.getTime() + 2000) }),
    );
    assertEquals(await store.remove([big.id, other.id]), { segmentsRemoved: 0 });
    assertEquals((await fileNames(store.segmentsDir)).length, 4, "damaged manifest: keep all");
  });
});

Deno.test("remove() while create() runs keeps the new checkpoint's segments", async () => {
  // The daemon prunes after an auto checkpoint outside its checkpoint queue, and the CLI's
  // `checkpoint prune` runs beside a live daemon: remove() lists the manifests, sees the
  // segments an in-flight create() has just written as unreferenced, and deletes them; create()
  // then publishes a manifest whose segments are gone. A long log keeps create() busy writing
  // segments after the first one appears, which is when remove() starts here.
  await withStore(async ({ root, store }) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const older = `${root}/older_${attempt}.jsonl`;
      const olderLog = await writeLog(older, sessionLines(20, { session: OTHER_SESSION }));
      const doomed = await store.create(
        createOf(older, olderLog.length, { now: new Date(NOW.getTime() + attempt * 2000) }),
      );
      const session = `20261125_150000_${attempt}c${attempt}d`;
      const logPath = `${root}/session_${attempt}.jsonl`;
      const log = await writeLog(logPath, sessionLines(12 * SEGMENT_RECORDS, { session }));
      const before = new Set(await segmentNames(store));
      let created = false;
      const creating = store.create(
        createOf(logPath, log.length, { now: new Date(NOW.getTime() + attempt * 2000 + 1000) }),
      ).finally(() => created = true);
      const removing = (async () => {
        while (!created && (await segmentNames(store)).every((name) => before.has(name))) {
          // poll until create() has written its first segment
        }
        return await store.remove([doomed.id]);
      })();
      const [manifest] = await Promise.all([creating, removing]);
      assertEquals(await store.verify(manifest), [], `attempt ${attempt}`);
      assertEquals(await readBack(store, manifest), log);
    }
  });
});

Deno.test("list() reports a checkpoint whose segment is missing or cut short as damaged", async () => {
  await withStore(async ({ root, store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(SEGMENT_RECORDS + 50));
    const otherLog = `${root}/other.jsonl`;
    const other = await writeLog(otherLog, sessionLines(40, { session: OTHER_SESSION }));
    const third = `${root}/third.jsonl`;
    const thirdBytes = await writeLog(third, sessionLines(30, { session: "20261125_150000_cafe" }));
    const missing = await store.create(createOf(logPath, log.length, { now: NOW }));
    const short = await store.create(
      createOf(otherLog, other.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    const intact = await store.create(
      createOf(third, thirdBytes.length, { now: new Date(NOW.getTime() + 2000) }),
    );
    const gone = missing.segments[1]!;
    await Deno.remove(segmentFile(store, gone.sha256));
    const cut = short.segments[0]!;
    await Deno.truncate(segmentFile(store, cut.sha256), storedSize(cut) - 7);

    const entries = await store.list();
    assertEquals(entries.map((entry) => [entry.id, entry.ok]), [
      [intact.id, true],
      [short.id, false],
      [missing.id, false],
    ]);
    const reasons = entries.map((entry) => entry.ok ? "" : entry.reason);
    assertEquals(
      reasons[1],
      `segment ${cut.sha256.slice(0, 12)} is damaged (${storedSize(cut) - 7} bytes, expected ${
        storedSize(cut)
      })`,
    );
    assertEquals(reasons[2], `segment ${gone.sha256.slice(0, 12)} is missing`);
    const got = await store.get(missing.id);
    assert(!got.ok && got.manifest?.id === missing.id, "the intact manifest comes along");
    assertEquals((await store.get("latest")).id, intact.id);
  });
});

Deno.test("prune() keeps checkpoints a full verify finds damaged, with their segments", async () => {
  await withStore(async ({ root, store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(60));
    const otherLog = `${root}/other.jsonl`;
    const other = await writeLog(otherLog, sessionLines(40, { session: OTHER_SESSION }));
    const flipped = await store.create(createOf(logPath, log.length, { now: NOW }));
    const healthy = await store.create(
      createOf(otherLog, other.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    const victim = segmentFile(store, flipped.segments[0]!.sha256);
    await flipByte(victim, 100);
    assertEquals((await store.list()).map((entry) => entry.ok), [true, true], "size is right");

    const result = await store.prune([flipped.id, healthy.id]);
    assertEquals(result.removed, [healthy.id]);
    assertEquals(result.keptDamaged, [{
      id: flipped.id,
      problems: [`segment ${flipped.segments[0]!.sha256.slice(0, 12)} is damaged (hash mismatch)`],
    }]);
    assertEquals(result.segmentsRemoved, 1);
    assertEquals((await store.list()).map((entry) => entry.id), [flipped.id]);
    assert((await Deno.stat(victim)).isFile, "the damaged segment stays as evidence");
  });
});

Deno.test("a segment hashed whole earlier is hashed again once it changes, even with its old mtime", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(SEGMENT_RECORDS + 50));
    const first = await store.create(createOf(logPath, log.length - 300, { now: NOW }));
    const old = new Date(Date.now() - 60_000);
    for (const segment of first.segments) {
      await Deno.utime(segmentFile(store, segment.sha256), old, old);
    }
    // Older than the store's racy window (ctime cannot be set back): this create hashes the
    // reused segments and remembers them as whole.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const second = await store.create(
      createOf(logPath, log.length, { now: new Date(NOW.getTime() + 1000) }),
    );
    const victim = segmentFile(store, first.segments[0]!.sha256);
    await flipByte(victim, Math.floor(storedSize(first.segments[0]!) / 2));
    await Deno.utime(victim, old, old);
    // Past the racy window again: only the changed ctime tells the file apart now.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const result = await store.prune([first.id]);
    assertEquals(result.removed, []);
    assertEquals(result.keptDamaged.map((kept) => kept.id), [first.id]);
    const repaired: string[] = [];
    const third = await store.create({
      ...createOf(logPath, log.length, { now: new Date(NOW.getTime() + 2000) }),
      onSegmentRepaired: ({ sha256 }) => repaired.push(sha256),
    });
    assertEquals(repaired, [first.segments[0]!.sha256]);
    assertEquals(await store.verify(third), []);
    assertEquals(await store.verify(second), []);
  });
});

Deno.test("create() refuses a label with a control character (C0, DEL, C1) with exit code 2", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(5));
    for (
      const label of [
        "\u001b[2J",
        "red\u001b]0;pwned\u0007",
        "nul\0",
        "del\u007f",
        "c1\u0085",
        "tab\there",
        "new\nline",
      ]
    ) {
      const error = await assertRejects(
        () => store.create({ ...createOf(logPath, log.length), label }),
        PersistError,
        "control character",
      );
      assertEquals([error.code, error.exitCode], ["invalid_label", 2]);
    }
    assertEquals(await store.list(), []);
    const fine = await store.create({ ...createOf(logPath, log.length), label: "café ✓ — 日本語" });
    assertEquals(fine.label, "café ✓ — 日本語");
  });
});

async function segmentNames(store: CheckpointStore): Promise<string[]> {
  return (await fileNames(store.segmentsDir)).filter((name) => /\.jsonl(\.zst)?$/.test(name));
}

// ---------------------------------------------------------------------------------------------
// kill -9

const CHILD_SCRIPT = `
import { CheckpointStore } from "${new URL(
  "../../src/store/checkpoint_store.ts",
  import.meta.url,
)}";
import { messageRecord } from "${new URL("../../src/enrich/mod.ts", import.meta.url)}";
import { encodeRecordLine } from "${new URL("../../src/store/record.ts", import.meta.url)}";

const [dir, logPath, session, firstSeqText] = Deno.args;
const store = new CheckpointStore(dir);
const encoder = new TextEncoder();
let seq = Number(firstSeqText);
console.log("started");
for (let round = 0; ; round++) {
  const lines = [];
  for (let i = (round * 7919) % 300; i >= 0; i--) {
    seq++;
    const payload = JSON.stringify({ from: "claude", content: "round " + round + " seq " + seq });
    const body = messageRecord([encoder.encode("agent.claude"), encoder.encode(payload)], {
      seq, session, receivedAt: new Date(),
    });
    lines.push(encodeRecordLine(body));
  }
  const bytes = new Uint8Array(lines.reduce((sum, line) => sum + line.length, 0));
  let at = 0;
  for (const line of lines) { bytes.set(line, at); at += line.length; }
  const file = await Deno.open(logPath, { write: true, append: true });
  for (let written = 0; written < bytes.length;) written += await file.write(bytes.subarray(written));
  file.close();
  const manifest = await store.create({
    logPath, endOffset: (await Deno.stat(logPath)).size, trigger: "auto",
    label: "round " + round, parentCheckpoint: null,
  });
  console.log(manifest.id);
}
`;

Deno.test("kill -9 while creating checkpoints never leaves a partial checkpoint visible", async () => {
  await withStore(async ({ root, store }) => {
    const random = mulberry32(testSeed("kill -9 during create()"));
    const script = `${root}/checkpoint_loop.ts`;
    await Deno.writeTextFile(script, CHILD_SCRIPT);
    const logs = new Map<string, string>();
    let checkpointsSeen = 0;
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const session = `20261125_1400${String(round).padStart(2, "0")}_${round}a${round}b`;
      const logPath = `${root}/session_${round}.jsonl`;
      logs.set(session, logPath);
      const messages = random.int(SEGMENT_RECORDS, 3 * SEGMENT_RECORDS);
      await writeLog(logPath, sessionLines(messages, { session, random }));
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-config",
          script,
          store.dir,
          logPath,
          session,
          String(messages + 1),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("started\n")) {
        const { value, done } = await stdout.read();
        if (done) break;
        seen += value;
      }
      const delayMs = random.int(0, 1500);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      child.kill("SIGKILL");
      const status = await child.status;
      for (;;) {
        const { value, done } = await stdout.read();
        if (done) break;
        seen += value;
      }
      const errors = await stderr;
      assertEquals(status.signal, "SIGKILL", `the child ended by itself: ${errors}`);
      const created = seen.split("\n").length - 2;
      checkpointsSeen += Math.max(0, created);
      console.log(`round ${round}: killed after ${delayMs} ms, ${created} checkpoint(s) done`);
      await checkEveryListedCheckpoint(store, logs);
    }
    assert(checkpointsSeen > 0, "no round got as far as one checkpoint: kill later");

    // Any leftover temporaries go with the next create(), and everything still verifies.
    const lastLog = [...logs.values()].at(-1)!;
    await store.create(createOf(lastLog, (await Deno.stat(lastLog)).size));
    for (const dir of [store.dir, store.segmentsDir]) {
      assert(
        !(await fileNames(dir)).some((name) => name.includes(".tmp-")),
        `temporaries in ${dir}`,
      );
    }
    await checkEveryListedCheckpoint(store, logs);
  });
});

/** Every manifest verifies, reads back as a prefix of its log, and every segment is whole. */
async function checkEveryListedCheckpoint(
  store: CheckpointStore,
  logs: ReadonlyMap<string, string>,
): Promise<void> {
  for (const manifest of await okManifests(store)) {
    assertEquals(await store.verify(manifest), [], `checkpoint ${manifest.id}`);
    const log = await Deno.readFile(logs.get(manifest.session)!);
    assertEquals(await readBack(store, manifest), log.subarray(0, manifest.bytes));
  }
  for (const name of await fileNames(store.segmentsDir)) {
    if (name.includes(".tmp-")) continue;
    const stored = await Deno.readFile(`${store.segmentsDir}/${name}`);
    const bytes = name.endsWith(".zst") ? new Uint8Array(zstdDecompressSync(stored)) : stored;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals(
      name.replace(/\.zst$/, ""),
      `${hex}.jsonl`,
      "a segment's content matches its name",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The list index

/** Past the store's racy window (ctime cannot be set back): list() may index what is older. */
function pastRacyWindow(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2500));
}

Deno.test("list() answers the same from its index and still finds a manifest edited after it was indexed", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(40));
    const made: CheckpointManifest[] = [];
    for (let n = 0; n < 3; n++) {
      made.push(
        await store.create(
          createOf(logPath, log.length, { now: new Date(NOW.getTime() + n * 1000) }),
        ),
      );
    }
    await pastRacyWindow();
    const fromManifests = await store.list(); // verifies every manifest and writes the index
    assert((await fileNames(store.dir)).includes(".list_index"), "the index is written");
    const fromIndex = await store.list();
    assertEquals(fromIndex, fromManifests);
    assertEquals(fromIndex.map((entry) => entry.ok && entry.manifest), [...made].reverse());
    // Bytes keep their order: `--json` prints the manifest as its file has it.
    assertEquals(
      fromIndex.map((entry) => JSON.stringify(entry.manifest)),
      made.map((manifest) => JSON.stringify(manifest)).reverse(),
    );

    const edited = `${store.dir}/checkpoint_${made[1]!.id}.json`;
    const text = await Deno.readTextFile(edited);
    await Deno.writeTextFile(edited, text.replace('"message_count": 40', '"message_count": 41'));
    await Deno.remove(`${store.dir}/checkpoint_${made[0]!.id}.json`);
    const entries = await store.list();
    assertEquals(entries.map((entry) => [entry.id, entry.ok ? "ok" : entry.reason]), [
      [made[2]!.id, "ok"],
      [made[1]!.id, "manifest checksum mismatch"],
    ]);
  });
});

Deno.test("list() ignores a damaged or foreign index and writes a good one", async () => {
  await withStore(async ({ store, logPath }) => {
    const log = await writeLog(logPath, sessionLines(10));
    const manifest = await store.create(createOf(logPath, log.length, { now: NOW }));
    await pastRacyWindow();
    const expected = await store.list();
    const indexPath = `${store.dir}/.list_index`;
    const good = await Deno.readFile(indexPath);
    assertEquals((await Deno.stat(indexPath)).mode! & 0o777, 0o600);
    // An index whose checksum still holds but names other content cannot come from a list():
    // a flipped byte, a truncation, garbage and an empty file are all refused.
    const flipped = good.slice();
    flipped[flipped.length - 20] = flipped[flipped.length - 20]! ^ 0x01;
    for (
      const damaged of [flipped, good.subarray(0, 100), encoder.encode("{}"), new Uint8Array()]
    ) {
      await Deno.writeFile(indexPath, damaged);
      assertEquals(await store.list(), expected);
      assertEquals(await Deno.readFile(indexPath), good, "rewritten");
    }
    // A manifest gone missing disappears from the index as well.
    await store.remove([manifest.id]);
    assertEquals(await store.list(), []);
    const again = new TextDecoder().decode(await Deno.readFile(indexPath));
    assert(!again.includes(manifest.id), again);
  });
});

// ---------------------------------------------------------------------------------------------
// Large checkpoints: several read chunks, segments encoded on a worker too

Deno.test("create() of a log larger than its read chunks and worker threshold keeps every line and left-out line", async () => {
  await withStore(async ({ store, logPath }) => {
    const seed = testSeed("create() of a large log");
    const random = mulberry32(seed);
    const lines = [startLine(1)];
    const filler = "y".repeat(700);
    for (let seq = 2; lines.length < 24_000; seq++) {
      const from = random.pick(["claude", "gemini", "codex", "ünï"]);
      const text = random.pick(["plain", 'quoted "words"', "line\nbreak"]) + filler;
      lines.push(chatLine(seq, text.slice(0, random.int(300, 700)), { from }));
    }
    // Damage near the first 8 MB chunk boundary, and a line with a valid checksum but bytes that
    // are not UTF-8 (only a general check can tell).
    let offset = 0;
    const damaged = new Set<number>();
    for (const [i, line] of lines.entries()) {
      if (offset > 8 * 1024 * 1024 - 2000 && damaged.size === 0) {
        const flipped = line.slice();
        flipped[40] = flipped[40]! ^ 0x01;
        lines[i] = flipped;
        damaged.add(i);
      }
      offset += line.length;
    }
    const notUtf8 = 15_000;
    const raw = lines[notUtf8]!.slice();
    let fillerAt = raw.indexOf(0x79);
    while (raw.subarray(fillerAt, fillerAt + 4).some((byte) => byte !== 0x79)) {
      fillerAt = raw.indexOf(0x79, fillerAt + 1);
    }
    raw[fillerAt] = 0xff; // a lone 0xff for a "y" of the filler: not UTF-8
    const bodyEnd = raw.length - ',"crc":"00000000"}\n'.length;
    const { crc32 } = await import("../../src/store/checksums.ts");
    const crc = crc32(new Uint8Array([0x7d]), crc32(raw.subarray(0, bodyEnd)));
    raw.set(encoder.encode(crc.toString(16).padStart(8, "0")), bodyEnd + ',"crc":"'.length);
    lines[notUtf8] = raw;
    damaged.add(notUtf8);
    const log = await writeLog(logPath, lines);
    assert(log.length > 17 * 1024 * 1024, `the log is ${log.length} bytes`);

    const manifest = await store.create(createOf(logPath, log.length, { now: NOW }));
    const kept = lines.filter((_, i) => !damaged.has(i));
    // Compared by hash: a diff of 17 MB would not help anyone.
    const expectedBytes = concatBytes(kept);
    const readBytes = await readBack(store, manifest);
    assertEquals(readBytes.length, expectedBytes.length);
    assertEquals(await sha256Hex(readBytes), await sha256Hex(expectedBytes));
    assertEquals(
      manifest.omitted?.map((line) => line.reason.replace(/\(.*\)/, "(…)")),
      ["checksum mismatch (…)", "checksum matches but the line is not valid UTF-8"],
    );
    // The summary as the general reader (decode, parse every line) sees the kept lines.
    const records = kept.map((line) => {
      const check = checkRecordLine(line);
      assert(check.ok);
      return check.record;
    });
    const messages = records.filter((record) => record.type === "message");
    const metas = messages.map((record) => record.meta as { sender: string; bytes: number });
    assertEquals(manifest.message_count, messages.length);
    assertEquals(manifest.record_count, records.length);
    assertEquals(manifest.payload_bytes, metas.reduce((sum, meta) => sum + meta.bytes, 0));
    assertEquals(manifest.agents, [...new Set(metas.map((meta) => meta.sender))].sort());
    const lastPreview = (messages.at(-1)!.meta as { preview: string }).preview;
    assertEquals(manifest.title, lastPreview.slice(0, 59) + "…");
    assertEquals(manifest.segments.reduce((sum, s) => sum + s.records, 0), records.length);
    assertEquals(await store.verify(manifest), []);
    // Segments cut as before: every SEGMENT_RECORDS records, and around each left-out line.
    for (const segment of manifest.segments) {
      assert(segment.records <= SEGMENT_RECORDS);
      assertEquals(segment.summary!.previews.length, 1);
    }
  });
});

const TMPFS_OK = await canMountTmpfs();

Deno.test({
  name: "create() on a full disk rejects with the write error; no segment write is left unobserved",
  ignore: !TMPFS_OK, // mounting a tmpfs needs root
  async fn() {
    // Before: the first segment write failed (ENOSPC) while later lines were still being read,
    // and its rejection had no handler yet: "uncaught error ... dangling promise", the process
    // ended instead of the command reporting a full disk.
    const tmpfs = (await mountSmallTmpfs(1))!;
    try {
      await withStore(async ({ logPath }) => {
        const random = mulberry32(testSeed("create() on a full disk"));
        const lines = [startLine(1)];
        for (let i = 1; i <= 20 * SEGMENT_RECORDS; i++) {
          // Incompressible text, over one 8 MB read: segment writes fail while reading goes on.
          const text = Array.from({ length: 40 }, () => random.int(0, 1e9).toString(36)).join("");
          lines.push(chatLine(i + 1, text));
        }
        const log = await writeLog(logPath, lines);
        assert(log.length > 9 * 1024 * 1024, `a log of ${log.length} bytes`);
        const store = new CheckpointStore(`${tmpfs.path}/checkpoints`);
        const error = await assertRejects(() => store.create(createOf(logPath, log.length)), Error);
        assert(/space|ENOSPC/i.test((error as Error).message), (error as Error).message);
      });
    } finally {
      await tmpfs.cleanup();
    }
  },
});
