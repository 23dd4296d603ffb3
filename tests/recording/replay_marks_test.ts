import { framesDigest, ReplayMarks } from "../../src/recording/replay_marks.ts";
import { assert, assertEquals } from "../_assert.ts";

const encoder = new TextEncoder();
const frames = (...texts: string[]) => texts.map((text) => encoder.encode(text));

Deno.test("framesDigest() tells frame boundaries apart", () => {
  assert(framesDigest(frames("ab", "c")) !== framesDigest(frames("a", "bc")));
  assertEquals(framesDigest(frames("a", "b")), framesDigest(frames("a", "b")));
  assertEquals(framesDigest(frames("x")).length, 64);
});

Deno.test("ReplayMarks.take() matches each announced message once, oldest mark first", () => {
  const marks = new ReplayMarks();
  const digest = framesDigest(frames("t", "same"));
  assert(marks.add([{ digest, replay_of: 3 }, { digest, replay_of: 9 }], 1000, 0));
  assertEquals(marks.take(digest, 10), 3);
  assertEquals(marks.take(digest, 10), 9);
  assertEquals(marks.take(digest, 10), undefined);
  assertEquals(marks.size, 0);
});

Deno.test("ReplayMarks drops expired marks and refuses what does not fit", () => {
  const marks = new ReplayMarks(2);
  const a = framesDigest(frames("a"));
  const b = framesDigest(frames("b"));
  assert(marks.add([{ digest: a, replay_of: 1 }, { digest: b, replay_of: 2 }], 100, 0));
  assertEquals(marks.add([{ digest: a, replay_of: 5 }], 100, 50), false);
  assertEquals(marks.size, 2);
  assertEquals(marks.take(a, 500), undefined); // expired at 100
  // b expired at 100: dropped to make room for two.
  assert(marks.add([{ digest: a, replay_of: 5 }, { digest: a, replay_of: 6 }], 100, 500));
  assertEquals(marks.size, 2);
  assertEquals(marks.take(b, 550), undefined);
  assertEquals(marks.take(a, 550), 5);
});
