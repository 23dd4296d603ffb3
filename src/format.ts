/**
 * Number, size and time formatters shared by the CLI, diagnostics and benchmarks. Pure
 * functions with no imports, so domain code can use them without loading the CLI.
 *
 * @module
 */

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
