/**
 * Rebuilds publisher accounting after a restart from what the logs hold: the highest `seq` and
 * the counts per `pub` (from `meta.pub` / `meta.pub_seq`), what was written off
 * (`publisher_gap`), and the resend endpoints announced on `shearwater.presence`.
 *
 * @module
 */
import { PRESENCE_TOPIC } from "../enrich/envelope.ts";
import { scanLogHeadlines } from "../store/log_reader.ts";
import type { PublisherLedger, SeqRange } from "./publisher_ledger.ts";
import type { Presence } from "./publisher_refill.ts";

interface Tally {
  highest_seq: number;
  received: number;
  refilled: number;
  missing: number;
  lastSeenMs: number;
  /** Lowest seq stored or written off in the scanned logs. */
  lowest: number;
  /** Seqs stored or written off near the highest (bounded, see {@link HOLE_WINDOW}). */
  recent: SeqRange[];
  /** Index in the scanned paths of the first log mentioning the publisher. */
  firstPath: number;
}

/** What the logs say beyond the ledger's figures. */
export interface RestoredPublishers {
  /** Presence announcements, in order (for the refill coordinator's endpoints). */
  readonly presences: Presence[];
  /**
   * Seqs neither stored nor written off (a refill or a wait for an endpoint cut short by a crash):
   * between a publisher's lowest and highest, and below its lowest when its history starts in
   * the scanned logs (see {@link restorePublishers}); already reopened in the ledger, to be
   * refilled or written off.
   */
  readonly holes: { readonly pub: string; readonly range: SeqRange }[];
}

/**
 * Holes are looked for only this far below a publisher's highest seq: beyond an outbox's
 * reach they could not be refilled, and the memory of the scan stays bounded.
 */
export const HOLE_WINDOW = 20_000;

const decoder = new TextDecoder();

/** Options for {@link restorePublishers}. */
export interface RestoreOptions {
  /**
   * True when `paths` are all the logs there are (no older archive left unscanned): a
   * publisher's history then starts in them, whichever log it first appears in.
   */
  readonly complete?: boolean;
}

/**
 * Scans `paths` (oldest first) into `ledger`; returns the presence announcements found and the
 * holes reopened. Damaged lines are skipped.
 *
 * A publisher whose lowest seq stored or written off is above 1 lost 1..lowest-1 before the
 * daemon first heard it (the daemon was killed before it wrote that range off): reopened too,
 * when its history surely starts in the scanned logs — they are `complete`, or it first appears
 * after the oldest of them (else its start may lie in an archive not scanned).
 */
export async function restorePublishers(
  paths: readonly string[],
  ledger: PublisherLedger,
  options: RestoreOptions = {},
): Promise<RestoredPublishers> {
  const tallies = new Map<string, Tally>();
  const presences: Presence[] = [];
  let pathIndex = 0;
  const tally = (pub: string) => {
    let entry = tallies.get(pub);
    if (!entry) {
      entry = {
        highest_seq: 0,
        received: 0,
        refilled: 0,
        missing: 0,
        lastSeenMs: 0,
        lowest: Infinity,
        recent: [],
        firstPath: pathIndex,
      };
      tallies.set(pub, entry);
    }
    return entry;
  };
  for (const [index, path] of paths.entries()) {
    pathIndex = index;
    for await (const { headline, line } of scanLogHeadlines(path)) {
      if (headline.type === "publisher_gap") {
        const record = JSON.parse(decoder.decode(line)) as Record<string, unknown>;
        if (typeof record.publisher === "string" && typeof record.count === "number") {
          const entry = tally(record.publisher);
          entry.missing += record.count;
          if (typeof record.first_missing === "number" && typeof record.last_missing === "number") {
            note(entry, { from: record.first_missing, to: record.last_missing });
          }
        }
        continue;
      }
      if (headline.type !== "message") continue;
      const meta = headline.meta as Record<string, unknown> | undefined;
      if (typeof meta?.pub === "string" && typeof meta.pub_seq === "number") {
        const entry = tally(meta.pub);
        note(entry, { from: meta.pub_seq, to: meta.pub_seq });
        entry.received++;
        if (meta.refilled === true) entry.refilled++;
        entry.lastSeenMs = Date.parse(receivedAt(line)) || entry.lastSeenMs;
      } else if (headline.topic === PRESENCE_TOPIC) {
        const presence = presenceOfLine(line);
        if (presence) presences.push(presence);
      }
    }
  }
  const holes: { pub: string; range: SeqRange }[] = [];
  for (const [pub, entry] of tallies) {
    ledger.restore(pub, entry, entry.lastSeenMs);
    const startsHere = options.complete === true || entry.firstPath > 0;
    for (const range of holesOf(entry, startsHere)) {
      ledger.reopen(pub, range);
      holes.push({ pub, range });
    }
  }
  return { presences, holes };
}

function note(entry: Tally, range: SeqRange): void {
  entry.highest_seq = Math.max(entry.highest_seq, range.to);
  entry.lowest = Math.min(entry.lowest, range.from);
  entry.recent.push(range);
  if (entry.recent.length > 2 * HOLE_WINDOW) {
    const floor = entry.highest_seq - HOLE_WINDOW;
    entry.recent = entry.recent.filter((kept) => kept.to > floor);
  }
}

/**
 * Ranges in [max(lowest, highest - window), highest] covered by nothing stored or written off,
 * after 1..lowest-1 when `startsHere` (the publisher's history starts in the scanned logs).
 * In increasing order, as the ledger reopens them.
 */
function holesOf(entry: Tally, startsHere: boolean): SeqRange[] {
  const start = Math.max(entry.lowest, entry.highest_seq - HOLE_WINDOW + 1);
  const covered = entry.recent.filter((range) => range.to >= start)
    .sort((a, b) => a.from - b.from);
  const holes: SeqRange[] = [];
  if (startsHere && entry.lowest > 1) holes.push({ from: 1, to: entry.lowest - 1 });
  let next = start;
  for (const range of covered) {
    if (range.from > next) holes.push({ from: next, to: range.from - 1 });
    next = Math.max(next, range.to + 1);
  }
  return holes;
}

/** The presence announcement a message's frames carry, or undefined. */
export function parsePresence(payload: string): Presence | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { type, pub, resend, last_seq, outbox } = value as Record<string, unknown>;
  if (type !== "hello" && type !== "alive" && type !== "bye") return undefined;
  if (typeof pub !== "string" || pub === "") return undefined;
  return {
    type,
    pub,
    ...(typeof resend === "string" && resend.startsWith("tcp://") ? { resend } : {}),
    ...(typeof last_seq === "number" && Number.isSafeInteger(last_seq) && last_seq >= 0
      ? { last_seq }
      : {}),
    ...(typeof outbox === "number" ? { outbox } : {}),
  };
}

function presenceOfLine(line: Uint8Array): Presence | undefined {
  const record = JSON.parse(decoder.decode(line)) as { frames?: unknown[] };
  const payload = record.frames?.at(-1);
  return typeof payload === "string" ? parsePresence(payload) : undefined;
}

const RECEIVED_AT = /"received_at":"([^"]+)"/;

function receivedAt(line: Uint8Array): string {
  return RECEIVED_AT.exec(decoder.decode(line.subarray(0, 200)))?.[1] ?? "";
}
