/**
 * Publisher accounting as the log shows it: per `pub`, messages stored (`meta.pub`), refilled
 * (`meta.refilled`) and written off (`publisher_gap`), plus the gaps written recently. Read by
 * `stats` and `diag`; duplicates are known only to the running daemon (`status`).
 *
 * @module
 */
import type { PublisherFigures } from "../control/protocol.ts";
import { scanLogHeadlines } from "../store/log_reader.ts";

/** One publisher's figures from the log. */
export interface PublisherLogFigures {
  readonly pub: string;
  readonly received: number;
  readonly refilled: number;
  readonly missing: number;
  /** From the running daemon, or null when it does not run. */
  readonly duplicates: number | null;
}

/** A `publisher_gap` record, as read back. */
export interface WrittenGap {
  readonly publisher: string;
  readonly first_missing: number;
  readonly last_missing: number;
  readonly count: number;
  readonly reason: string;
  readonly received_at: string;
}

/** What {@link readPublisherReport} found. */
export interface PublisherReport {
  readonly publishers: PublisherLogFigures[];
  /** `publisher_gap` records written at or after `gapsSince`. */
  readonly recentGaps: WrittenGap[];
}

const decoder = new TextDecoder();

/**
 * Scans a log's headlines (frames are not parsed) for publisher accounting; `daemon` adds the
 * running daemon's duplicate counts.
 *
 * @example
 * ```ts
 * const report = await readPublisherReport(layout.currentLog, { gapsSince: new Date(Date.now() - 3_600_000) });
 * ```
 */
export async function readPublisherReport(
  path: string,
  options: { readonly gapsSince?: Date; readonly daemon?: readonly PublisherFigures[] } = {},
): Promise<PublisherReport> {
  const byPub = new Map<string, { received: number; refilled: number; missing: number }>();
  const recentGaps: WrittenGap[] = [];
  const since = options.gapsSince?.toISOString() ?? "";
  const entry = (pub: string) => {
    let figures = byPub.get(pub);
    if (!figures) byPub.set(pub, figures = { received: 0, refilled: 0, missing: 0 });
    return figures;
  };
  for await (const { headline, line } of scanLogHeadlines(path)) {
    if (headline.type === "message") {
      const meta = headline.meta as { pub?: unknown; refilled?: unknown } | undefined;
      if (typeof meta?.pub !== "string") continue;
      const figures = entry(meta.pub);
      figures.received++;
      if (meta.refilled === true) figures.refilled++;
    } else if (headline.type === "publisher_gap") {
      const gap = JSON.parse(decoder.decode(line)) as WrittenGap;
      if (typeof gap.publisher !== "string" || typeof gap.count !== "number") continue;
      entry(gap.publisher).missing += gap.count;
      if (gap.received_at >= since) recentGaps.push(gap);
    }
  }
  const duplicates = new Map(options.daemon?.map((figures) => [figures.pub, figures.duplicates]));
  return {
    publishers: [...byPub].map(([pub, figures]) => ({
      pub,
      ...figures,
      duplicates: options.daemon ? duplicates.get(pub) ?? 0 : null,
    })),
    recentGaps,
  };
}
