/**
 * Rebuilds publisher accounting after a restart from what the logs hold: the highest `seq` and
 * the counts per `pub` (from `meta.pub` / `meta.pub_seq`), what was written off
 * (`publisher_gap`), and the resend endpoints announced on `shearwater.presence`.
 *
 * @module
 */
import { PRESENCE_TOPIC } from "../enrich/envelope.ts";
import { scanLogHeadlines } from "../store/log_reader.ts";
import type { PublisherLedger } from "./publisher_ledger.ts";
import type { Presence } from "./publisher_refill.ts";

interface Tally {
  highest_seq: number;
  received: number;
  refilled: number;
  missing: number;
  lastSeenMs: number;
}

const decoder = new TextDecoder();

/**
 * Scans `paths` (oldest first) into `ledger` and returns the presence announcements found, in
 * order (the caller feeds them to its refill coordinator). Damaged lines are skipped.
 */
export async function restorePublishers(
  paths: readonly string[],
  ledger: PublisherLedger,
): Promise<Presence[]> {
  const tallies = new Map<string, Tally>();
  const presences: Presence[] = [];
  const tally = (pub: string) => {
    let entry = tallies.get(pub);
    if (!entry) {
      entry = { highest_seq: 0, received: 0, refilled: 0, missing: 0, lastSeenMs: 0 };
      tallies.set(pub, entry);
    }
    return entry;
  };
  for (const path of paths) {
    for await (const { headline, line } of scanLogHeadlines(path)) {
      if (headline.type === "publisher_gap") {
        const record = JSON.parse(decoder.decode(line)) as Record<string, unknown>;
        if (typeof record.publisher === "string" && typeof record.count === "number") {
          const entry = tally(record.publisher);
          entry.missing += record.count;
          if (typeof record.last_missing === "number") {
            entry.highest_seq = Math.max(entry.highest_seq, record.last_missing);
          }
        }
        continue;
      }
      if (headline.type !== "message") continue;
      const meta = headline.meta as Record<string, unknown> | undefined;
      if (typeof meta?.pub === "string" && typeof meta.pub_seq === "number") {
        const entry = tally(meta.pub);
        entry.highest_seq = Math.max(entry.highest_seq, meta.pub_seq);
        entry.received++;
        if (meta.refilled === true) entry.refilled++;
        entry.lastSeenMs = Date.parse(receivedAt(line)) || entry.lastSeenMs;
      } else if (headline.topic === PRESENCE_TOPIC) {
        const presence = presenceOfLine(line);
        if (presence) presences.push(presence);
      }
    }
  }
  for (const [pub, entry] of tallies) ledger.restore(pub, entry, entry.lastSeenMs);
  return presences;
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
