import { renderHtml } from "../conversation/html.ts";
import { selectConversation } from "../conversation/select.ts";
import { renderMarkdown, transcriptEntries } from "../conversation/transcript.ts";
import { UsageError } from "../errors.ts";
import { PRIVATE_FILE_MODE } from "../store/data_dir.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { confirmChange } from "./confirm.ts";
import { filtersFromFlags } from "./filters.ts";
import { openConversation, STORE_OPTIONS } from "./history.ts";
import { printError, printJson, writeOutput } from "./output.ts";
import { createProgress } from "./progress.ts";
import { formatBytes, formatCount } from "./render.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  session: { type: "string" },
  checkpoint: { type: "string" },
  search: { type: "string" },
  sender: { type: "string" },
  topic: { type: "string" },
  kind: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
  format: { type: "string" },
  output: { type: "string", short: "o" },
  yes: { type: "boolean", short: "y" },
  "include-replays": { type: "boolean" },
} as const;

const FORMATS = ["md", "jsonl", "html"] as const;
type Format = typeof FORMATS[number];
/** Bytes to read before a progress bar is worth showing. */
const PROGRESS_ABOVE_BYTES = 8 * 1024 * 1024;
const DEFAULT_SEARCH_LIMIT = 100_000;
const encoder = new TextEncoder();

/** `shearwater-persist export`: a conversation as Markdown, JSONL or one HTML page. */
export const exportCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("export", args, OPTIONS, true);
    if (positionals.length > 0) {
      throw new UsageError(
        `Unexpected argument "${
          positionals[0]
        }" to "export": use --session, --checkpoint or --search`,
      );
    }
    const format = values.format as Format | undefined;
    if (format === undefined || !FORMATS.includes(format)) {
      throw new UsageError(
        `${format === undefined ? "Missing" : `Unknown format "${format}":`} --format: use md, ` +
          `jsonl or html`,
      );
    }
    const sources = ["session", "checkpoint", "search"].filter((flag) =>
      values[flag as "session"] !== undefined
    );
    if (values.search === undefined && sources.length !== 1) {
      throw new UsageError(
        "Name what to export: one of --session ID, --checkpoint ID or --search QUERY",
      );
    }
    if (values.search !== undefined && values.checkpoint !== undefined) {
      throw new UsageError("Cannot use --search with --checkpoint: --search reads the index");
    }
    const search = values.search === undefined ? undefined : {
      ...filtersFromFlags(values),
      text: values.search.trim() === "" ? undefined : values.search,
      limit: integerFlag("limit", values.limit, { min: 1 }) ?? DEFAULT_SEARCH_LIMIT,
    };
    if (values.output !== undefined) await checkOutputPath(values.output, values.yes);
    const { source, layout, close } = await openConversation("export", values, {
      search,
      quiet: values.json,
    });
    let conversation;
    let bytes;
    try {
      const progress = createProgress("Reading");
      let shown = false;
      const onProgress = (done: number, total: number) => {
        if (!shown && total < PROGRESS_ABOVE_BYTES) return;
        shown = true;
        progress.update(done, total, formatBytes(done));
      };
      conversation = await selectConversation(layout, source, {
        includeReplays: values["include-replays"],
        onProgress,
      });
      if (shown) progress.finish(`${formatCount(conversation.records.length)} records read`);
      bytes = render(format, conversation);
    } finally {
      await close();
    }
    if (values.output === undefined) {
      writeOutput(bytes);
    } else {
      await writePrivateFile(values.output, bytes);
      const summary = `${formatCount(conversation.records.length)} records written to ` +
        `${values.output} (${format}, ${formatBytes(bytes.length)})`;
      if (values.json) {
        printJson({
          output: values.output,
          format,
          records: conversation.records.length,
          bytes: bytes.length,
        });
      } else printError(summary);
    }
    return conversation.records.length > 0 ? 0 : 1;
  },
};

function render(
  format: Format,
  conversation: Awaited<ReturnType<typeof selectConversation>>,
): Uint8Array {
  if (format === "jsonl") {
    // The stored lines, byte for byte: every CRC still checks.
    const total = conversation.records.reduce((sum, r) => sum + r.line.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const { line } of conversation.records) {
      out.set(line, at);
      at += line.length;
    }
    return out;
  }
  const entries = transcriptEntries(conversation.records, { blobDir: conversation.blobDir });
  if (format === "md") return encoder.encode(renderMarkdown(conversation, entries).markdown);
  return encoder.encode(renderHtml(conversation, entries));
}

/** An existing file is replaced only when confirmed (on a terminal, or by --yes). */
async function checkOutputPath(path: string, yes: boolean | undefined): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isFile) {
    throw new UsageError(`Cannot write "${path}": it exists and is not a regular file`);
  }
  if (!confirmChange(`Replace the existing file "${path}"?`, yes)) {
    throw new UsageError(`Cannot write "${path}": not replaced (answered no)`);
  }
}

/** Writes the file through a temporary name, mode 0600, so a reader never sees half of it. */
async function writePrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(temporary, bytes, { mode: PRIVATE_FILE_MODE, createNew: true });
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch((cleanup: unknown) => {
      if (!(cleanup instanceof Deno.errors.NotFound)) throw cleanup;
    });
    throw error;
  }
}
