import { assert, assertEquals } from "../_assert.ts";
import * as zmq from "zeromq";
import {
  killLockHolder,
  runCli,
  spawnCli,
  startTestBroker,
  tempDir,
  waitFor,
  waitForDurable,
  waitForIndexed,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";
import {
  assertNoControls,
  HOSTILE_CONTENT,
  HOSTILE_LABEL,
  HOSTILE_RECIPIENT,
  HOSTILE_SENDER,
  hostileDataDir,
  NUL_TOPIC,
  relabelCheckpoints,
  runInTerminal,
} from "./_hostile.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

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
      // Warm-ups still in flight count toward the baseline: wait for the last message itself.
      const log = `${dataDir}/current_session.jsonl`;
      await waitFor(
        "the NUL-topic message in the log",
        async () => (await Deno.readTextFile(log)).includes(`"topic":${JSON.stringify(NUL_TOPIC)}`),
      );
      // recent and search read the index, which the daemon's indexer fills a moment later.
      await waitForIndexed(dataDir);
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

    const unknown = await runCli(["checkpoint", "show", HOSTILE_LABEL, "--data-dir", dataDir]);
    assert(unknown.code !== 0, "no such checkpoint");
    assertNoControls(unknown.stderr, "an error quoting the hostile id");
    assert(unknown.stderr.includes("␛]0;pwned␇"), unknown.stderr);

    const screen = await runInTerminal(["checkpoint", "show", "latest", "--data-dir", dataDir]);
    assertNoControls(screen, "checkpoint show on a terminal");
  } finally {
    await dir.cleanup();
  }
});

Deno.test({
  name: "launch shows a hostile agent name (a subscription topic) visibly",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("hostile_launch");
    const { endpoints, broker } = await startTestBroker();
    const dataDir = `${dir.path}/data`;
    const launcher = await spawnCli([
      "launch",
      ...["--data-dir", dataDir, "--frontend", endpoints.frontend, "--backend", endpoints.backend],
      ...["--grace-ms", "200", "--once", "--no-menu"],
    ], `${dir.path}/launch.log`);
    const agent = new zmq.Subscriber({ linger: 0 });
    const output = () => Deno.readTextFile(`${dir.path}/launch.log.out`).catch(() => "");
    try {
      await waitFor("the launcher to watch", async () => (await output()).includes("Watching"));
      agent.subscribe(`agent.${HOSTILE_SENDER}`);
      agent.connect(endpoints.backend);
      await waitFor(
        "the agent to be detected",
        async () => (await output()).includes("Daemon started"),
      );
      agent.unsubscribe(`agent.${HOSTILE_SENDER}`);
      assertEquals((await launcher.child.status).code, 0);
      const said = await output();
      assertNoControls(said, "launch");
      assert(said.includes("Agent detected (topic:agent.␛[31mred␛]0;pwned␇)"), said);
    } finally {
      agent.close();
      await launcher.kill();
      await killLockHolder(`${dataDir}/daemon.lock`);
      await broker.stop();
      await dir.cleanup();
    }
  },
});
