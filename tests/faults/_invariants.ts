/**
 * What must hold after every fault: every line verifies (but for the lines the suite damaged on
 * purpose), seq strictly increases across all logs, the index agrees with the log, every
 * published (pub, seq) is stored exactly once or covered by a `publisher_gap`, and the daemon
 * runs.
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals } from "../_assert.ts";
import { daemonStatus, waitFor, waitForIndexed } from "../_helpers.ts";
import { dataDirLayout } from "../../src/store/data_dir.ts";
import { checkRecordLine, type LogRecord } from "../../src/store/record.ts";
import { listArchivedLogs } from "../../src/store/session_archive.ts";
import type { FaultRig } from "./_rig.ts";

/** The accounting of the stream publishers' messages, summed over the suite. */
export interface Totals {
  /** Messages the stream publishers sent (seqs 1..n of each). */
  published: number;
  /** Of them, stored in a log (refilled ones included). */
  stored: number;
  /** Of the stored, those that came back by refill (`meta.refilled`). */
  refilled: number;
  /** Not stored, but covered by a `publisher_gap` record (explained losses). */
  explained: number;
  /** Neither stored nor covered: unexplained losses. */
  lost: number;
  /** Stored in lines the suite itself damaged (corruption scenarios), so not readable. */
  damaged: number;
}

/** Totals all zero. */
export function zeroTotals(): Totals {
  return { published: 0, stored: 0, refilled: 0, explained: 0, lost: 0, damaged: 0 };
}

/** Adds `more` into `into`. */
export function addTotals(into: Totals, more: Totals): void {
  for (const key of Object.keys(into) as (keyof Totals)[]) into[key] += more[key];
}

/** One log file's verified records and its damaged lines. */
interface LogFile {
  readonly path: string;
  readonly records: LogRecord[];
  readonly damaged: { offset: number; reason: string }[];
}

/** Reads a log line by line; lines that fail their check are collected, not thrown. */
async function readLogFile(path: string): Promise<LogFile> {
  const bytes = await Deno.readFile(path);
  const records: LogRecord[] = [];
  const damaged: { offset: number; reason: string }[] = [];
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
    const check = checkRecordLine(bytes.subarray(start, i + 1));
    if (check.ok) records.push(check.record);
    else damaged.push({ offset: start, reason: check.reason });
    start = i + 1;
  }
  if (start !== bytes.length) damaged.push({ offset: start, reason: "incomplete last line" });
  return { path, records, damaged };
}

