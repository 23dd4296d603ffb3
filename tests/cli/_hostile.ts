/** Hostile message data for the terminal-output tests, and checks that none of it reaches a terminal raw. */

import { assert } from "../_assert.ts";
import { RUN_PERMISSIONS } from "../../src/self_command.ts";
import { MAIN_PATH } from "../_helpers.ts";
import { writeNoteLog } from "../log_fixtures.ts";

/** What a hostile agent puts on the bus: terminal escapes, BEL, NUL, CR, C1 and bidi controls. */
export const HOSTILE_SENDER = "\u001b[31mred\u001b]0;pwned\u0007";
export const HOSTILE_RECIPIENT = "\u009b2Jbob\u202eevil";
export const HOSTILE_CONTENT =
  "kiwi \u001b[2J cleared\r overwritten \u0000after-nul \u2066iso\u2069 tail ⟦fake⟧";
export const NUL_TOPIC = "nul\u0000topic";
const utf8 = new TextEncoder();

/**
 * Bytes a terminal acts on that must never come from data: C0 controls but newline, DEL, C1,
 * line/paragraph separators and bidi controls. ESC is checked apart (our colours use it).
 */
const FORBIDDEN =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/;

/** Fails when `text` holds a control character, or an ESC that is not one of our own colours. */
export function assertNoControls(text: string, what: string): void {
  const found = FORBIDDEN.exec(text);
  assert(
    found === null,
    `${what}: control U+${found?.[0].codePointAt(0)?.toString(16)} in:\n${text}`,
  );
  // deno-lint-ignore no-control-regex
  const withoutOurColours = text.replace(/\u001b\[(?:0|1|2|31|32|33)m/g, "");
  assert(!withoutOurColours.includes("\u001b"), `${what}: a raw ESC from data in:\n${text}`);
}

/**
 * Runs the CLI with stdout on a pseudo-terminal (`script`) of `columns` columns, so colours are
 * on; returns what it printed on stdout (stderr, where Deno itself may draw, is dropped).
 */
export async function runInTerminal(args: string[], columns = 80): Promise<string> {
  const command = [Deno.execPath(), "run", ...RUN_PERMISSIONS, MAIN_PATH, ...args]
    .map((part) => `'${part}'`).join(" ");
  const output = await new Deno.Command("script", {
    args: ["-q", "-e", "-c", `stty cols ${columns} rows 50; ${command} 2>/dev/null`, "/dev/null"],
    stdin: "null",
    env: { NO_COLOR: "" },
  }).output();
  // The exit code is the command's (script -e); the callers check what was printed.
  // The terminal turns each newline into CR LF: undo that, so a CR left is one from data.
  return new TextDecoder().decode(output.stdout).replaceAll("\r\n", "\n");
}

/** Writes a log of `count` messages from a hostile sender straight to a new data dir. */
export async function hostileDataDir(root: string, count: number): Promise<string> {
  return await writeNoteLog(root, count, (i) => ({
    from: HOSTILE_SENDER,
    content: `note ${i} ${HOSTILE_CONTENT}`,
  }));
}

/**
 * Sets the label of every checkpoint manifest to `label` (with a valid checksum), the way an
 * older version or a hand edit could have stored it: `checkpoint create` may refuse it now.
 */
export async function relabelCheckpoints(dataDir: string, label: string): Promise<void> {
  for await (const entry of Deno.readDir(`${dataDir}/checkpoints`)) {
    if (!entry.name.startsWith("checkpoint_") || !entry.name.endsWith(".json")) continue;
    const path = `${dataDir}/checkpoints/${entry.name}`;
    const { checksum: _old, ...body } = JSON.parse(await Deno.readTextFile(path));
    body.label = label;
    const digest = await crypto.subtle.digest("SHA-256", utf8.encode(JSON.stringify(body)));
    const checksum = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    await Deno.writeTextFile(path, JSON.stringify({ ...body, checksum }, null, 2) + "\n");
  }
}

/** A checkpoint label holding what a terminal would act on. */
export const HOSTILE_LABEL = "\u001b]0;pwned\u0007\u001b[2Jsaved\u202eevil";
