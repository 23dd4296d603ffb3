/**
 * Packs a batch of writer items into one ArrayBuffer that can be transferred to the writer
 * thread without a structured clone per frame (measured: cloning item objects cost more than
 * enriching them). Layout per item: u8 kind (0 line, 1 message, 2 refilled message), f64 seq, f64 receivedAtMs,
 * u32 part count, then per part f64 length (frames may exceed 4 GiB) and the bytes.
 */

/** An item before packing: event line or bus message frames. */
export type PackItem =
  | { readonly kind: 0; readonly seq: number; readonly parts: readonly Uint8Array[] }
  | {
    /** 1 a bus message, 2 a message a publisher resent to fill a gap (`meta.refilled`). */
    readonly kind: 1 | 2;
    readonly seq: number;
    readonly receivedAtMs: number;
    readonly parts: readonly Uint8Array[];
  };

/** An unpacked item; `parts` are views into the batch buffer (no copies). */
export interface UnpackedItem {
  readonly kind: 0 | 1 | 2;
  readonly seq: number;
  readonly receivedAtMs: number;
  readonly parts: Uint8Array[];
}

const ITEM_HEADER_BYTES = 1 + 8 + 8 + 4;
const PART_HEADER_BYTES = 8;

/** Packs items (in order) into one buffer. */
export function packBatch(items: readonly PackItem[]): ArrayBuffer {
  let total = 0;
  for (const item of items) {
    total += ITEM_HEADER_BYTES;
    for (const part of item.parts) total += PART_HEADER_BYTES + part.length;
  }
  const buffer = new ArrayBuffer(total);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  let at = 0;
  for (const item of items) {
    view.setUint8(at, item.kind);
    view.setFloat64(at + 1, item.seq);
    view.setFloat64(at + 9, item.kind === 0 ? 0 : item.receivedAtMs);
    view.setUint32(at + 17, item.parts.length);
    at += ITEM_HEADER_BYTES;
    for (const part of item.parts) {
      view.setFloat64(at, part.length);
      bytes.set(part, at + PART_HEADER_BYTES);
      at += PART_HEADER_BYTES + part.length;
    }
  }
  return buffer;
}

/** Unpacks a buffer made by {@link packBatch}. */
export function unpackBatch(buffer: ArrayBuffer): UnpackedItem[] {
  const view = new DataView(buffer);
  const items: UnpackedItem[] = [];
  let at = 0;
  while (at < buffer.byteLength) {
    const kind = view.getUint8(at) as 0 | 1 | 2;
    const seq = view.getFloat64(at + 1);
    const receivedAtMs = view.getFloat64(at + 9);
    const count = view.getUint32(at + 17);
    at += ITEM_HEADER_BYTES;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const length = view.getFloat64(at);
      parts.push(new Uint8Array(buffer, at + PART_HEADER_BYTES, length));
      at += PART_HEADER_BYTES + length;
    }
    items.push({ kind, seq, receivedAtMs, parts });
  }
  return items;
}
