/**
 * The daemon's writer thread as a {@link SessionAppender}: session records go through the same
 * queue as received messages.
 *
 * @module
 */
import type { RecordWriter } from "../recording/record_writer.ts";
import { encodeRecordLine, type RecordBody } from "../store/record.ts";
import type { SessionAppender } from "./session_core.ts";

/**
 * Adapts `writer` to {@link SessionAppender}; `onAppend` hears of each record queued (the daemon
 * keeps its seq counter in step, even when a rotation fails half-way).
 *
 * @example
 * ```ts
 * await rotateSession({ layout, log: writerAppender(writer), journal, checkpoints }, from, reason, { kind: "new" });
 * ```
 */
export function writerAppender(
  writer: RecordWriter,
  options: { onAppend?: (body: RecordBody) => void } = {},
): SessionAppender {
  return {
    append(body: RecordBody) {
      writer.appendLine(encodeRecordLine(body), body.seq);
      options.onAppend?.(body);
    },
    flush: () => writer.flush(),
    async flushedSize() {
      await writer.flush();
      return writer.sizeBytes;
    },
    get durableSeq() {
      return writer.durableSeq;
    },
    closeFile: () => writer.closeFile(),
    openFile: (path: string) => writer.openFile(path),
  };
}
