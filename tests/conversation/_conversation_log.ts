/**
 * A recorded conversation for the context/export tests: three agents talking, with a code
 * block, hostile HTML, a long message, presence chatter, a daemon event, a binary frame and a
 * replayed message, written as a real log in a data dir.
 */
import { messageRecord } from "../../src/enrich/mod.ts";
import { type DataDirLayout, ensureDataDir } from "../../src/store/data_dir.ts";
import type { RecordBody } from "../../src/store/record.ts";
import { eventRecord, sessionStartRecord, writeLog } from "../log_fixtures.ts";

const encoder = new TextEncoder();

/** The session of {@link writeConversation}'s log. */
export const SESSION = "20261125_133107_c0de";
/** Text of the message that must show as text, never run, in every output. */
export const HOSTILE = `Careful: <script>document.title = "pwned"</script> ` +
  `<img src=x onerror="document.title = 'pwned-img'"> & "quotes" 'too'`;
/** A message with a fenced code block. */
export const CODE = "Here is the fix:\n```ts\nif (a < b && c > d) return `x`;\n```\nPlease review.";
/** A long message (4,000 characters). */
export const LONG = "The full design, point by point. " + "x".repeat(3960) + " END-OF-LONG";

function chat(
  seq: number,
  at: Date,
  fields: { from: string; to?: string; content: string; topic?: string },
): RecordBody {
  const payload = JSON.stringify({
    from: fields.from,
    to: fields.to,
    type: "chat",
    content: fields.content,
  });
  return messageRecord(
    [encoder.encode(fields.topic ?? `agent.${fields.from}`), encoder.encode(payload)],
    { seq, session: SESSION, receivedAt: at },
  );
}

/**
 * The records of the conversation, the newest `newestAgoMs` before now (1 s apart). Seqs: 1
 * session_start, 2 claude → gemini (code), 3 presence, 4 gap, 5 gemini → claude (hostile),
 * 6 codex → all (long), 7 binary, 8 replay of 2, 9 codex → gemini, 10 claude (no recipient) on
 * `ops.deploy`.
 */
export function conversationRecords(newestAgoMs = 60_000): RecordBody[] {
  const base = Date.now() - newestAgoMs - 9_000;
  const at = (seq: number) => new Date(base + seq * 1000);
  const start = { ...sessionStartRecord(1, SESSION), received_at: at(1).toISOString() };
  const gap = { ...eventRecord(4, SESSION, "gap"), received_at: at(4).toISOString() };
  const replayed = chat(8, at(8), { from: "claude", to: "gemini", content: "REPLAYED " + CODE });
  return [
    start,
    chat(2, at(2), { from: "claude", to: "gemini", content: CODE }),
    messageRecord(
      [
        encoder.encode("shearwater.presence"),
        encoder.encode(JSON.stringify({ agent: "codex", event: "hello" })),
      ],
      { seq: 3, session: SESSION, receivedAt: at(3) },
    ),
    gap,
    chat(5, at(5), { from: "gemini", to: "claude", content: HOSTILE }),
    chat(6, at(6), { from: "codex", to: "all", content: LONG }),
    messageRecord([encoder.encode("bin.frame"), new Uint8Array([0, 0xff, 0x80, 7])], {
      seq: 7,
      session: SESSION,
      receivedAt: at(7),
    }),
    { ...replayed, meta: { ...(replayed.meta as object), replay_of: 2 } },
    chat(9, at(9), { from: "codex", to: "gemini", content: "codex tells gemini a secret" }),
    chat(10, at(10), { from: "claude", content: "deploying now", topic: "ops.deploy" }),
  ];
}

/** A data dir under `root` whose current log holds {@link conversationRecords}. */
export async function writeConversation(
  root: string,
  newestAgoMs?: number,
): Promise<{ layout: DataDirLayout; bytes: Uint8Array }> {
  const layout = await ensureDataDir(`${root}/data`);
  const bytes = await writeLog(layout.currentLog, conversationRecords(newestAgoMs));
  return { layout, bytes };
}
