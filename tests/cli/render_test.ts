import { assertEquals } from "../_assert.ts";
import { formatCount } from "../../src/cli/render.ts";

Deno.test("formatCount() groups digits as en-US toLocaleString does", () => {
  const values = [0, 7, 12, 999, 1000, 1234, 99_999, 100_000, 1_234_567, -1, -1234, -999_999];
  for (let digits = 1; digits <= 16; digits++) values.push(Number("9".repeat(digits)));
  values.push(Number.MAX_SAFE_INTEGER, 1.5, 1234.5678, 1e21);
  for (const value of values) assertEquals(formatCount(value), value.toLocaleString("en-US"));
});
