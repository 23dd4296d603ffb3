import { assertEquals, assertThrows } from "../_assert.ts";
import { Outbox } from "../../src/client/outbox.ts";

const frames = (n: number) => [new Uint8Array([n]), new Uint8Array([n, n])];

Deno.test("Outbox keeps the last capacity messages and reports oldest and newest", () => {
  const outbox = new Outbox(3);
  assertEquals([outbox.oldest, outbox.newest, outbox.range(1, 10)], [null, 0, []]);
  for (let seq = 1; seq <= 5; seq++) outbox.add(seq, frames(seq));
  assertEquals([outbox.oldest, outbox.newest], [3, 5]);
  assertEquals(outbox.range(1, 10), [[3, frames(3)], [4, frames(4)], [5, frames(5)]]);
  assertEquals(outbox.range(4, 4), [[4, frames(4)]]);
  assertEquals(outbox.range(1, 2), []);
});

Deno.test("Outbox refuses a seq out of order and a capacity below 1", () => {
  const outbox = new Outbox(2);
  outbox.add(1, frames(1));
  assertThrows(() => outbox.add(3, frames(3)), Error, "consecutive");
  assertThrows(() => new Outbox(0), RangeError, ">= 1");
});
