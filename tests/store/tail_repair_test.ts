import { scanLog } from "../../src/store/log_reader.ts";
import { checkRecordLine, encodeRecordLine } from "../../src/store/record.ts";
import { readLastGoodRecord, repairLogTail } from "../../src/store/tail_repair.ts";
import { assert, assertEquals } from "../_assert.ts";
import { mulberry32, type Prng, testSeed } from "../prng.ts";
import { concatBytes } from "../../src/store/bytes.ts";

const SESSION = "20261125_133107_959e";

function recordLine(seq: number, content = `message number ${seq}`): Uint8Array {
  return encodeRecordLine({
    v: 1,
    seq,
    type: "message",
    session: SESSION,
    received_at: "2026-11-25T13:31:10.777Z",
    topic: "agent.test",
    frames: ["agent.test", content],
  });
}

function concat(...chunks: Uint8Array[]): Uint8Array {
  return concatBytes(chunks);
}

/** Byte equality that reports the first difference instead of printing whole megabytes. */
function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const length = Math.min(actual.length, expected.length);
  let first = 0;
  while (first < length && actual[first] === expected[first]) first++;
  if (first === length && actual.length === expected.length) return;
  throw new Error(
    `${what}: ${actual.length} bytes, expected ${expected.length}; first difference at byte ${first}`,
  );
}

interface LogDir {
  readonly root: string;
  readonly logPath: string;
  readonly recoveryDir: string;
}

async function withLogDir(fn: (dir: LogDir) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "shearwater_tail_repair_" });
  try {
    const recoveryDir = `${root}/recovery`;
    await Deno.mkdir(recoveryDir);
    await fn({ root, logPath: `${root}/current_session.jsonl`, recoveryDir });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

/** Repairs the log and checks the invariants every repair must keep. */
async function repairAndCheck(dir: LogDir, original: Uint8Array, expectedGoodBytes: number) {
  const repair = await repairLogTail(dir.logPath, dir.recoveryDir);
  const kept = await Deno.readFile(dir.logPath);
  assertEquals(repair.goodBytes, expectedGoodBytes, "goodBytes");
  assertBytes(kept, original.subarray(0, expectedGoodBytes), "the log keeps the good prefix");
  const setAside = await listDir(dir.recoveryDir);
  if (expectedGoodBytes === original.length) {
    assertEquals(setAside, [], "nothing is set aside from a clean log");
    assertEquals(repair.setAsideBytes, 0);
    assertEquals(repair.setAsidePath, undefined);
    assertEquals(repair.reason, undefined);
  } else {
    assertEquals(setAside.length, 1, `one set-aside file, got ${setAside.join(", ")}`);
    const name = setAside[0]!;
    assert(
      new RegExp(`^torn_tail_\\d{8}_\\d{6}_offset_${expectedGoodBytes}\\.bin$`).test(name),
      `set-aside file name: ${name}`,
    );
    assertEquals(repair.setAsidePath, `${dir.recoveryDir}/${name}`);
    assertEquals(repair.setAsideBytes, original.length - expectedGoodBytes);
    assertBytes(
      await Deno.readFile(repair.setAsidePath!),
      original.subarray(expectedGoodBytes),
      "the set-aside file holds the cut bytes",
    );
    assertEquals((await Deno.stat(repair.setAsidePath!)).mode! & 0o777, 0o600, "set-aside mode");
    assert(repair.reason, "a repair that cut bytes says why");
  }
  return repair;
}

Deno.test("repairLogTail() leaves a clean log untouched and sets nothing aside", async () => {
  await withLogDir(async (dir) => {
    const log = concat(recordLine(1), recordLine(2), recordLine(3));
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, log.length);
    assertEquals(repair.lastRecord?.seq, 3);
  });
});

Deno.test("repairLogTail() treats an empty log as clean", async () => {
  await withLogDir(async (dir) => {
    await Deno.writeFile(dir.logPath, new Uint8Array());
    const repair = await repairAndCheck(dir, new Uint8Array(), 0);
    assertEquals(repair.lastRecord, undefined);
  });
});

Deno.test("repairLogTail() treats a missing log as empty and does not create it", async () => {
  await withLogDir(async (dir) => {
    const repair = await repairLogTail(dir.logPath, dir.recoveryDir);
    assertEquals(repair, {
      lastRecord: undefined,
      goodBytes: 0,
      setAsideBytes: 0,
      setAsidePath: undefined,
      reason: undefined,
    });
    assertEquals(await listDir(dir.root), ["recovery"]);
    assertEquals(await listDir(dir.recoveryDir), []);
  });
});

Deno.test("repairLogTail() sets aside the exact bytes of a torn last line and truncates", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2), recordLine(3));
    const torn = recordLine(4).subarray(0, 37);
    const log = concat(good, torn);
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 3);
    assert(repair.reason!.includes("incomplete"), repair.reason);
  });
});

