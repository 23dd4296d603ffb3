import { UsageError } from "../errors.ts";
import { Buffer } from "node:buffer";
import { type BlobFrame, isBlobFrame } from "../store/blob_store.ts";
import { decodeStoredFrames, type StoredFrame } from "../store/record.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { openIndexForReading, readHitRecord } from "./index_access.ts";
import { printJson, printLine, styler } from "./output.ts";
import { formatBytes, formatTime } from "./render.ts";

const OPTIONS = { ...COMMON_OPTIONS, raw: { type: "boolean" } } as const;
const FRAME_PREVIEW_BYTES = 4096;
const encoder = new TextEncoder();

/** `shearwater-persist show SEQ`: one full record, read from the log. */
export const showCommand: Command = {
  name: "show",
  summary: "print one full record by its seq, read from the log",
  help: `Usage: shearwater-persist show SEQ [options]

Finds record SEQ through the index and prints it from the log (its checksum is
verified first): metadata, then every frame; JSON payloads are pretty-printed,
binary frames shown as size and base64. Frames stored as blobs are read from
<data-dir>/blobs/ and checked against their hash first (text printed in full).

Options:
  --raw              print the log line exactly as stored
${COMMON_HELP}

Exit codes: 0 shown, 1 no such record, 2 bad arguments.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("show", args, OPTIONS, true);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const seq = integerFlag("SEQ", positionals[0]);
    if (seq === undefined || positionals.length !== 1) {
      throw new UsageError('Missing SEQ: use "shearwater-persist show 1234"');
    }
    const layout = layoutFromFlags(values);
    const index = await openIndexForReading(layout, { quiet: values.json || values.raw });
    let hit;
    let lastSeq;
    try {
      hit = index.locate(seq);
      lastSeq = index.lastSeq();
    } finally {
      index.close();
    }
    if (!hit) {
      printLine(`No record with seq ${seq} (records indexed up to seq ${lastSeq}).`);
      return 1;
    }
    const { record, line } = await readHitRecord(layout, hit);
    if (values.raw) {
      await Deno.stdout.write(line);
      return 0;
    }
    if (values.json) {
      printJson({ file: hit.file, offset: hit.offset, record });
      return 0;
    }
    const style = styler();
    printLine(style.bold(`Record #${record.seq} (${record.type})`));
    printLine(`  time      ${formatTime(Date.parse(record.received_at))} UTC`);
    printLine(`  session   ${record.session}`);
    printLine(`  stored    ${hit.file} at byte ${hit.offset} (${hit.length} bytes)`);
    if (record.type !== "message") {
      const { v: _v, seq: _s, type: _t, session: _se, received_at: _r, crc: _c, ...rest } = record;
      printLine(indent(JSON.stringify(rest, null, 2)));
      return 0;
    }
    printLine(`  topic     ${record.topic ?? "(binary)"}`);
    printLine(`  meta      ${JSON.stringify(record.meta)}`);
    const frames = record.frames as StoredFrame[];
    const bytes = decodeStoredFrames(frames, { blobDir: layout.blobsDir });
    frames.forEach((frame, i) => {
      if (isBlobFrame(frame)) {
        printLine(style.dim(`  frame ${i} (${formatBytes(bytes[i]!.length)}, blob ${frame.blob})`));
        printBlobFrame(frame, bytes[i]!);
        return;
      }
      printLine(style.dim(`  frame ${i} (${formatBytes(bytes[i]!.length)})`));
      printLine(indent(renderFrame(frame, bytes[i]!)));
    });
    return 0;
  },
};

const BLOB_PRINT_CHUNK_BYTES = 1024 * 1024;

/**
 * Prints a blob frame (already checked against its hash): text in full, streamed in chunks so
 * a frame too large for one JavaScript string still prints; binary as size and base64 start.
 */
function printBlobFrame(frame: BlobFrame, bytes: Uint8Array): void {
  if (frame.head === undefined || !isUtf8(bytes)) {
    const start = bytes.subarray(0, (FRAME_PREVIEW_BYTES / 4) * 3);
    const shown = Buffer.from(start.buffer, start.byteOffset, start.byteLength).toString("base64");
    printLine(indent(`<binary, base64> ${shown}${start.length < bytes.length ? "…" : ""}`));
    return;
  }
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let atLineStart = true;
  for (let at = 0; at < bytes.length; at += BLOB_PRINT_CHUNK_BYTES) {
    const text = decoder.decode(bytes.subarray(at, at + BLOB_PRINT_CHUNK_BYTES), { stream: true });
    const indented = (atLineStart ? "    " : "") + text.replaceAll("\n", "\n    ");
    atLineStart = text.endsWith("\n");
    Deno.stdout.writeSync(encoder.encode(atLineStart ? indented.slice(0, -4) : indented));
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
  } catch {
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
      return JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      // not JSON after all: shown as text below
    }
  }
  return bytes.length === 0 ? "(empty)" : frame;
}

function indent(text: string): string {
  return text.split("\n").map((line) => `    ${line}`).join("\n");
}
