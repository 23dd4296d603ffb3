import { UsageError } from "../../src/errors.ts";
import { parseTimeFilter } from "../../src/cli/time_filter.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

const NOW = new Date("2026-11-25T13:00:00.000Z");

Deno.test("parseTimeFilter() reads a duration in each unit as that long before now", () => {
  const cases: [string, number][] = [
    ["90s", 90_000],
    ["30m", 30 * 60_000],
    ["2h", 2 * 3_600_000],
    ["7d", 7 * 86_400_000],
    ["1w", 604_800_000],
    ["1.5h", 1.5 * 3_600_000],
    [" 2H ", 2 * 3_600_000],
    ["10 m", 10 * 60_000],
    ["0s", 0],
  ];
  for (const [value, backMs] of cases) {
    assertEquals(parseTimeFilter("since", value, NOW), NOW.getTime() - backMs, value);
  }
});

Deno.test("parseTimeFilter() reads ISO-8601 times, with a zone or in local time", () => {
  assertEquals(
    parseTimeFilter("since", "2026-11-25T10:30:00Z", NOW),
    Date.parse("2026-11-25T10:30:00Z"),
  );
  assertEquals(
    parseTimeFilter("until", "2026-11-25T13:00+02:00", NOW),
    Date.parse("2026-11-25T11:00:00Z"),
  );
  // A date alone is midnight UTC; a date and time without a zone is local time (ECMAScript).
  assertEquals(parseTimeFilter("since", "2026-11-25", NOW), Date.parse("2026-11-25T00:00:00Z"));
  assertEquals(
    parseTimeFilter("since", "2026-11-25T13:00", NOW),
    new Date(2026, 10, 25, 13, 0).getTime(),
  );
});

Deno.test("parseTimeFilter() throws a UsageError naming the flag and the value", () => {
  for (const value of ["yesterday", "", "5y", "-2h", "2 hours"]) {
    const error = assertThrows(
      () => parseTimeFilter("until", value, NOW),
      UsageError,
      `Invalid --until "${value}": use an ISO time like 2026-11-25T13:00 or a duration`,
    );
    assertEquals(error.exitCode, 2);
  }
});
