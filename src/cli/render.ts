import type { IndexHit } from "../store/message_index.ts";
import { visibleLine } from "./visible.ts";

/** `2026-11-25 13:31:10` in UTC, for tables. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** Human size: `812 B`, `4.2 KB`, `1.3 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** `1,234,567`. */
export function formatCount(value: number): string {
  // Integers by hand: the first toLocaleString() of a process loads ICU data (~10 ms).
  if (!Number.isSafeInteger(value)) return value.toLocaleString("en-US");
  return String(value).replace(/\B(?=(\d{3})+$)/g, ",");
}

/**
 * One line of at most `width` columns, with an ellipsis when cut. Newlines and tabs become
 * spaces and every other control character a visible stand-in ({@link visibleLine}): what comes
 * out is safe to print, whatever the recorded data held.
 */
export function fit(text: string, width: number): string {
  const flat = visibleLine(text);
  return flat.length <= width ? flat : flat.slice(0, Math.max(0, width - 1)) + "…";
}

/** The heading line of a hit: `#seq  time  sender → recipient  [topic]`, at most 78 columns. */
export function hitHeading(hit: IndexHit): string {
  const who = hit.recipient
    ? `${hit.sender ?? "?"} → ${hit.recipient}`
    : hit.sender ?? (hit.type === "message" ? "?" : hit.type);
  const head = `#${hit.seq}  ${formatTime(hit.receivedAtMs)}  ${who}`;
  const topic = hit.topic ? `  [${hit.topic}]` : "";
  const replay = typeof hit.replayOf === "number" ? `  (replay of #${hit.replayOf})` : "";
  return fit(head + topic + replay, 78);
}

/** A horizontal bar of `value / max` in `width` cells. */
export function bar(value: number, max: number, width: number): string {
  const cells = max > 0 ? Math.max(value > 0 ? 1 : 0, Math.round((value / max) * width)) : 0;
  return "█".repeat(cells);
}
