import { indexPath } from "../src/indexer/open_index.ts";
import { dataDirLayout } from "../src/store/data_dir.ts";
import { waitUntil } from "./_async.ts";
import { chatPayload, type MessageCorpus } from "./_corpus.ts";
import {
  prepareDaemon,
  readStatus,
  spawnDaemon,
  stopDaemon,
  waitForProgress,
} from "./_daemon_scenario.ts";
import { analyseDaemonLog } from "./_log_analysis.ts";
import { type BenchContext, type Burst, type PollingStats, publishBurst } from "./_scenario.ts";
import { StatusPoller } from "./_status_poller.ts";
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

const INDEX_READY_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 10_000;

/**
 * The daemon (a child process) records a paced stream of chat messages while its indexer
 * follows the log; status is polled (and index.db read) from a worker thread, so each message's
 * durable and indexed times are known. The log is read back after a clean stop to count losses.
 */
export async function runIndexLagScenario(
  context: BenchContext,
  options: IndexLagOptions,
): Promise<IndexLagResult> {
  const name = "daemon-index";
  const dataDir = `${context.tempDir}/${name}`;
  const layout = dataDirLayout(dataDir);
  const child = await spawnDaemon(context, dataDir, { name, syncMode: "interval" });
  try {
    await prepareDaemon(context, child, layout.controlSocket);
    await waitUntil("let the indexer catch up with the warm-up", async () => {
      const status = await readStatus(child, layout.controlSocket);
      return (status?.index?.last_seq ?? -1) >= (status?.durable_seq ?? 0);
    }, { timeoutMs: INDEX_READY_TIMEOUT_MS, intervalMs: 50, signal: context.signal });
    const baseline = (await readStatus(child, layout.controlSocket))!;
    const poller = StatusPoller.start(layout.controlSocket, context.pollIntervalMs, {
      indexPath: indexPath(layout),
    });
    let burst: Burst;
    try {
      burst = await publishBurst(context, {
        messages: options.messages,
        payloadBytes: 0,
        payload: (stamp) => chatPayload(options.corpus.next(), stamp),
      });
      const target = baseline.received + options.messages;
      await waitForProgress(context, {
        poller,
        child,
        what: "record and index",
        done: (o) => o.received >= target && o.durableSeq >= o.seq && o.indexedSeq >= o.durableSeq,
        // The daemon reports index.last_seq once per catch-up pass, which can be long: rows
        // appearing in index.db count as progress too.
        progress: (o) => [o.received, o.durableSeq, o.indexedSeq, o.searchableSeq],
        legend: "received/durable/index.last_seq/in index.db",
        idleMs: IDLE_TIMEOUT_MS,
      });
      await poller.stop();
    } finally {
      poller.terminate();
    }
    const cleanStop = await stopDaemon(child, layout.controlSocket);
    return await measure(layout.currentLog, {
      messages: options.messages,
      burst,
      poller,
      cleanStop,
    });
  } finally {
    await child.kill();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function measure(
  logPath: string,
  parts: { messages: number; burst: Burst; poller: StatusPoller; cleanStop: boolean },
): Promise<IndexLagResult> {
  const { poller, burst } = parts;
  const lags = { indexed: [] as number[], searchable: [] as number[] };
  const fromPublish = { durable: [] as number[], indexed: [] as number[] };
  let notIndexed = 0;
  let firstTimedSeq: number | undefined;
  const analysis = await analyseDaemonLog(logPath, {
    expected: parts.messages,
    durableAtMs: (seq) => poller.durableAtMs(seq),
    onTimedRecord: (seq, stamp) => {
      firstTimedSeq ??= seq;
      const durableAt = poller.durableAtMs(seq);
      const indexedAt = poller.indexedAtMs(seq);
      const searchableAt = poller.searchableAtMs(seq);
      if (indexedAt === undefined) notIndexed++;
      if (durableAt !== undefined) fromPublish.durable.push(durableAt - stamp.sentAtMs);
      if (indexedAt !== undefined) fromPublish.indexed.push(indexedAt - stamp.sentAtMs);
      if (durableAt === undefined) return;
      if (indexedAt !== undefined) lags.indexed.push(Math.max(0, indexedAt - durableAt));
      if (searchableAt !== undefined) lags.searchable.push(Math.max(0, searchableAt - durableAt));
    },
  });
  const lastIndexedMs = analysis.recorded > 0
    ? poller.indexedAtMs(analysis.lastRecordSeq)
    : undefined;
  const during = poller.observations.filter((o) => o.atMs >= burst.startMs);
  return {
    published: parts.messages,
    publishRate: ratePerSecond(parts.messages, burst.startMs, burst.endMs),
    recorded: analysis.recorded,
    lost: analysis.lost,
    duplicates: analysis.duplicates,
    receiveRate: ratePerSecond(
      analysis.recorded,
      analysis.firstReceivedMs,
      analysis.lastReceivedMs,
    ),
    indexRate: ratePerSecond(analysis.recorded, burst.startMs, lastIndexedMs),
    searchableRate: firstTimedSeq === undefined ? undefined : ratePerSecond(
      analysis.lastRecordSeq - firstTimedSeq,
      poller.searchableAtMs(firstTimedSeq),
      poller.searchableAtMs(analysis.lastRecordSeq),
    ),
    durableToIndexed: spreadOf(lags.indexed),
    durableToSearchable: spreadOf(lags.searchable),
    publishToDurable: spreadOf(fromPublish.durable),
    publishToIndexed: spreadOf(fromPublish.indexed),
    notIndexed,
    maxLagRecords: during.reduce((max, o) => Math.max(max, o.durableSeq - o.indexedSeq), 0),
    indexUpdates: new Set(during.map((o) => o.indexedSeq)).size,
    polling: poller.stats,
    cleanStop: parts.cleanStop && analysis.unreadableLines === 0,
  };
}
