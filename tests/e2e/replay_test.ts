import { assert, assertEquals } from "../_assert.ts";
import {
  daemonStatus,
  readRecords,
  runCli,
  waitFor,
  waitForDurable,
  waitForIndexed,
  warmUp,
  withRecordingRig,
} from "../_helpers.ts";
import { decodeStoredFrames, type LogRecord, type StoredFrame } from "../../src/store/record.ts";

const encoder = new TextEncoder();

/** A small conversation: JSON, text, a binary frame and a three-frame message. */
function conversation(): Uint8Array[][] {
  const json = (value: unknown) => encoder.encode(JSON.stringify(value));
  return [
    [
      encoder.encode("agent.chat"),
      json({ from: "claude", to: "gemini", content: "zebrafish plan" }),
    ],
    [encoder.encode("agent.chat"), json({ from: "gemini", to: "claude", content: "zebrafish ok" })],
    [encoder.encode("agent.raw"), new Uint8Array([0xff, 0x00, 0xfe, 0x80])],
    [encoder.encode("agent.chat"), encoder.encode("zebrafish in text"), encoder.encode("tail")],
  ];
}

function bytesOf(record: LogRecord, dataDir: string): Uint8Array[] {
  return decodeStoredFrames(record.frames as StoredFrame[], { blobDir: `${dataDir}/blobs` });
}

Deno.test("replay sends a recorded session byte for byte; the recorder marks each replay_of and search/recent hide them", async () => {
  await withRecordingRig("replay_e2e", {}, async (rig) => {
    const baseline = await warmUp(rig.publisher, rig.dataDir);
    const messages = conversation();
    for (const frames of messages) await rig.publisher.send(frames);
    await waitForDurable(rig.dataDir, baseline, messages.length);
    const session = (await daemonStatus(rig.dataDir))!.session;
    const originals = (await readRecords(`${rig.dataDir}/current_session.jsonl`))
      .filter((record) => record.type === "message" && String(record.topic).startsWith("agent."));
    assertEquals(originals.length, messages.length);

    const replay = await runCli([
      "replay",
      "--data-dir",
      rig.dataDir,
      "--session",
      session,
      "--topic",
      "agent.",
      "--frontend",
      rig.endpoints.frontend,
      "--burst",
      "--yes",
      "--json",
    ]);
    assertEquals(replay.code, 0, replay.stderr);
    const summary = JSON.parse(replay.stdout);
    assertEquals(summary.sent, messages.length);
    assertEquals(summary.marked_for_recorder, messages.length);
    assertEquals(summary.no_subscriber, 0); // the daemon subscribes to everything

    await waitForDurable(rig.dataDir, baseline, 2 * messages.length);
    const records = await readRecords(`${rig.dataDir}/current_session.jsonl`);
    const replays = records.filter((record) =>
      typeof (record.meta as { replay_of?: number } | undefined)?.replay_of === "number"
    );
    assertEquals(replays.length, messages.length);
    for (const [i, replayed] of replays.entries()) {
      const original = originals[i]!;
      assertEquals((replayed.meta as { replay_of: number }).replay_of, original.seq);
      assert(replayed.seq > original.seq);
      assertEquals(bytesOf(replayed, rig.dataDir), bytesOf(original, rig.dataDir));
      assertEquals(bytesOf(replayed, rig.dataDir), messages[i]);
    }

    await waitForIndexed(rig.dataDir);
    const replaySeqs = new Set(replays.map((record) => record.seq));
    const recent = JSON.parse(
      (await runCli(["recent", "50", "--json", "--data-dir", rig.dataDir])).stdout,
    );
    const recentSeqs: number[] = recent.messages.map((hit: { seq: number }) => hit.seq);
    assert(recentSeqs.length > 0);
    assert(recentSeqs.every((seq) => !replaySeqs.has(seq)), "recent shows a replay");
    const recentAll = JSON.parse(
      (await runCli(["recent", "50", "--json", "--include-replays", "--data-dir", rig.dataDir]))
        .stdout,
    );
    const allSeqs: number[] = recentAll.messages.map((hit: { seq: number }) => hit.seq);
    assert([...replaySeqs].every((seq) => allSeqs.includes(seq)), "--include-replays misses one");

    const search = await runCli(["search", "zebrafish", "--json", "--data-dir", rig.dataDir]);
    const searchSeqs: number[] = JSON.parse(search.stdout).results.map((hit: { seq: number }) =>
      hit.seq
    );
    assertEquals(searchSeqs.length, 3);
    assert(searchSeqs.every((seq) => !replaySeqs.has(seq)), "search shows a replay");
    const searchAll = await runCli([
      "search",
      "zebrafish",
      "--json",
      "--include-replays",
      "--data-dir",
      rig.dataDir,
    ]);
    assertEquals(JSON.parse(searchAll.stdout).count, 6);
  });
});

