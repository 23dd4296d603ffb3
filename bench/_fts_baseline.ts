import { DatabaseSync } from "node:sqlite";
import { yieldTurn } from "./_async.ts";
import type { MessageCorpus } from "./_corpus.ts";

/** What the plain FTS5 insert achieved. */
export interface FtsBaseline {
  readonly rows: number;
  /** Time inside the insert transactions only (generating the text is not counted). */
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly rowsPerTransaction: number;
  /** The table, for the report. */
  readonly schema: string;
}

/** Rows per transaction of the baseline. */
export const BASELINE_ROWS_PER_TRANSACTION = 1000;
const SCHEMA = "CREATE VIRTUAL TABLE docs USING fts5 (content)";

/**
 * The same-run baseline for the reindex rate: the message contents of `corpus` (replayed from
 * the same seed as the logs) inserted into a fresh regular FTS5 table with `node:sqlite`,
 * 1000 rows per transaction, WAL, `synchronous = NORMAL`. Only the transactions are timed.
 *
 * @example
 * ```ts
 * const baseline = await measureFtsBaseline(`${dir}/baseline.db`, new MessageCorpus({ seed }), 1000);
 * ```
 */
export async function measureFtsBaseline(
  path: string,
  corpus: MessageCorpus,
  rows: number,
  options: { signal?: AbortSignal } = {},
): Promise<FtsBaseline> {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec(SCHEMA);
    const insert = db.prepare("INSERT INTO docs (rowid, content) VALUES (?, ?)");
    const batch: string[] = [];
    let timedMs = 0;
    let lastYield = performance.now();
    for (let first = 1; first <= rows; first += BASELINE_ROWS_PER_TRANSACTION) {
      batch.length = 0;
      const end = Math.min(rows + 1, first + BASELINE_ROWS_PER_TRANSACTION);
      for (let seq = first; seq < end; seq++) batch.push(corpus.next().content);
      const started = performance.now();
      db.exec("BEGIN");
      for (let i = 0; i < batch.length; i++) insert.run(first + i, batch[i]!);
      db.exec("COMMIT");
      timedMs += performance.now() - started;
      if (performance.now() - lastYield > 100) {
        await yieldTurn(options.signal); // lets Ctrl+C through; not timed
        lastYield = performance.now();
      }
    }
    return {
      rows,
      seconds: timedMs / 1000,
      rowsPerSecond: rows / (timedMs / 1000),
      rowsPerTransaction: BASELINE_ROWS_PER_TRANSACTION,
      schema: SCHEMA,
    };
  } finally {
    db.close();
  }
}
