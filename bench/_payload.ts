/** Topic of the timed messages. */
export const DATA_TOPIC = "bench.data";
/** Topic of the messages sent until the receiver is connected (slow joiner). */
export const WARMUP_TOPIC = "bench.warmup";

/** What a bench payload carries besides its padding. */
export interface PayloadStamp {
  /** Position in the timed burst, from 0. */
  readonly seq: number;
  /** Wall-clock publish time in milliseconds, sub-millisecond precision. */
  readonly sentAtMs: number;
}

const PADDING = "x".repeat(1024 * 1024);

/**
 * Wall-clock milliseconds with sub-millisecond precision; comparable across processes on the
 * same machine.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A JSON payload of exactly `sizeBytes` bytes (ASCII) carrying the stamp, shaped like an agent
 * message so the daemon's enrichment does its usual work.
 *
 * @example
 * ```ts
 * const payload = makePayload({ seq: 7, sentAtMs: wallClockMs() }, 200);
 * payload.length; // 200
 * ```
 */
export function makePayload(stamp: PayloadStamp, sizeBytes: number): string {
  const head = `{"seq":${stamp.seq},"sent_at":${stamp.sentAtMs.toFixed(3)},` +
    `"sender":"bench","content":"`;
  const padBytes = sizeBytes - head.length - 2;
  if (padBytes < 0 || padBytes > PADDING.length) {
    throw new RangeError(`makePayload: ${sizeBytes} bytes cannot hold ${head.length + 2}`);
  }
  return head + PADDING.slice(0, padBytes) + `"}`;
}

/** Reads the stamp back from a payload made by {@link makePayload}; undefined if it is not one. */
export function parsePayload(text: string): PayloadStamp | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  const fields = parsed as { seq?: unknown; sent_at?: unknown } | null;
  if (typeof fields?.seq !== "number" || typeof fields.sent_at !== "number") return undefined;
  return { seq: fields.seq, sentAtMs: fields.sent_at };
}
