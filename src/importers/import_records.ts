/**
 * The v1 records of an imported transcript: a `session_start`, one `message` per line (the
 * line kept byte for byte as its payload frame, what the importer read in `meta`), and a
 * `session_end`. The log's own format, so search, show, export and replay read them like bus
 * sessions.
 *
 * @module
 */
import { decodeFrame } from "../enrich/frames.ts";
import { estimateTokens, PREVIEW_CHARS } from "../enrich/metadata.ts";
import type { RecordBody } from "../store/record.ts";
import { RECORD_FORMAT_VERSION } from "../version.ts";
import type { ReadLine } from "./read_transcript.ts";
import type { TranscriptFormat } from "./transcript.ts";

/** Longest readable text kept in `meta.search_text` (the frame keeps the whole line). */
export const MAX_SEARCH_TEXT_CHARS = 64 * 1024;

/** Where an imported record came from: `meta.imported_from`. */
export interface ImportedFrom {
  /** The file's absolute path when it was imported. */
  readonly path: string;
  /** 1-based line number. */
  readonly line: number;
  readonly format: TranscriptFormat;
  /** The key that makes importing the line again add nothing. */
  readonly key: string;
}

/** Where the records go: the first seq to use, the session id and when the import ran. */
export interface ImportPlacement {
  readonly firstSeq: number;
  readonly session: string;
  readonly importedAt: Date;
}

const encoder = new TextEncoder();

/**
 * The records of `lines` (already read from `path`), seqs from `placement.firstSeq` up:
 * `lines.length + 2` of them. A message's `received_at` is the transcript's own time for it (a
 * line without one takes the time of the line before it, leading ones the first time found, and
 * a transcript without any times the import time), so the index and `--since` see the
 * conversation's times; `meta.imported_at` says when it was imported.
 *
 * @example
 * ```ts
 * const records = importedRecords(transcript.lines, { path, format: "claude-code" }, placement);
 * ```
 */
export function importedRecords(
  lines: readonly ReadLine[],
  source: { readonly path: string; readonly format: TranscriptFormat },
  placement: ImportPlacement,
): RecordBody[] {
  const times = lineTimes(lines, placement.importedAt);
  const topic = `import/${source.format}`;
  const topicFrame = encoder.encode(topic);
  let seq = placement.firstSeq;
  const base = (type: "session_start" | "session_end" | "message", at: Date) => ({
    v: RECORD_FORMAT_VERSION,
    seq: seq++,
    type,
    session: placement.session,
    received_at: at.toISOString(),
  });
  const first = times[0] ?? placement.importedAt;
  const records: RecordBody[] = [{
    ...base("session_start", first),
    reason: `import of ${source.path}`,
    imported_from: { path: source.path, format: source.format },
    imported_at: placement.importedAt.toISOString(),
  }];
  lines.forEach((line, i) => {
    const { entry } = line;
    const frame = decodeFrame(line.bytes, { blobThresholdBytes: Number.POSITIVE_INFINITY });
    const importedFrom: ImportedFrom = {
      path: source.path,
      line: line.line,
      format: source.format,
      key: entry.key,
    };
    const meta: Record<string, unknown> = {
      format: frame.text === null ? "binary" : "json",
      bytes: topicFrame.length + line.bytes.length,
      tokens: estimateTokens(entry.text),
    };
    if (entry.sender !== null) meta.sender = entry.sender;
    if (entry.recipient !== null) meta.recipient = entry.recipient;
    if (entry.kind !== null) meta.kind = entry.kind;
    const preview = previewOf(entry.text);
    if (preview !== "") meta.preview = preview;
    if (entry.text !== "") meta.search_text = entry.text.slice(0, MAX_SEARCH_TEXT_CHARS);
    if (entry.session !== null) meta.transcript_session = entry.session;
    meta.imported_from = importedFrom;
    meta.imported_at = placement.importedAt.toISOString();
    records.push({ ...base("message", times[i]!), topic, frames: [topic, frame.stored], meta });
  });
  records.push({ ...base("session_end", times.at(-1) ?? first), reason: "import complete" });
  return records;
}

/** Each line's time: its own, else the one before it, else the import time. */
function lineTimes(lines: readonly ReadLine[], importedAt: Date): Date[] {
  const firstKnown = lines.find((line) => line.entry.time !== null)?.entry.time ?? importedAt;
  let previous = firstKnown;
  return lines.map((line) => previous = line.entry.time ?? previous);
}

function previewOf(text: string): string {
  const oneLine = text.slice(0, PREVIEW_CHARS * 2).replace(/\s+/g, " ").trim();
  return oneLine.length > PREVIEW_CHARS ? oneLine.slice(0, PREVIEW_CHARS - 1) + "…" : oneLine;
}
