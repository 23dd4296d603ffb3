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
 * Adapts `writer` to {@link SessionAppender}.
 *
 * @example
 * ```ts
 * await rotateSession({ layout, log: writerAppender(writer), journal, checkpoints }, from, reason, { kind: "new" });
 * ```
 */
export function writerAppender(writer: RecordWriter): SessionAppender {
  return {
    append: (body: RecordBody) => writer.appendLine(encodeRecordLine(body), body.seq),
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
