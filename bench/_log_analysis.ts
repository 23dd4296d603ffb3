import { scanLog } from "../src/store/log_reader.ts";
import type { LogRecord } from "../src/store/record.ts";
import { ratePerSecond } from "./_stats.ts";
import { DATA_TOPIC, parsePayload, type PayloadStamp } from "./_payload.ts";

/** What the daemon's log says about one timed burst. */
export interface LogAnalysis {
  /** Distinct timed messages found in the log. */
  readonly recorded: number;
  /** Timed messages (by payload seq) missing from the log. */
  readonly lost: number;
  /** Timed messages recorded more than once. */
  readonly duplicates: number;
  /** Lines that fail their checksum (a torn tail after a kill is not read at all). */
  readonly unreadableLines: number;
  /** Wall-clock ms of the first and last timed message's `received_at` (ms resolution). */
  readonly firstReceivedMs: number | undefined;
  readonly lastReceivedMs: number | undefined;
  /** Recorded / (first to last received_at). */
  readonly receiveRate: number | undefined;
  /** Highest record seq among the timed messages. */
  readonly lastRecordSeq: number;
  /** Publish-to-durable latency of each message whose durability was observed. */
  readonly latenciesMs: Float64Array;
  /** Publish to the daemon's `received_at` of each timed message (1 ms resolution). */
  readonly receiveLatenciesMs: Float64Array;
}

/** Options for {@link analyseDaemonLog}. */
export interface AnalyseOptions {
  /** Messages published: payload seqs 0 .. expected - 1. */
  readonly expected: number;
  /** When a record seq was first observed durable; undefined if never. */
  readonly durableAtMs: (recordSeq: number) => number | undefined;
  /** Called for each timed message found, with its record seq and its payload's stamp. */
  readonly onTimedRecord?: (recordSeq: number, stamp: PayloadStamp) => void;
}

/**
 * Reads a daemon log after the run and checks every timed message: which payload seqs are
 * missing or doubled, when each was received, and how long from publish to durable.
 *
 * @example
 * ```ts
 * const analysis = await analyseDaemonLog(layout.currentLog, { expected: 1000, durableAtMs });
 * console.log(analysis.lost);
 * ```
 */
export async function analyseDaemonLog(
  path: string,
  options: AnalyseOptions,
): Promise<LogAnalysis> {
  const counts = new Uint32Array(options.expected);
  const latencies: number[] = [];
  const receiveLatencies: number[] = [];
  let unreadableLines = 0;
  let firstReceivedMs: number | undefined;
  let lastReceivedMs: number | undefined;
  let lastRecordSeq = 0;
  for await (const { record } of scanLog(path, { onBadLine: () => unreadableLines++ })) {
    const payload = timedPayload(record);
    if (payload === undefined) continue;
    if (payload.seq >= 0 && payload.seq < counts.length) counts[payload.seq]!++;
    const receivedMs = Date.parse(record.received_at);
    firstReceivedMs ??= receivedMs;
    lastReceivedMs = receivedMs;
    lastRecordSeq = Math.max(lastRecordSeq, record.seq);
    receiveLatencies.push(receivedMs - payload.sentAtMs);
    options.onTimedRecord?.(record.seq, payload);
    const durableAtMs = options.durableAtMs(record.seq);
    if (durableAtMs !== undefined) latencies.push(durableAtMs - payload.sentAtMs);
  }
  const outcomes = countOutcomes(counts);
  return {
    ...outcomes,
    receiveRate: ratePerSecond(outcomes.recorded, firstReceivedMs, lastReceivedMs),
    unreadableLines,
    firstReceivedMs,
    lastReceivedMs,
    lastRecordSeq,
    latenciesMs: Float64Array.from(latencies),
    receiveLatenciesMs: Float64Array.from(receiveLatencies),
  };
}

function countOutcomes(counts: Uint32Array) {
  let recorded = 0;
  let duplicates = 0;
  for (const count of counts) {
    if (count > 0) recorded++;
    if (count > 1) duplicates++;
  }
  return { recorded, lost: counts.length - recorded, duplicates };
}

function timedPayload(record: LogRecord) {
  if (record.type !== "message" || record.topic !== DATA_TOPIC) return undefined;
  const payload = (record.frames as unknown[] | undefined)?.[1];
  return typeof payload === "string" ? parsePayload(payload) : undefined;
}
