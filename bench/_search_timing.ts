import type { IndexHit, SearchRequest } from "../src/store/message_index.ts";
import { SENDERS } from "./_corpus.ts";
import { yieldTurn } from "./_async.ts";
import { type Spread, spreadOf, timed } from "./_stats.ts";

/** Kinds of full-text query in the mix. */
export type QueryKind = "common" | "medium" | "rare" | "and" | "phrase";

/** Order in which the kinds are listed. */
export const QUERY_KINDS: readonly QueryKind[] = ["common", "medium", "rare", "and", "phrase"];

/** One full-text query: FTS5 syntax, as a user would type it. */
export interface TextQuery {
  readonly kind: QueryKind;
  readonly text: string;
}

/** One filtered search: a sender and a one-day window. */
export interface FilterQuery {
  readonly sender: string;
  readonly sinceMs: number;
  readonly untilMs: number;
}

/** Timing of one set of queries. */
export interface QueryTiming {
  readonly latency: Spread | undefined;
  /** Mean number of hits returned (at most the limit, 20). */
  readonly meanHits: number;
  /** Queries that found nothing. */
  readonly empty: number;
}

/** Timing of the full-text mix, overall and by kind. */
export interface TextQueryTiming extends QueryTiming {
  readonly byKind: Readonly<Record<QueryKind, QueryTiming>>;
}

/** Something that answers searches: the index in process, or the shared store's reader. */
export interface Searchable {
  search(request: SearchRequest): IndexHit[] | Promise<IndexHit[]>;
}

/** Results per query, as the `search` command asks by default. */
export const SEARCH_LIMIT = 20;
const DAY_MS = 86_400_000;

/**
 * The full-text mix, `count` queries in round-robin order of kind: a common word (rank 1–20),
 * a medium word (rank 100–600), a rare word (the least frequent 40% of the vocabulary), two
 * medium words joined by AND, and a two-word phrase taken from a written message.
 *
 * @example
 * ```ts
 * const queries = buildTextQueries({ vocabulary, phrases, count: 200, random: mulberry32(1).next });
 * ```
 */
export function buildTextQueries(options: {
  vocabulary: readonly string[];
  phrases: readonly string[];
  count: number;
  random: () => number;
}): TextQuery[] {
  const { vocabulary, random } = options;
  const size = vocabulary.length;
  const pick = (from: number, to: number) =>
    vocabulary[Math.min(size - 1, from + Math.floor(random() * (to - from)))]!;
  const medium = () => pick(Math.min(99, size - 1), Math.min(600, size));
  const make: Record<QueryKind, () => string> = {
    common: () => pick(0, 20),
    medium,
    rare: () => pick(Math.floor(size * 0.6), size),
    and: () => `${medium()} AND ${medium()}`,
    phrase: () =>
      options.phrases.length === 0
        ? `"${pick(0, 20)} ${pick(0, 20)}"`
        : `"${options.phrases[Math.floor(random() * options.phrases.length)]!}"`,
  };
  return Array.from({ length: options.count }, (_, i) => {
    const kind = QUERY_KINDS[i % QUERY_KINDS.length]!;
    return { kind, text: make[kind]() };
  });
}

/** `count` filtered searches: a random sender and a random one-day window within the logs. */
export function buildFilterQueries(options: {
  firstMs: number;
  lastMs: number;
  count: number;
  random: () => number;
}): FilterQuery[] {
  const room = Math.max(0, options.lastMs - options.firstMs - DAY_MS);
  return Array.from({ length: options.count }, () => {
    const sinceMs = Math.floor(options.firstMs + options.random() * room);
    return {
      sender: SENDERS[Math.floor(options.random() * SENDERS.length)]!,
      sinceMs,
      untilMs: sinceMs + DAY_MS - 1,
    };
  });
}

/** Runs each full-text query once, top 20, newest first, and times it, overall and by kind. */
export async function timeTextQueries(
  index: Searchable,
  queries: readonly TextQuery[],
  signal?: AbortSignal,
): Promise<TextQueryTiming> {
  const samples = await timeSearches(index, queries.map((query) => ({ text: query.text })), signal);
  const byKind = Object.fromEntries(QUERY_KINDS.map((kind) => [
    kind,
    summarize(samples.filter((_, i) => queries[i]!.kind === kind)),
  ])) as Record<QueryKind, QueryTiming>;
  return { ...summarize(samples), byKind };
}

/** Runs each filtered search once (sender + one day, no text) and times it. */
export async function timeFilterQueries(
  index: Searchable,
  queries: readonly FilterQuery[],
  signal?: AbortSignal,
): Promise<QueryTiming> {
  return summarize(await timeSearches(index, queries, signal));
}

async function timeSearches(
  index: Searchable,
  requests: readonly Omit<SearchRequest, "limit">[],
  signal?: AbortSignal,
): Promise<{ ms: number; hits: number }[]> {
  const samples = [];
  for (const request of requests) {
    const { ms, value } = await timed(() => index.search({ ...request, limit: SEARCH_LIMIT }));
    samples.push({ ms, hits: value.length });
    await yieldTurn(signal);
  }
  return samples;
}

function summarize(samples: readonly { ms: number; hits: number }[]): QueryTiming {
  const hits = samples.reduce((sum, sample) => sum + sample.hits, 0);
  return {
    latency: spreadOf(samples.map((sample) => sample.ms)),
    meanHits: samples.length ? hits / samples.length : 0,
    empty: samples.filter((sample) => sample.hits === 0).length,
  };
}
