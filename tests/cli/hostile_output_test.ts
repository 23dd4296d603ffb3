import { assert, assertEquals } from "../_assert.ts";
import { RUN_PERMISSIONS } from "../../src/cli/self_command.ts";
import { messageRecord } from "../../src/enrich/mod.ts";
import { encodeRecordLine } from "../../src/store/record.ts";
import {
  MAIN_PATH,
  runCli,
  tempDir,
  waitForDurable,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** What a hostile agent puts on the bus: terminal escapes, BEL, NUL, CR, C1 and bidi controls. */
const HOSTILE_SENDER = "\u001b[31mred\u001b]0;pwned\u0007";
const HOSTILE_RECIPIENT = "\u009b2Jbob\u202eevil";
const HOSTILE_CONTENT =
  "kiwi \u001b[2J cleared\r overwritten \u0000after-nul \u2066iso\u2069 tail ⟦fake⟧";
const NUL_TOPIC = "nul\u0000topic";
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

/** Runs the CLI with stdout on a pseudo-terminal (`script`), so colours are on. */
async function runInTerminal(args: string[]): Promise<string> {
  const command = [Deno.execPath(), "run", ...RUN_PERMISSIONS, MAIN_PATH, ...args]
    .map((part) => `'${part}'`).join(" ");
  const output = await new Deno.Command("script", {
    args: ["-q", "-e", "-c", command, "/dev/null"],
    stdin: "null",
    env: { NO_COLOR: "" },
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  // The terminal turns each newline into CR LF: undo that, so a CR left is one from data.
  return new TextDecoder().decode(output.stdout).replaceAll("\r\n", "\n");
}

Deno.test({
  name: "recent, search, show, sessions and stats show hostile message data visibly, never raw",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("hostile", {}, async (rig) => {
      const { dataDir, publisher } = rig;
      const baseline = await warmUp(publisher, dataDir);
      await publisher.send([
        "agents",
        JSON.stringify({ from: HOSTILE_SENDER, to: HOSTILE_RECIPIENT, content: HOSTILE_CONTENT }),
      ]);
      await publisher.send([NUL_TOPIC, "kiwi before\u0000afterword\u001b[2J\rover"]);
      await waitForDurable(dataDir, baseline, 2);
      const dir = ["--data-dir", dataDir];

      const json = await runCli(["recent", "2", ...dir, "--json"]);
      assertEquals(json.code, 0, json.stderr);
      assert(!/[\u0080-\u009f\u2028-\u202e\u2066-\u2069]/.test(json.stdout), "--json escapes C1");
      const [hostile, nul] = JSON.parse(json.stdout).messages as Record<string, unknown>[];
      assertEquals([hostile!.sender, hostile!.recipient], [HOSTILE_SENDER, HOSTILE_RECIPIENT]);
      assertEquals([nul!.topic, nul!.preview], [
        NUL_TOPIC,
        "kiwi before\u0000afterword\u001b[2J over",
      ]);

      const recent = await runCli(["recent", "2", ...dir]);
      assertEquals(recent.code, 0, recent.stderr);
      assertNoControls(recent.stdout, "recent");
      assert(
        recent.stdout.includes("␛[31mred␛]0;pwned␇ → \\u{9b}2Jbob\\u{202e}evil"),
        recent.stdout,
      );
      assert(recent.stdout.includes("␛[2J cleared overwritten ␀after-nul"), recent.stdout);
      assert(recent.stdout.includes("[nul␀topic]"), recent.stdout);
      assert(recent.stdout.includes("kiwi before␀afterword␛[2J over"), recent.stdout);

      const search = await runCli(["search", "kiwi", ...dir]);
      assertEquals(search.code, 0, search.stderr);
      assertNoControls(search.stdout, "search");
      assert(search.stdout.includes("␀after-nul \\u{2066}iso\\u{2069} tail"), search.stdout);
      // Without colour a match is ⟦marked⟧; the same brackets in data cannot pass for one.
      assert(search.stdout.includes("⟦kiwi⟧ ␛[2J"), search.stdout);
      assert(search.stdout.includes("tail \\u{27e6}fake\\u{27e7}"), search.stdout);
      const afterNul = await runCli(["search", "afterword", ...dir, "--json"]);
      assertEquals(JSON.parse(afterNul.stdout).count, 1, "words after a NUL are searchable");

      const show = await runCli(["show", String(hostile!.seq), ...dir]);
      assertEquals(show.code, 0, show.stderr);
      assertNoControls(show.stdout, "show");
      assert(show.stdout.includes('"to": "\\u009b2Jbob\\u202eevil"'), show.stdout);
      const showNul = await runCli(["show", String(nul!.seq), ...dir]);
      assertNoControls(showNul.stdout, "show of the NUL topic");
      assert(showNul.stdout.includes("topic     nul␀topic"), showNul.stdout);
      assert(showNul.stdout.includes("kiwi before␀afterword␛[2J␍over"), showNul.stdout);

      for (const command of [["sessions"], ["stats"]]) {
        const result = await runCli([...command, ...dir]);
        assertEquals(result.code, 0, result.stderr);
        assertNoControls(result.stdout, command[0]!);
        assert(result.stdout.includes("␛[31mred"), result.stdout);
      }

      const onTerminal: [string[], string][] = [
        [["recent", "2"], "␛[31mred"],
        [["search", "kiwi"], "␛[2J cleared"],
        [["show", String(hostile!.seq)], '"from": "\\u001b[31mred'],
      ];
      for (const [command, expected] of onTerminal) {
        const screen = await runInTerminal([...command, ...dir]);
        assert(screen.includes("\u001b["), `${command[0]}: colours are on in a terminal`);
        assertNoControls(screen, `${command[0]} on a terminal`);
        assert(screen.includes(expected), screen);
      }
    });
  },
});

/** Writes a log of `count` messages from a hostile sender straight to a new data dir. */
export async function hostileDataDir(root: string, count: number): Promise<string> {
  const dataDir = `${root}/data`;
  await Deno.mkdir(dataDir, { recursive: true });
  const session = "20261125_100000_aaaa";
  const lines = [encodeRecordLine({
    v: 1,
    seq: 1,
    type: "session_start",
    session,
    received_at: "2026-11-25T10:00:00.000Z",
  })];
  for (let i = 0; i < count; i++) {
    const payload = JSON.stringify({
      from: HOSTILE_SENDER,
      content: `note ${i} ${HOSTILE_CONTENT}`,
    });
    lines.push(encodeRecordLine(messageRecord([utf8.encode("agents"), utf8.encode(payload)], {
      seq: i + 2,
      session,
      receivedAt: new Date(Date.parse("2026-11-25T10:00:01Z") + i * 1000),
    })));
  }
  await Deno.writeFile(`${dataDir}/current_session.jsonl`, concat(lines), { mode: 0o600 });
  return dataDir;
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

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A checkpoint label holding what a terminal would act on. */
export const HOSTILE_LABEL = "\u001b]0;pwned\u0007\u001b[2Jsaved\u202eevil";

Deno.test("checkpoint list, show and the menu show hostile labels and senders visibly", async () => {
  const dir = await tempDir("hostile_checkpoint");
  try {
    const dataDir = await hostileDataDir(dir.path, 3);
    const created = await runCli(["checkpoint", "create", "--data-dir", dataDir]);
    assertEquals(created.code, 0, created.stderr);
    const untitled = await runCli(["checkpoint", "list", "--data-dir", dataDir]);
    assertNoControls(untitled.stdout, "checkpoint list (title from the data)");
    await relabelCheckpoints(dataDir, HOSTILE_LABEL);
    const shownLabel = "␛]0;pwned␇␛[2Jsaved\\u{202e}evil";

    const list = await runCli(["checkpoint", "list", "--data-dir", dataDir]);
    assertEquals(list.code, 0, list.stderr);
    assertNoControls(list.stdout, "checkpoint list");
    assert(list.stdout.includes("| ␛]0;pwned␇␛[2Jsaved"), list.stdout);

    const show = await runCli(["checkpoint", "show", "latest", "--data-dir", dataDir]);
    assertEquals(show.code, 0, show.stderr);
    assertNoControls(show.stdout, "checkpoint show");
    assert(show.stdout.includes(shownLabel), show.stdout);
    assert(show.stdout.includes("␛[31mred␛]0;pwned␇"), show.stdout);

    const json = await runCli(["checkpoint", "list", "--data-dir", dataDir, "--json"]);
    assertEquals(JSON.parse(json.stdout).checkpoints[0].label, HOSTILE_LABEL);

    const menu = await runCli(["menu", "--data-dir", dataDir]);
    assertEquals(menu.code, 6);
    assertNoControls(menu.stdout, "menu without a terminal");
    assert(menu.stdout.includes("| ␛]0;pwned␇␛[2Jsaved"), menu.stdout);

    const screen = await runInTerminal(["checkpoint", "show", "latest", "--data-dir", dataDir]);
    assertNoControls(screen, "checkpoint show on a terminal");
  } finally {
    await dir.cleanup();
  }
});
