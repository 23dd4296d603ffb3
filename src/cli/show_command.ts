import { DamagedDataError, ExitCode, UsageError } from "../errors.ts";
import { type BlobFrame, isBlobFrame } from "../store/blob_store.ts";
import type { HistoryFilters, HistoryReader } from "../store/history_reader.ts";
import { decodeStoredFrames, type StoredFrame } from "../store/record.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { openHistory, STORE_OPTIONS } from "./history.ts";
import { jsonText, printError, printJson, printLine, styler, writeOutput } from "./output.ts";
import { formatBytes, formatTime } from "./render.ts";
import { visible } from "./visible.ts";

const OPTIONS = { ...COMMON_OPTIONS, ...STORE_OPTIONS, raw: { type: "boolean" } } as const;
const FRAME_PREVIEW_BYTES = 4096;
const encoder = new TextEncoder();

/** `shearwater-persist show SEQ`: one full record, read from the log. */
export const showCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("show", args, OPTIONS, true);
    if (positionals.length > 1) {
      throw new UsageError('Too many arguments to "show": give one SEQ, as in "show 1234"');
    }
    const seq = integerFlag("SEQ", positionals[0], { min: 1 });
    if (seq === undefined) {
      throw new UsageError('Missing SEQ: use "shearwater-persist show 1234"');
    }
    const { reader, filters } = await openHistory(values, { quiet: values.json || values.raw });
    try {
      return await showRecord(reader, seq, { filters, json: values.json, raw: values.raw });
    } finally {
      await reader.close();
    }
  },
};

async function showRecord(
  reader: HistoryReader,
  seq: number,
  options: { filters: HistoryFilters; json?: boolean; raw?: boolean },
): Promise<number> {
  const hits = await reader.locate(seq, options.filters);
  const hit = hits[0];
  if (hit === undefined) {
    const lastSeq = await reader.lastSeq(options.filters);
    printLine(`No record with seq ${seq} (records indexed up to seq ${lastSeq}).`);
    return 1;
  }
  if (hits.length > 1) {
    throw new UsageError(
      `Cannot tell which record ${seq} to show: ${hits.length} origins have one ` +
        `(${hits.map((h) => h.origin).join(", ")}); add --origin ID`,
    );
  }
  let read;
  try {
    read = await reader.readRecord(hit);
  } catch (error) {
    if (!(error instanceof DamagedDataError) || !options.raw) throw error;
    // --raw shows the evidence: the bytes as stored, marked as damaged on stderr.
    printError(`damaged: record ${seq}: ${error.message}; its bytes as stored follow on stdout`);
    writeOutput(await reader.readBytes(hit));
    return ExitCode.damaged;
  }
  const { record, line } = read;
  if (options.raw) {
    writeOutput(line);
    return 0;
  }
  if (options.json) {
    printJson({
      ...(hit.origin === undefined ? {} : { origin: hit.origin }),
      file: hit.file,
      offset: hit.offset,
      record,
    });
    return 0;
  }
  const style = styler();
  printLine(style.bold(`Record #${record.seq} (${record.type})`));
  printLine(`  time      ${formatTime(Date.parse(record.received_at))} UTC`);
  printLine(`  session   ${visible(record.session)}`);
  printLine(`  stored    ${visible(reader.describeStorage(hit))}`);
  if (record.type !== "message") {
    const { v: _v, seq: _s, type: _t, session: _se, received_at: _r, crc: _c, ...rest } = record;
    printLine(indent(jsonText(rest, 2)));
    return 0;
  }
  printLine(
    `  topic     ${typeof record.topic === "string" ? visible(record.topic) : "(binary)"}`,
  );
  printLine(`  meta      ${jsonText(record.meta)}`);
  const frames = record.frames as StoredFrame[];
  const bytes = decodeStoredFrames(frames, { blobDir: await reader.blobDirFor([read]) });
  frames.forEach((frame, i) => {
    if (isBlobFrame(frame)) {
      printLine(style.dim(`  frame ${i} (${formatBytes(bytes[i]!.length)}, blob ${frame.blob})`));
      printBlobFrame(frame, bytes[i]!);
      return;
    }
    printLine(style.dim(`  frame ${i} (${formatBytes(bytes[i]!.length)})`));
    // A body keeps its newlines and tabs; every other control is shown, never sent.
    printLine(indent(visible(renderFrame(frame, bytes[i]!), { keepLayout: true })));
  });
  return 0;
}

const BLOB_PRINT_CHUNK_BYTES = 1024 * 1024;

/**
 * Prints a blob frame (already checked against its hash): text in full, streamed in chunks so
 * a frame too large for one JavaScript string still prints; binary as size and base64 start.
 */
function printBlobFrame(frame: BlobFrame, bytes: Uint8Array): void {
  if (frame.head === undefined || !isUtf8(bytes)) {
    const start = bytes.subarray(0, (FRAME_PREVIEW_BYTES / 4) * 3);
    const shown = start.toBase64();
    printLine(indent(`<binary, base64> ${shown}${start.length < bytes.length ? "…" : ""}`));
    return;
  }
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let atLineStart = true;
  for (let at = 0; at < bytes.length; at += BLOB_PRINT_CHUNK_BYTES) {
    const text = decoder.decode(bytes.subarray(at, at + BLOB_PRINT_CHUNK_BYTES), { stream: true });
    // Like inline frames: newlines and tabs kept, every other control shown, never sent.
    const shown = visible(text, { keepLayout: true });
    const indented = (atLineStart ? "    " : "") + shown.replaceAll("\n", "\n    ");
    atLineStart = shown.endsWith("\n");
    writeOutput(encoder.encode(atLineStart ? indented.slice(0, -4) : indented));
  }
  if (!atLineStart) printLine();
}

function isUtf8(bytes: Uint8Array): boolean {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    for (let at = 0; at < bytes.length; at += BLOB_PRINT_CHUNK_BYTES) {
      decoder.decode(bytes.subarray(at, at + BLOB_PRINT_CHUNK_BYTES), { stream: true });
    }
    decoder.decode();
    return true;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // TypeError: not UTF-8
    return false; // not text after all: shown as binary
  }
}

function renderFrame(frame: Exclude<StoredFrame, BlobFrame>, bytes: Uint8Array): string {
  if (typeof frame !== "string") {
    const shown = frame.b64.slice(0, FRAME_PREVIEW_BYTES);
    return `<binary, base64> ${shown}${shown.length < frame.b64.length ? "…" : ""}`;
  }
  const trimmed = frame.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return jsonText(JSON.parse(trimmed), 2);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      // not JSON after all: shown as text below
    }
  }
  return bytes.length === 0 ? "(empty)" : frame;
}

function indent(text: string): string {
  return text.split("\n").map((line) => `    ${line}`).join("\n");
}
