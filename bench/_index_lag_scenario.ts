import { chatPayload, type MessageCorpus } from "./_corpus.ts";
import { recordBurst, type RecordedBurst } from "./_daemon_scenario.ts";
import { analyseDaemonLog } from "./_log_analysis.ts";
import type { BenchContext, PollingStats } from "./_scenario.ts";
import { ratePerSecond, type Spread, spreadOf } from "./_stats.ts";

/** Options for {@link runIndexLagScenario}. */
export interface IndexLagOptions {
  /** Timed messages to publish, at the context's rate. */
  readonly messages: number;
  /** Makes the message contents. */
  readonly corpus: MessageCorpus;
}

/** How the daemon's indexer kept up with a paced stream. */
export interface IndexLagResult {
  readonly published: number;
  readonly publishRate: number | undefined;
  /** Distinct timed messages in the log; lost = published − recorded. */
  readonly recorded: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Recorded / (first to last received_at). */
  readonly receiveRate: number | undefined;
  /** Recorded / (publish start → last timed message first seen indexed in `status`). */
  readonly indexRate: number | undefined;
  /** Rows per second appearing in index.db, first to last timed message (indexer speed). */
  readonly searchableRate: number | undefined;
  /** Durable → `status.index.last_seq` covers it, per message. */
  readonly durableToIndexed: Spread | undefined;
  /** Durable → a read-only reader of index.db sees it, per message. */
  readonly durableToSearchable: Spread | undefined;
  /** Publish → durable and publish → indexed (status), per message. */
  readonly publishToDurable: Spread | undefined;
  readonly publishToIndexed: Spread | undefined;
  /** Timed messages never seen indexed before the wait ended. */
  readonly notIndexed: number;
  /** Largest durable_seq − index.last_seq seen in one status answer. */
  readonly maxLagRecords: number;
  /** Distinct index.last_seq values seen during the stream (how often it moved). */
  readonly indexUpdates: number;
  readonly polling: PollingStats | undefined;
  readonly cleanStop: boolean;
}

/**
 * The daemon (a child process) records a paced stream of chat messages while its indexer
 * follows the log; status is polled (and index.db read) from a worker thread, so each message's
 * durable and indexed times are known. The log is read back after a clean stop to count losses.
 */
export function runIndexLagScenario(
  context: BenchContext,
  options: IndexLagOptions,
): Promise<IndexLagResult> {
  return recordBurst(context, {
    name: "daemon-index",
    syncMode: "interval",
    messages: options.messages,
    payloadBytes: 0,
    payload: (stamp) => chatPayload(options.corpus.next(), stamp),
    indexed: true,
  }, (run) => measure(run, options.messages));
}

async function measure(
  { logPath, burst, poller, cleanStop }: RecordedBurst,
  messages: number,
): Promise<IndexLagResult> {
  const lags = { indexed: [] as number[], searchable: [] as number[] };
  const fromPublish = { durable: [] as number[], indexed: [] as number[] };
  let notIndexed = 0;
  let firstTimedSeq: number | undefined;
  const analysis = await analyseDaemonLog(logPath, {
    expected: messages,
    durableAtMs: (seq) => poller.firstAtMs("durableSeq", seq),
    onTimedRecord: (seq, stamp) => {
      firstTimedSeq ??= seq;
      const durableAt = poller.firstAtMs("durableSeq", seq);
      const indexedAt = poller.firstAtMs("indexedSeq", seq);
      const searchableAt = poller.firstAtMs("searchableSeq", seq);
      if (indexedAt === undefined) notIndexed++;
      if (durableAt !== undefined) fromPublish.durable.push(durableAt - stamp.sentAtMs);
      if (indexedAt !== undefined) fromPublish.indexed.push(indexedAt - stamp.sentAtMs);
      if (durableAt === undefined) return;
      if (indexedAt !== undefined) lags.indexed.push(Math.max(0, indexedAt - durableAt));
      if (searchableAt !== undefined) lags.searchable.push(Math.max(0, searchableAt - durableAt));
    },
  });
  const lastIndexedMs = analysis.recorded > 0
    ? poller.firstAtMs("indexedSeq", analysis.lastRecordSeq)
    : undefined;
  const during = poller.observations.filter((o) => o.atMs >= burst.startMs);
  return {
    published: messages,
    publishRate: ratePerSecond(messages, burst.startMs, burst.endMs),
    recorded: analysis.recorded,
    lost: analysis.lost,
    duplicates: analysis.duplicates,
    receiveRate: analysis.receiveRate,
    indexRate: ratePerSecond(analysis.recorded, burst.startMs, lastIndexedMs),
    searchableRate: firstTimedSeq === undefined ? undefined : ratePerSecond(
      analysis.lastRecordSeq - firstTimedSeq,
      poller.firstAtMs("searchableSeq", firstTimedSeq),
      poller.firstAtMs("searchableSeq", analysis.lastRecordSeq),
    ),
    durableToIndexed: spreadOf(lags.indexed),
    durableToSearchable: spreadOf(lags.searchable),
    publishToDurable: spreadOf(fromPublish.durable),
    publishToIndexed: spreadOf(fromPublish.indexed),
    notIndexed,
    maxLagRecords: during.reduce((max, o) => Math.max(max, o.durableSeq - o.indexedSeq), 0),
    indexUpdates: new Set(during.map((o) => o.indexedSeq)).size,
    polling: poller.stats,
    cleanStop: cleanStop && analysis.unreadableLines === 0,
  };
}
