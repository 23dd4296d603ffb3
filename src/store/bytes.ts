/**
 * Joining byte chunks: a batch of log lines, a request body read in pieces.
 *
 * @module
 */

/**
 * The chunks joined into one array, in order. Chunks that already lie one after the other in
 * one buffer (lines the writer encoded into a slab) come back as one view of it, not copied.
 *
 * @example
 * ```ts
 * const batch = concatBytes([firstLine, secondLine]);
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const adjacent = adjacentView(chunks);
  if (adjacent) return adjacent;
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** One view over the chunks when they are consecutive ranges of one buffer; else undefined. */
function adjacentView(chunks: readonly Uint8Array[]): Uint8Array | undefined {
  const first = chunks[0];
  if (!first || chunks.length < 2) return undefined;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    if (chunk.buffer !== first.buffer || chunk.byteOffset !== end) return undefined;
    end += chunk.length;
  }
  return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
}
