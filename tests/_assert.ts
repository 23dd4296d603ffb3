/**
 * Minimal assertions (JSR's @std/assert cannot be reached from our machines); built on
 * node:assert's deep equality.
 */
import { deepStrictEqual } from "node:assert";

/** Throws when `condition` is falsy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Awaits `fn` and returns what it threw; fails when it did not throw or threw another class. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  messageIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    assert(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    if (messageIncludes) {
      assert(
        error.message.includes(messageIncludes),
        `expected message to include "${messageIncludes}", got "${error.message}"`,
      );
    }
    return error;
  }
  throw new Error(`expected ${errorClass.name} to be thrown`);
}

/** Synchronous variant of {@link assertRejects}. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  errorClass: new (...args: never[]) => E,
  messageIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    assert(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    if (messageIncludes) {
      assert(
        error.message.includes(messageIncludes),
        `expected message to include "${messageIncludes}", got "${error.message}"`,
      );
    }
    return error;
  }
  throw new Error(`expected ${errorClass.name} to be thrown`);
}