Deno.test("repairLogTail() sets aside a last line torn just before its newline", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2));
    const last = recordLine(3);
    // Every byte of record 3 but its newline: the record is complete, the line is not, so the
    // next append would glue onto it. It must be set aside.
    const log = concat(good, last.subarray(0, last.length - 1));
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 2);
  });
});

Deno.test("repairLogTail() sets aside a bit-flipped last complete line", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2));
    const corrupt = recordLine(3).slice();
    corrupt[20] = corrupt[20]! ^ 0x04;
    const log = concat(good, corrupt);
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 2);
    assert(repair.reason!.includes(`line at byte ${good.length}`), repair.reason);
  });
});

Deno.test("repairLogTail() sets aside several bad lines at the end", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2));
    const flipped = recordLine(3).slice();
    flipped[5] = flipped[5]! ^ 0x01;
    const garbage = new TextEncoder().encode("not a record at all\n");
    const zeros = new Uint8Array(4096); // a page of zeros, as after a crash on some file systems
    zeros[4095] = 0x0a;
    const log = concat(good, flipped, garbage, zeros, recordLine(6).subarray(0, 50));
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 2);
  });
});

Deno.test("repairLogTail() sets aside everything when no line verifies", async () => {
  await withLogDir(async (dir) => {
    const flipped = recordLine(1).slice();
    flipped[30] = flipped[30]! ^ 0x80;
    const log = concat(
      flipped,
      new TextEncoder().encode("garbage\n{}\n"),
      recordLine(4).slice(0, 9),
    );
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, 0);
    assertEquals(repair.lastRecord, undefined);
  });
});

Deno.test("repairLogTail() sets aside a log that is one torn line without a newline", async () => {
  await withLogDir(async (dir) => {
    const log = recordLine(1).subarray(0, 60);
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, 0);
    assertEquals(repair.lastRecord, undefined);
    assert(repair.reason!.includes("no complete line"), repair.reason);
  });
});

Deno.test("repairLogTail() widens its scan past a record longer than 256 KiB", async () => {
  await withLogDir(async (dir) => {
    const big = recordLine(2, "x".repeat(1024 * 1024));
    const good = concat(recordLine(1), big);
    const log = concat(good, recordLine(3).subarray(0, 40));
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 2);
    assertEquals((repair.lastRecord?.frames as string[])[1]!.length, 1024 * 1024);
  });
});

Deno.test("repairLogTail() widens its scan to reach the record before a corrupt 1 MB one", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2));
    const big = recordLine(3, "y".repeat(1024 * 1024)).slice();
    big[big.length - 30] = big[big.length - 30]! ^ 0x10;
    const log = concat(good, big);
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 2);
  });
});

Deno.test("repairLogTail() widens its scan past a torn tail longer than 256 KiB", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2));
    const log = concat(good, recordLine(3, "z".repeat(600 * 1024)).subarray(0, 500 * 1024));
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairAndCheck(dir, log, good.length);
    assertEquals(repair.lastRecord?.seq, 2);
  });
});

Deno.test("repairLogTail() finds nothing twice: a second repair leaves the log alone", async () => {
  await withLogDir(async (dir) => {
    const good = concat(recordLine(1), recordLine(2));
    await Deno.writeFile(dir.logPath, concat(good, recordLine(3).subarray(0, 10)));
    await repairLogTail(dir.logPath, dir.recoveryDir);
    const again = await repairLogTail(dir.logPath, dir.recoveryDir);
    assertEquals(again.goodBytes, good.length);
    assertEquals(again.setAsideBytes, 0);
    assertEquals((await listDir(dir.recoveryDir)).length, 1);
  });
});

Deno.test("readLastGoodRecord() returns the last verifying record without changing the file", async () => {
  await withLogDir(async (dir) => {
    const flipped = recordLine(3).slice();
    flipped[12] = flipped[12]! ^ 0x02;
    const log = concat(recordLine(1), recordLine(2), flipped, recordLine(4).subarray(0, 33));
    await Deno.writeFile(dir.logPath, log);
    const before = await Deno.stat(dir.logPath);
    const record = await readLastGoodRecord(dir.logPath);
    assertEquals(record?.seq, 2);
    assertBytes(await Deno.readFile(dir.logPath), log, "the log after reading");
    assertEquals((await Deno.stat(dir.logPath)).mtime, before.mtime);
    assertEquals(await listDir(dir.recoveryDir), []);
    assertEquals(await readLastGoodRecord(`${dir.root}/missing.jsonl`), undefined);
  });
});

/** One randomized damage: a cut at `cutAt` and/or a byte flipped at `flipAt`. */
interface Damage {
  readonly cutAt: number | undefined;
  readonly flipAt: number | undefined;
  readonly flipMask: number;
}

/** Where a random flip may land: only in the last line left after the cut, or anywhere in the
 * last three records. */
type FlipScope = "last line" | "last 3 records";

