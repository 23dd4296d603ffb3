import { UsageError } from "../errors.ts";

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses `--since`/`--until` values: an ISO-8601 time (`2026-11-25`, `2026-11-25T13:00`) or a
 * duration back from `now` (`90s`, `30m`, `2h`, `7d`, `1w`). Returns epoch milliseconds.
 *
 * @example
 * ```ts
 * parseTimeFilter("since", "2h", new Date()); // two hours ago
 * ```
 */
export function parseTimeFilter(flag: string, value: string, now: Date): number {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(value.trim());
  if (relative) {
    return now.getTime() - Number(relative[1]) * UNIT_MS[relative[2]!.toLowerCase()]!;
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) {
    throw new UsageError(
      `Invalid --${flag} "${value}": use an ISO time like 2026-11-25T13:00 or a duration ` +
        `like 30m, 2h, 7d`,
    );
  }
  return parsed;
}
