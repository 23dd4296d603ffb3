import type { ConversationSource } from "../conversation/select.ts";
import { UsageError } from "../errors.ts";
import { lazyModule } from "../lazy_import.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import type {
  HistoryFilters,
  HistoryHit,
  HistoryReader,
  HistoryRecord,
  HistorySession,
} from "../store/history_reader.ts";
import type { IndexStats, SearchRequest } from "../store/message_index.ts";
import type { LineCheck } from "../store/record.ts";
import type { SqliteIndex } from "../store/sqlite_index.ts";
import { sourceFromFlags } from "./conversation_flags.ts";
import { configFromFlags, layoutFromFlags } from "./daemon_link.ts";
import { readHitLines } from "./hit_line.ts";
import { openIndexForReading, readHitBytes, readHitRecord } from "./index_access.ts";

export { STORE_HELP, STORE_OPTIONS } from "./history_flags.ts";

// The PostgreSQL driver loads only when a command reads the shared store.
const loadStoreReader = lazyModule<typeof import("../pgstore/open_history.ts")>(
  import.meta.resolve("../pgstore/open_history.ts"),
);

/** The flag values {@link openHistory} reads. */
export interface HistoryFlagValues {
  readonly "data-dir"?: string;
  readonly config?: string;
  readonly store?: string;
  readonly origin?: string;
}

/** The reader a command uses and, for the local one, the data dir it reads. */
export interface OpenedHistory {
  readonly reader: HistoryReader;
  /** The data dir (checked to exist when the history is local). */
  readonly layout: DataDirLayout;
  /** `--origin` (only with a store). */
  readonly filters: HistoryFilters;
}

/**
 * Opens the history a reading command reads: the shared store when `--store`,
 * `SHEARWATER_STORE` or the config's `store` names one (every origin, or `--origin`), else this
 * machine's index and logs (caught up first, see {@link openIndexForReading}).
 */
export async function openHistory(
  values: HistoryFlagValues,
  options: { quiet?: boolean } = {},
): Promise<OpenedHistory> {
  const url = await storeUrlFromFlags(values);
  if (url === undefined) {
    const layout = layoutFromFlags(values, { mustExist: true });
    const index = await openIndexForReading(layout, options);
    return { reader: new LocalHistoryReader(layout, index), layout, filters: {} };
  }
  const { openStoreHistory } = await loadStoreReader();
  return {
    reader: await openStoreHistory(url),
    layout: layoutFromFlags(values, { mustExist: false }),
    filters: values.origin === undefined ? {} : { origin: values.origin },
  };
}

/**
 * The store URL the flags, environment or config name, or undefined for this machine's own
 * history (where `--origin` is a {@link UsageError}).
 */
async function storeUrlFromFlags(values: HistoryFlagValues): Promise<string | undefined> {
  const config = configFromFlags(values);
  const url = values.store === undefined && config.store === ""
    ? undefined
    : (await loadStoreReader()).resolveReadStore(values.store, config.store);
  if (url === undefined && values.origin !== undefined) {
    throw new UsageError(
      "Cannot use --origin without a store: give --store URL (or set SHEARWATER_STORE)",
    );
  }
  return url;
}

/** A conversation source opened for `context` or `export`; `close` after rendering it. */
export interface OpenedConversation {
  readonly source: ConversationSource;
  readonly layout: DataDirLayout;
  close(): Promise<void>;
}

/**
 * The conversation `--session`, `--checkpoint` or a search names (the current session when none
 * is named), from this machine's data dir or, with a store, from the shared history: there a
 * session's records of every origin (or `--origin`) or a search's hits are read first, and the
 * selection then filters them like local ones.
 */
export async function openConversation(
  command: string,
  values: HistoryFlagValues & { session?: string; checkpoint?: string },
  options: { search?: SearchRequest; quiet?: boolean } = {},
): Promise<OpenedConversation> {
  const url = await storeUrlFromFlags(values);
  if (url === undefined) {
    const layout = layoutFromFlags(values, { mustExist: true });
    if (options.search === undefined) {
      return { source: sourceFromFlags(command, values), layout, close: () => Promise.resolve() };
    }
    const index = await openIndexForReading(layout, { quiet: options.quiet });
    return {
      source: { kind: "search", index, request: options.search },
      layout,
      close: () => Promise.resolve(index.close()),
    };
  }
  const flagged = options.search === undefined ? sourceFromFlags(command, values) : undefined;
  if (flagged?.kind === "checkpoint") {
    throw new UsageError(
      `Cannot read checkpoint ${flagged.checkpoint} from the store directly: run ` +
        `"shearwater-persist checkpoint pull ${flagged.checkpoint}" first, then "${command} ` +
        `--checkpoint ${flagged.checkpoint}" without --store`,
    );
  }
  if (flagged?.kind === "current") {
    throw new UsageError(
      `Name the conversation: "${command} --store" reads every machine's history, which has ` +
        `no current session (use --session ID)`,
    );
  }
  const { openStoreHistory } = await loadStoreReader();
  const reader = await openStoreHistory(url);
  try {
    const filters: HistoryFilters = values.origin === undefined ? {} : { origin: values.origin };
    let records: HistoryRecord[];
    if (options.search !== undefined) {
      const hits = await reader.search({ ...options.search, ...filters });
      records = await Promise.all(hits.map((hit) => reader.readRecord(hit)));
      records.sort((a, b) =>
        Date.parse(a.record.received_at) - Date.parse(b.record.received_at) ||
        a.record.seq - b.record.seq
      );
    } else {
      records = await reader.sessionRecords((flagged as { session: string }).session, filters);
    }
    return {
      source: { kind: "records", records, blobDir: await reader.blobDirFor(records) },
      layout: layoutFromFlags(values, { mustExist: false }),
      close: () => reader.close(),
    };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

/** This machine's index and logs as a {@link HistoryReader}. */
export class LocalHistoryReader implements HistoryReader {
  readonly kind = "local" as const;
  readonly #layout: DataDirLayout;
  readonly #index: SqliteIndex;

  constructor(layout: DataDirLayout, index: SqliteIndex) {
    this.#layout = layout;
    this.#index = index;
  }

  search(request: SearchRequest & HistoryFilters): Promise<HistoryHit[]> {
    return Promise.resolve(this.#index.search(request));
  }

  checkLines(hits: readonly HistoryHit[]): Promise<LineCheck[]> {
    return Promise.resolve(readHitLines(this.#layout, hits));
  }

  locate(seq: number): Promise<HistoryHit[]> {
    const hit = this.#index.locate(seq);
    return Promise.resolve(hit ? [hit] : []);
  }

  readRecord(hit: HistoryHit): Promise<HistoryRecord> {
    return readHitRecord(this.#layout, hit);
  }

  readBytes(hit: HistoryHit): Promise<Uint8Array> {
    return readHitBytes(this.#layout, hit);
  }

  describeStorage(hit: HistoryHit): string {
    return `${hit.file} at byte ${hit.offset} (${hit.length} bytes)`;
  }

  lastSeq(): Promise<number> {
    return Promise.resolve(this.#index.lastSeq());
  }

  sessions(): Promise<HistorySession[]> {
    return Promise.resolve(this.#index.sessions());
  }

  stats(filters: HistoryFilters, top: number): Promise<IndexStats> {
    return Promise.resolve(this.#index.stats(filters, top));
  }

  blobDirFor(): Promise<string> {
    return Promise.resolve(this.#layout.blobsDir);
  }

  close(): Promise<void> {
    this.#index.close();
    return Promise.resolve();
  }
}
