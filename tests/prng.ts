/**
 * The one seeded PRNG of the project, for randomized tests and for the benches' generated data
 * (`bench/` imports it too, hence no `_` prefix). A failing test can be replayed: each test
 * prints its seed, and `SHEARWATER_TEST_SEED=<seed>` makes the next run use it again.
 *
 * @module
 */

/** Seeded pseudo-random numbers (mulberry32: 32-bit state, good enough for test and bench data). */
export interface Prng {
  /** The seed this generator started from. */
  readonly seed: number;
  /** A float in [0, 1); a plain closure, so `const random = prng.next` works. */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

/**
 * Creates a mulberry32 generator.
 *
 * @example
 * ```ts
 * const random = mulberry32(42);
 * random.int(0, 9);
 * ```
 */
export function mulberry32(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed: seed >>> 0,
    next,
    int,
    bytes(length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = int(0, 255);
      return out;
    },
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error("pick() from an empty array");
      return items[int(0, items.length - 1)]!;
    },
  };
}

/**
 * The seed for a randomized test: `SHEARWATER_TEST_SEED` when set (to replay a failure),
 * otherwise a fresh random one. Prints it, labelled with `testName`, so any failure can be
 * replayed.
 */
export function testSeed(testName: string): number {
  const fromEnv = Deno.env.get("SHEARWATER_TEST_SEED");
  let seed: number;
  if (fromEnv !== undefined && fromEnv !== "") {
    seed = Number(fromEnv);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`Invalid SHEARWATER_TEST_SEED "${fromEnv}": use an integer 0 to 4294967295`);
    }
  } else {
    seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
  }
  console.log(`${testName}: seed ${seed} (replay with SHEARWATER_TEST_SEED=${seed})`);
  return seed;
}
