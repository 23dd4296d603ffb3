import { formatBytes, formatCount, formatTime } from "../format.ts";
import type { CheckpointEntry } from "../store/checkpoint_store.ts";
import type { IndexHit } from "../store/message_index.ts";
import type { styler } from "./output.ts";
import { visibleLine } from "./visible.ts";

export { formatBytes, formatCount, formatTime };

/**
 * One line of at most `width` columns, with an ellipsis when cut. Newlines and tabs become
 * spaces and every other control character a visible stand-in ({@link visibleLine}): what comes
 * out is safe to print, whatever the recorded data held.
 */
export function fit(text: string, width: number): string {
  const flat = visibleLine(text);
  return flat.length <= width ? flat : flat.slice(0, Math.max(0, width - 1)) + "…";
}

/**
 * The heading line of a hit: `#seq  time  sender → recipient  [topic]`, at most 78 columns. With
 * `origin` (hits of several machines), the seq is followed by the start of the hit's origin:
 * `#seq@1a2b3c4d`.
 */
export function hitHeading(
  hit: IndexHit & { origin?: string },
  options: { origin?: boolean } = {},
): string {
  const who = hit.recipient
    ? `${hit.sender ?? "?"} → ${hit.recipient}`
    : hit.sender ?? (hit.type === "message" ? "?" : hit.type);
  const from = options.origin && hit.origin !== undefined ? `@${hit.origin.slice(0, 8)}` : "";
  const head = `#${hit.seq}${from}  ${formatTime(hit.receivedAtMs)}  ${who}`;
  const topic = hit.topic ? `  [${hit.topic}]` : "";
  const replay = typeof hit.replayOf === "number" ? `  (replay of #${hit.replayOf})` : "";
  return fit(head + topic + replay, 78);
}

/** A horizontal bar of `value / max` in `width` cells. */
export function bar(value: number, max: number, width: number): string {
  const cells = max > 0 ? Math.max(value > 0 ? 1 : 0, Math.round((value / max) * width)) : 0;
  return "█".repeat(cells);
}

/** One row of the checkpoint list: `[i] time | N msgs | size | trigger | title`. */
export function listRow(
  entry: CheckpointEntry,
  number: number,
  style: ReturnType<typeof styler>,
): string {
  const index = `[${number}]`.padStart(5);
  if (!entry.ok) return style.red(`${index} ${entry.id}  DAMAGED: ${fit(entry.reason, 50)}`);
  const m = entry.manifest;
  // A checkpoint that left damaged log lines out says so next to its message count.
  const omitted = m.omitted?.length ? `, ${m.omitted.length} LEFT OUT` : "";
  const head = `${index} ${formatTime(Date.parse(m.created_at)).slice(0, 16)} | ` +
    `${formatCount(m.message_count)} msgs${omitted} | ${formatBytes(m.bytes)} | ${m.trigger}`;
  return fit(`${head} | ${m.label ?? m.title}`, 79);
}
