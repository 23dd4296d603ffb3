import { checkRecordLine, type RecordBody } from "../store/record.ts";

/** Where restored records go: the new session and the first seq to use. */
export interface RestoreTarget {
  readonly session: string;
  readonly firstSeq: number;
}

/**
 * The records that recreate a checkpoint's conversation in a new session: each message of the
 * checkpoint, frames and metadata unchanged (byte-exact), with a new seq and session and a
 * `restored_from` pointer to the original (an `oversized` record stays one). Daemon events of the
 * old session are not replayed.
 *
 * @example
 * ```ts
 * for (const body of restoredRecords(lines, { session, firstSeq: 100 })) writer.append(body);
 * ```
 */
export function* restoredRecords(
  lines: Iterable<Uint8Array>,
  target: RestoreTarget,
): Generator<RecordBody> {
  let seq = target.firstSeq;
  for (const line of lines) {
    const check = checkRecordLine(line);
    if (!check.ok) throw new Error(`checkpoint line failed verification: ${check.reason}`);
    const { crc: _crc, v, seq: originalSeq, type, session: originalSession, received_at, ...rest } =
      check.record;
    if (type !== "message" && type !== "oversized") continue; // what crossed the bus
    yield {
      v,
      seq: seq++,
      type,
      session: target.session,
      received_at,
      ...rest,
      restored_from: { session: originalSession, seq: originalSeq },
    };
  }
}