/** Every log of the data dir (archived sessions and the current log), in seq order. */
export async function readDataDirLogs(dataDir: string): Promise<LogFile[]> {
  const layout = dataDirLayout(dataDir);
  const files: LogFile[] = [];
  for (const path of [...await listArchivedLogs(layout), layout.currentLog]) {
    try {
      files.push(await readLogFile(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return files.filter((file) => file.records.length > 0)
    .sort((a, b) => a.records[0]!.seq - b.records[0]!.seq);
}

/** Options of {@link checkInvariants}. */
export interface CheckOptions {
  /** Lines the scenario damaged on purpose (they must be exactly the lines that fail). */
  readonly damagedLines?: number;
  /** The (pub, seq) of stream messages in those lines: counted as damaged, not lost. */
  readonly damagedMessages?: readonly { pub: string; seq: number }[];
  /** How long refill may take to settle before missing messages count as lost. */
  readonly settleMs?: number;
}

/**
 * Checks every invariant on the rig (its streams stopped first) and returns the accounting.
 * Throws, naming the broken invariant, when one does not hold.
 */
export async function checkInvariants(rig: FaultRig, options: CheckOptions = {}): Promise<Totals> {
  for (const stream of rig.streams) await stream.stop();
  const status = await daemonStatus(rig.dataDir);
  assert(status !== undefined, "the daemon runs (its control socket answers status)");
  assertEquals(status.pid, rig.daemon.child.pid, "the daemon answering is the rig's daemon");
  await waitFor("the daemon to make everything durable", async () => {
    const now = await daemonStatus(rig.dataDir);
    return now !== undefined && now.durable_seq === now.seq;
  }, 30_000);

  // Refill may still be under way for the streams' last gaps: wait until the accounting closes.
  let files = await readDataDirLogs(rig.dataDir);
  let totals = account(rig, files, options.damagedMessages ?? []);
  const deadline = Date.now() + (options.settleMs ?? 15_000);
  while (totals.lost > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    files = await readDataDirLogs(rig.dataDir);
    totals = account(rig, files, options.damagedMessages ?? []);
  }
  await waitForIndexed(rig.dataDir);
  files = await readDataDirLogs(rig.dataDir);
  totals = account(rig, files, options.damagedMessages ?? []);

  const damaged = files.flatMap((file) => file.damaged.map((line) => ({ ...line, file })));
  assertEquals(
    damaged.length,
    options.damagedLines ?? 0,
    `lines that fail verification: ${
      JSON.stringify(damaged.map((line) => [line.file.path, line.offset, line.reason]))
    }`,
  );
  assertSeqRises(files);
  await assertIndexAgrees(rig.dataDir, files);
  const after = await daemonStatus(rig.dataDir);
  assert(after?.pid === rig.daemon.child.pid, "the daemon still runs after the checks");
  const { lostRanges, ...sums } = totals;
  if (lostRanges.length > 0) {
    console.log(`  lost (pub first-last): ${lostRanges.slice(0, 20).join(", ")}`);
  }
  return sums;
}

/** Fails unless seq strictly increases within and across the logs (in file order). */
function assertSeqRises(files: readonly LogFile[]): void {
  let previous = 0;
  for (const file of files) {
    for (const record of file.records) {
      assert(
        record.seq > previous,
        `seq strictly increases: ${record.seq} after ${previous} in ${file.path}`,
      );
      previous = record.seq;
    }
  }
}

/** Fails unless the index holds exactly the verified records' seqs, each file up to its end. */
async function assertIndexAgrees(dataDir: string, files: readonly LogFile[]): Promise<void> {
  const db = new DatabaseSync(`${dataDir}/metadata_index/index.db`, { readOnly: true });
  try {
    const indexed = db.prepare("SELECT seq FROM records ORDER BY seq").all()
      .map((row) => Number(row.seq));
    const logged = files.flatMap((file) => file.records.map((record) => record.seq));
    const indexedSet = new Set(indexed);
    const loggedSet = new Set(logged);
    const missing = logged.filter((seq) => !indexedSet.has(seq));
    const extra = indexed.filter((seq) => !loggedSet.has(seq));
    assert(
      missing.length === 0 && extra.length === 0,
      `the index agrees with the log: ${missing.length} seqs not indexed (${
        missing.slice(0, 5)
      }...), ${extra.length} indexed but not in a log (${extra.slice(0, 5)}...)`,
    );
    const fileRows = db.prepare("SELECT path, last_seq FROM files").all();
    for (const file of files) {
      const relativePath = file.path.slice(dataDir.replace(/\/+$/, "").length + 1);
      const row = fileRows.find((candidate) => String(candidate.path) === relativePath);
      assert(row !== undefined, `the index knows ${file.path}`);
      assertEquals(Number(row.last_seq), file.records.at(-1)!.seq, `last seq of ${file.path}`);
    }
  } finally {
    db.close();
  }
  await Promise.resolve();
}

/** The envelope of a stored message: from `meta.pub`/`meta.pub_seq`, else from its payload. */
export function envelopeOf(record: LogRecord): { pub: string; seq: number } | undefined {
  const meta = record.meta as Record<string, unknown> | undefined;
  if (typeof meta?.pub === "string" && typeof meta.pub_seq === "number") {
    return { pub: meta.pub, seq: meta.pub_seq };
  }
  const frames = record.frames as unknown[] | undefined;
  const payload = frames?.[1];
  if (typeof payload !== "string" || !payload.includes('"_shearwater"')) return undefined;
  try {
    const envelope = JSON.parse(payload)._shearwater;
    if (typeof envelope?.pub === "string" && typeof envelope.seq === "number") return envelope;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  return undefined;
}

/**
 * Every (pub, seq) the rig's streams published, checked against the logs: stored exactly once
 * (a second copy fails at once), or covered by a `publisher_gap`, or lost.
 */
function account(
  rig: FaultRig,
  files: readonly LogFile[],
  damagedMessages: readonly { pub: string; seq: number }[],
): Totals & { lostRanges: string[] } {
  const damaged = new Set(damagedMessages.map((message) => `${message.pub}\n${message.seq}`));
  const stored = new Map<string, Map<number, LogRecord>>();
  const gaps = new Map<string, { from: number; to: number }[]>();
  for (const record of files.flatMap((file) => file.records)) {
    if ((record.type as string) === "publisher_gap") {
      const pub = String(record.publisher);
      const list = gaps.get(pub) ?? [];
      list.push({ from: Number(record.first_missing), to: Number(record.last_missing) });
      gaps.set(pub, list);
      continue;
    }
    if (record.type !== "message") continue;
    const envelope = envelopeOf(record);
    if (envelope === undefined) continue;
    const seqs = stored.get(envelope.pub) ?? new Map<number, LogRecord>();
    const earlier = seqs.get(envelope.seq);
    assert(
      earlier === undefined,
      `(${envelope.pub}, ${envelope.seq}) is stored once, not at seqs ${earlier?.seq} and ${record.seq}`,
    );
    seqs.set(envelope.seq, record);
    stored.set(envelope.pub, seqs);
  }
  const totals = zeroTotals();
  const lostRanges: string[] = [];
  for (const stream of rig.streams) {
    const seqs = stored.get(stream.pub) ?? new Map<number, LogRecord>();
    const covered = gaps.get(stream.pub) ?? [];
    for (let seq = 1; seq <= stream.published; seq++) {
      totals.published++;
      const record = seqs.get(seq);
      if (record !== undefined) {
        totals.stored++;
        if ((record.meta as Record<string, unknown> | undefined)?.refilled === true) {
          totals.refilled++;
        }
      } else if (damaged.has(`${stream.pub}\n${seq}`)) {
        totals.damaged++;
      } else if (covered.some((gap) => gap.from <= seq && seq <= gap.to)) {
        totals.explained++;
      } else {
        totals.lost++;
        const last = lostRanges.at(-1);
        const match = last?.match(/^(.*) (\d+)-(\d+)$/);
        if (match && match[1] === stream.pub && Number(match[3]) === seq - 1) {
          lostRanges[lostRanges.length - 1] = `${stream.pub} ${match[2]}-${seq}`;
        } else {
          lostRanges.push(`${stream.pub} ${seq}-${seq}`);
        }
      }
    }
  }
  return { ...totals, lostRanges };
}
