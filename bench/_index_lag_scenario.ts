import { chatPayload, type MessageCorpus } from "./_corpus.ts";
import { recordBurst, type RecordedBurst } from "./_daemon_scenario.ts";
import { analyseDaemonLog } from "./_log_analysis.ts";
import type { BenchContext } from "./_scenario.ts";
import { ratePerSecond, spreadOf } from "./_stats.ts";

/** Options for {@link runIndexLagScenario}. */
export interface IndexLagOptions {
  /** Timed messages to publish, at the context's rate. */
  readonly messages: number;
  /** Makes the message contents. */
  readonly corpus: MessageCorpus;
  /** Name of the daemon's data dir in the bench's temp folder; default `daemon-index`. */
  readonly name?: string;
}

/** How the daemon's indexer kept up with a paced stream. */
export type IndexLagResult = Awaited<ReturnType<typeof measure>>;

/**
 * The daemon (a child process) records a paced stream of chat messages while its indexer
 * follows the log; each message's durable time is the daemon's own fsync time (`durable-times`),
 * its searchable time when a reader of index.db (read every 2 ms from a worker thread) first sees
 * it; status polling only tells the indexer's own view and when the run is over. The log is read back after a clean stop to count losses.
 */
export function runIndexLagScenario(
  context: BenchContext,
  options: IndexLagOptions,
): Promise<IndexLagResult> {
  return recordBurst(context, {
    name: options.name ?? "daemon-index",
    syncMode: "interval",
    messages: options.messages,
    payloadBytes: 0,
    payload: (stamp) => chatPayload(options.corpus.next(), stamp),
    indexed: true,
  }, (run) => measure(run, options.messages));
}

async function measure(
  { logPath, burst, poller, durable, cleanStop }: RecordedBurst,
  messages: number,
) {
  const lags = { indexed: [] as number[], searchable: [] as number[] };
  const fromPublish = { durable: [] as number[], indexed: [] as number[] };
  let notIndexed = 0;
  let firstTimedSeq: number | undefined;
  const analysis = await analyseDaemonLog(logPath, {
    expected: messages,
    durableAtMs: (seq) => durable.firstAtMs(seq),
    onTimedRecord: (seq, stamp) => {
      firstTimedSeq ??= seq;
      // The daemon's own fsync time (durable-times), not when a status poll noticed it.
      const durableAt = durable.firstAtMs(seq);
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
    /** Distinct timed messages in the log; lost = published − recorded. */
    recorded: analysis.recorded,
    lost: analysis.lost,
    duplicates: analysis.duplicates,
    /** Recorded / (first to last received_at). */
    receiveRate: analysis.receiveRate,
    /** Recorded / (publish start → last timed message first seen indexed in `status`). */
    indexRate: ratePerSecond(analysis.recorded, burst.startMs, lastIndexedMs),
    /** Rows per second appearing in index.db, first to last timed message (indexer speed). */
    searchableRate: firstTimedSeq === undefined ? undefined : ratePerSecond(
      analysis.lastRecordSeq - firstTimedSeq,
      poller.firstAtMs("searchableSeq", firstTimedSeq),
      poller.firstAtMs("searchableSeq", analysis.lastRecordSeq),
    ),
    /** Per message: durable → `status.index.last_seq` covers it, and → a reader sees it. */
    durableToIndexed: spreadOf(lags.indexed),
    durableToSearchable: spreadOf(lags.searchable),
    /** Per message: publish → durable and publish → indexed (status). */
    publishToDurable: spreadOf(fromPublish.durable),
    publishToIndexed: spreadOf(fromPublish.indexed),
    /** Timed messages never seen indexed before the wait ended. */
    notIndexed,
    /** Largest durable_seq − index.last_seq seen in one status answer. */
    maxLagRecords: during.reduce((max, o) => Math.max(max, o.durableSeq - o.indexedSeq), 0),
    /** Distinct index.last_seq values seen during the stream (how often it moved). */
    indexUpdates: new Set(during.map((o) => o.indexedSeq)).size,
    polling: poller.stats,
    cleanStop: cleanStop && analysis.unreadableLines === 0,
  };
}