function randomContent(random: Prng): string {
  const alphabet = ["a", "b", " ", "é", "😀", "\n", '"', "\\", "{", "}", "日", "\u0000"];
  const length = random.int(0, random.next() < 0.1 ? 5000 : 200);
  let text = "";
  for (let i = 0; i < length; i++) text += random.pick(alphabet);
  return text;
}

function randomDamage(random: Prng, lineEnds: readonly number[], scope: FlipScope): Damage {
  const size = lineEnds.at(-1)!;
  const mode = random.int(0, 2); // 0: cut, 1: flip, 2: both
  const cutAt = mode === 1 ? undefined : random.int(0, size);
  const length = cutAt ?? size;
  if (mode === 0 || length === 0) return { cutAt, flipAt: undefined, flipMask: 1 };
  const lastLineStart = scope === "last line"
    ? lineEnds.filter((end) => end < length).at(-1) ?? 0
    : lineEnds.length > 3
    ? lineEnds.at(-4)!
    : 0;
  const flipAt = Math.min(random.int(lastLineStart, size - 1), length - 1);
  return { cutAt, flipAt, flipMask: random.int(1, 255) };
}

/**
 * Builds logs of random records, damages each (a cut at a random offset and/or one flipped
 * byte), repairs it, and checks: every kept line verifies, kept + set-aside bytes are the damaged
 * log, and the kept prefix is exactly the whole records before the first damaged byte.
 */
async function randomDamageTrials(name: string, scope: FlipScope): Promise<void> {
  const seed = testSeed(name);
  const random = mulberry32(seed);
  for (let trial = 0; trial < 60; trial++) {
    await withLogDir(async (dir) => {
      const count = random.int(1, 30);
      const lines = Array.from(
        { length: count },
        (_, i) => recordLine(i + 1, randomContent(random)),
      );
      const lineEnds: number[] = [];
      let end = 0;
      for (const line of lines) lineEnds.push(end += line.length);
      const intact = concat(...lines);
      const damage = randomDamage(random, lineEnds, scope);
      const damaged = intact.slice(0, damage.cutAt ?? intact.length);
      if (damage.flipAt !== undefined) {
        damaged[damage.flipAt] = damaged[damage.flipAt]! ^ damage.flipMask;
      }
      const firstDamagedByte = Math.min(damage.cutAt ?? Infinity, damage.flipAt ?? Infinity);
      const expectedGoodBytes = lineEnds.filter((lineEnd) => lineEnd <= firstDamagedByte).at(-1) ??
        0;
      const context = `seed ${seed}, trial ${trial}: ${count} records, cut at ${damage.cutAt}, ` +
        `flip at ${damage.flipAt} (record ends ${lineEnds.join(",")})`;
      await Deno.writeFile(dir.logPath, damaged);
      try {
        await repairAndCheck(dir, damaged, expectedGoodBytes);
        const kept = await Deno.readFile(dir.logPath);
        const setAside = (await listDir(dir.recoveryDir)).map((name) =>
          Deno.readFileSync(`${dir.recoveryDir}/${name}`)
        );
        assertBytes(concat(kept, ...setAside), damaged, "kept + set aside == damaged log");
        let start = 0;
        for (let i = 0; i < kept.length; i++) {
          if (kept[i] !== 0x0a) continue;
          const check = checkRecordLine(kept.subarray(start, i + 1));
          assert(check.ok, `kept line at byte ${start} verifies`);
          start = i + 1;
        }
        assertEquals(start, kept.length, "the kept log ends with a whole line");
      } catch (error) {
        throw new Error(`${context}: ${(error as Error).message}`, { cause: error });
      }
    });
  }
}

Deno.test("repairLogTail() keeps exactly the whole valid records before random tail damage", async () => {
  await randomDamageTrials("tail_repair random damage in the last line", "last line");
});

// Damage followed by intact records is not a torn tail: cutting there would discard good
// records. repairLogTail() keeps them; readers (scanLog, the indexer) skip and report the bad line.
Deno.test("repairLogTail() keeps intact records that follow a damaged one", async () => {
  await withLogDir(async (dir) => {
    const corrupt = recordLine(3).slice();
    corrupt[20] = corrupt[20]! ^ 0x04;
    const log = concat(recordLine(1), recordLine(2), corrupt, recordLine(4), recordLine(5));
    await Deno.writeFile(dir.logPath, log);
    const repair = await repairLogTail(dir.logPath, dir.recoveryDir);
    assertEquals([repair.goodBytes, repair.setAsideBytes, repair.lastRecord?.seq], [
      log.length,
      0,
      5,
    ]);
    assertEquals([...await Deno.readFile(dir.logPath)], [...log]);
    const bad: number[] = [];
    const seqs: number[] = [];
    for await (
      const placed of scanLog(dir.logPath, { onBadLine: (line) => bad.push(line.offset) })
    ) seqs.push(placed.record.seq);
    assertEquals(seqs, [1, 2, 4, 5]);
    assertEquals(bad.length, 1);
  });
});