Deno.test("replay --remap rewrites the topic frame and keeps the rest byte for byte", async () => {
  await withRecordingRig("replay_remap", {}, async (rig) => {
    const baseline = await warmUp(rig.publisher, rig.dataDir);
    const messages = conversation();
    for (const frames of messages) await rig.publisher.send(frames);
    await waitForDurable(rig.dataDir, baseline, messages.length);
    const records = await readRecords(`${rig.dataDir}/current_session.jsonl`);
    const first = records.find((record) => record.topic === "agent.chat")!.seq;
    const last = records.at(-1)!.seq;
    const replay = await runCli([
      "replay",
      "--data-dir",
      rig.dataDir,
      "--seq",
      `${first}..${last}`,
      "--remap",
      "agent.=side.",
      "--exclude",
      "*.raw",
      "--frontend",
      rig.endpoints.frontend,
      "--max-rate",
      "1000",
      "--yes",
      "--json",
    ]);
    assertEquals(replay.code, 0, replay.stderr);
    assertEquals(JSON.parse(replay.stdout).skipped, 1);
    await waitForDurable(rig.dataDir, baseline, messages.length + 3);
    const after = await readRecords(`${rig.dataDir}/current_session.jsonl`);
    const side = after.filter((record) => String(record.topic).startsWith("side."));
    assertEquals(side.map((record) => record.topic), ["side.chat", "side.chat", "side.chat"]);
    const kept = [messages[0]!, messages[1]!, messages[3]!];
    side.forEach((record, i) => {
      const bytes = bytesOf(record, rig.dataDir);
      assertEquals(new TextDecoder().decode(bytes[0]), "side.chat");
      assertEquals(bytes.slice(1), kept[i]!.slice(1));
    });
  });
});

Deno.test("replay says so and sends nothing when nobody subscribes", async () => {
  await withRecordingRig("replay_nobody", {}, async (rig) => {
    const baseline = await warmUp(rig.publisher, rig.dataDir);
    await waitFor("the warm-up to be durable", async () => {
      const status = await daemonStatus(rig.dataDir);
      return status !== undefined && status.durable_seq === status.seq;
    });
    void baseline;
    // A port where no broker listens: no subscription ever arrives.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const replay = await runCli([
      "replay",
      "--data-dir",
      rig.dataDir,
      "--seq",
      "1..1000",
      "--frontend",
      `tcp://127.0.0.1:${port}`,
      "--wait-ms",
      "300",
      "--yes",
    ]);
    assertEquals(replay.code, 1);
    assert(replay.stderr.includes("nobody subscribes"), replay.stderr);
  });
});

Deno.test("replay --dry-run lists the messages, paced by --speed, from a session or a checkpoint, and sends nothing", async () => {
  await withRecordingRig("replay_dry", {}, async (rig) => {
    const baseline = await warmUp(rig.publisher, rig.dataDir);
    const messages = conversation();
    for (const frames of messages) await rig.publisher.send(frames);
    await waitForDurable(rig.dataDir, baseline, messages.length);
    const session = (await daemonStatus(rig.dataDir))!.session;
    const dry = await runCli([
      "replay",
      "--data-dir",
      rig.dataDir,
      "--session",
      session,
      "--topic",
      "agent.",
      "--dry-run",
      "--json",
    ]);
    assertEquals(dry.code, 0, dry.stderr);
    const listed = JSON.parse(dry.stdout);
    assertEquals(listed.count, messages.length);
    assertEquals(listed.messages.map((m: { topic: string }) => m.topic), [
      "agent.chat",
      "agent.chat",
      "agent.raw",
      "agent.chat",
    ]);
    // --speed 2 halves the recorded spacing.
    const records = await readRecords(`${rig.dataDir}/current_session.jsonl`);
    const seqs: number[] = listed.messages.map((m: { seq: number }) => m.seq);
    const times = seqs.map((seq) =>
      Date.parse(records.find((record) => record.seq === seq)!.received_at)
    );
    const fast = await runCli([
      "replay",
      "--data-dir",
      rig.dataDir,
      "--session",
      session,
      "--topic",
      "agent.",
      "--speed",
      "2",
      "--dry-run",
      "--json",
    ]);
    assertEquals(
      JSON.parse(fast.stdout).messages.map((m: { at_ms: number }) => m.at_ms),
      times.map((at) => Math.round((at - times[0]!) / 2)),
    );
    // A checkpoint selects the same messages.
    const created = await runCli(["checkpoint", "create", "--data-dir", rig.dataDir]);
    assertEquals(created.code, 0, created.stderr);
    const fromCheckpoint = await runCli([
      "replay",
      "--data-dir",
      rig.dataDir,
      "--checkpoint",
      "latest",
      "--topic",
      "agent.",
      "--dry-run",
      "--json",
    ]);
    assertEquals(fromCheckpoint.code, 0, fromCheckpoint.stderr);
    assertEquals(
      JSON.parse(fromCheckpoint.stdout).messages.map((m: { seq: number }) => m.seq),
      seqs,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals((await daemonStatus(rig.dataDir))!.received, baseline + messages.length);
  });
});

Deno.test("replay refuses a bad selection or pace with exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shearwater_replay_args_" });
  try {
    for (
      const args of [
        ["--session", "a", "--seq", "1..2"],
        [],
        ["--seq", "5..2"],
        ["--seq", "1..2", "--burst", "--speed", "2"],
        ["--seq", "1..2", "--speed", "0"],
        ["--seq", "1..2", "--remap", "noequals"],
        ["--until", "1h"],
      ]
    ) {
      const result = await runCli(["replay", "--data-dir", dir, ...args]);
      assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
