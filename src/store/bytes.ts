/**
 * Joining byte chunks: a batch of log lines, a request body read in pieces.
 *
 * @module
 */

/**
 * The chunks joined into one array, in order.
 *
 * @example
 * ```ts
 * const batch = concatBytes([firstLine, secondLine]);
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
