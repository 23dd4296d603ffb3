import {
  CheckpointPolicy,
  type PruneRules,
  selectPrunable,
} from "../../src/session/checkpoint_policy.ts";
import type { CheckpointManifest } from "../../src/store/checkpoint_store.ts";
import { fileTimestamp } from "../../src/store/data_dir.ts";
import { assert, assertEquals } from "../_assert.ts";
import { mulberry32, type Prng, testSeed } from "../prng.ts";

const NOW = new Date("2026-11-25T12:00:00.000Z");
const HOUR_MS = 3_600_000;

/** A manifest taken `ageMs` before NOW; only the fields retention reads matter. */
function manifest(ageMs: number, session = "20261125_000000_aaaa", id?: string) {
  const created = new Date(NOW.getTime() - ageMs);
  const body: CheckpointManifest = {
    v: 1,
    id: id ?? fileTimestamp(created),
    label: null,
    created_at: created.toISOString(),
    trigger: "auto",
    session,
    first_seq: 1,
    last_seq: 2,
    message_count: 1,
    record_count: 2,
    bytes: 100,
    payload_bytes: 10,
    agents: [],
    topics: [],
    title: "1 messages",
    parent: { session, checkpoint: null },
    segments: [],
    checksum: "0".repeat(64),
  };
  return body;
}

function ids(manifests: readonly CheckpointManifest[]): string[] {
  return manifests.map((m) => m.id);
}

function shuffled<T>(items: readonly T[], random: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

Deno.test("selectPrunable() keeps the newest `keep` and returns the rest, newest first", () => {
  const random = mulberry32(testSeed("selectPrunable() keep"));
  const newestFirst = Array.from({ length: 10 }, (_, i) => manifest((i + 1) * HOUR_MS));
  const input = shuffled(newestFirst, random);
  const before = JSON.stringify(input);
  assertEquals(ids(selectPrunable(input, { keep: 3 }, NOW)), ids(newestFirst.slice(3)));
  assertEquals(JSON.stringify(input), before, "the input is not reordered or changed");
  assertEquals(selectPrunable(input, { keep: 10 }, NOW), []);
  assertEquals(selectPrunable(input, { keep: 50 }, NOW), []);
  assertEquals(selectPrunable([], { keep: 1 }, NOW), []);
});

Deno.test("selectPrunable() never returns the newest checkpoint, even with keep 0", () => {
  const all = [manifest(3 * HOUR_MS), manifest(HOUR_MS), manifest(2 * HOUR_MS)];
  assertEquals(ids(selectPrunable(all, { keep: 0 }, NOW)), ids([all[2]!, all[0]!]));
  assertEquals(ids(selectPrunable(all, { keep: -5, maxAgeMs: 0 }, NOW)), ids([all[2]!, all[0]!]));
  assertEquals(selectPrunable([manifest(100 * HOUR_MS)], { keep: 0, maxAgeMs: 0 }, NOW), []);
});

Deno.test("selectPrunable() never returns the newest checkpoint of a session", () => {
  const old = "20261120_000000_0001";
  const middle = "20261122_000000_0002";
  const current = "20261125_000000_0003";
  const all = [
    manifest(100 * HOUR_MS, old),
    manifest(90 * HOUR_MS, old),
    manifest(50 * HOUR_MS, middle),
    ...Array.from({ length: 6 }, (_, i) => manifest((i + 1) * HOUR_MS, current)),
  ];
  const doomed = ids(selectPrunable(all, { keep: 2 }, NOW));
  assertEquals(doomed, ids([all[5]!, all[6]!, all[7]!, all[8]!, all[0]!]));
  assert(!doomed.includes(all[1]!.id), "the old session keeps its newest checkpoint");
  assert(!doomed.includes(all[2]!.id), "the middle session keeps its only checkpoint");
});

Deno.test("selectPrunable() with maxAgeMs removes only old checkpoints beyond keep", () => {
  const newestFirst = Array.from({ length: 8 }, (_, i) => manifest((i + 1) * HOUR_MS));
  const rules: PruneRules = { keep: 2, maxAgeMs: 5 * HOUR_MS };
  // Ages 1h..8h: 1h and 2h are kept by `keep`, 3h..5h are young enough, 6h..8h go.
  assertEquals(ids(selectPrunable(newestFirst, rules, NOW)), ids(newestFirst.slice(5)));
  // Old checkpoints within `keep` stay.
  assertEquals(selectPrunable(newestFirst, { keep: 8, maxAgeMs: 0 }, NOW), []);
  // Exactly maxAgeMs old is not older than it.
  const edge = [manifest(0), manifest(HOUR_MS), manifest(2 * HOUR_MS)];
  assertEquals(ids(selectPrunable(edge, { keep: 1, maxAgeMs: HOUR_MS }, NOW)), [edge[2]!.id]);
});

Deno.test("selectPrunable() follows its rules on random checkpoint sets", () => {
  const random = mulberry32(testSeed("selectPrunable() random sets"));
  for (let round = 0; round < 300; round++) {
    const sessions = Array.from({ length: random.int(1, 4) }, (_, i) => `20261125_00000${i}_abcd`);
    const manifests = Array.from({ length: random.int(0, 25) }, (_, i) =>
      manifest(
        random.int(0, 200) * 60_000,
        random.pick(sessions),
        `20261125_${String(i).padStart(6, "0")}`,
      ));
    const rules: PruneRules = {
      keep: random.int(0, 8),
      maxAgeMs: random.next() < 0.5 ? undefined : random.int(0, 200) * 60_000,
    };
    const newestFirst = [...manifests].sort((a, b) =>
      Date.parse(b.created_at) - Date.parse(a.created_at) || b.id.localeCompare(a.id)
    );
    const newestOfSession = new Set<string>();
    const seen = new Set<string>();
    for (const m of newestFirst) {
      if (!seen.has(m.session)) newestOfSession.add(m.id);
      seen.add(m.session);
    }
    const expected = newestFirst.filter((m, index) =>
      index >= Math.max(1, rules.keep) && !newestOfSession.has(m.id) &&
      (rules.maxAgeMs === undefined || NOW.getTime() - Date.parse(m.created_at) > rules.maxAgeMs)
    );
    const doomed = selectPrunable(shuffled(manifests, random), rules, NOW);
    assertEquals(ids(doomed), ids(expected), `round ${round}, rules ${JSON.stringify(rules)}`);
    for (const session of sessions) {
      const left = manifests.filter((m) => m.session === session && !doomed.includes(m));
      const had = manifests.some((m) => m.session === session);
      assert(!had || left.length > 0, `round ${round}: session ${session} lost every checkpoint`);
    }
  }
});

/** A clock the test moves by hand. */
function fakeClock(startMs = NOW.getTime()) {
  const clock = { ms: startMs, now: () => clock.ms };
  return clock;
}

Deno.test("CheckpointPolicy: due every N messages, counted from the last checkpoint of any kind", () => {
  const clock = fakeClock();
  const policy = new CheckpointPolicy({ everyMessages: 3, everyMinutes: 0, keep: 5 }, clock.now);
  assertEquals([policy.noteMessage(), policy.noteMessage()], [false, false]);
  assertEquals(policy.isDue(), false);
  assertEquals(policy.noteMessage(), true, "the third message makes it due");
  assertEquals(policy.isDue(), true);
  assertEquals(policy.noteMessage(), true, "still due until a checkpoint is taken");
  policy.noteCheckpoint(); // a manual checkpoint counts too
  assertEquals(policy.messagesSinceCheckpoint, 0);
  assertEquals(policy.isDue(), false);
  clock.ms += 24 * HOUR_MS;
  assertEquals(policy.isDue(), false, "no time rule");
});

Deno.test("CheckpointPolicy: a burst takes one count checkpoint per spacing, due once it passed", () => {
  const clock = fakeClock();
  const policy = new CheckpointPolicy(
    { everyMessages: 1000, everyMinutes: 0, keep: 5, countSpacingMs: 5_000 },
    clock.now,
  );
  clock.ms += 1_000;
  for (let i = 0; i < 20_000; i++) assertEquals(policy.noteMessage(), false, `message ${i}`);
  assertEquals(policy.isDue(), false, "20 x the count, but only 1 s since the last checkpoint");
  clock.ms += 3_999;
  assertEquals(policy.isDue(), false, "a millisecond short of the spacing");
  clock.ms += 1;
  assertEquals(policy.isDue(), true, "the timer's check takes it once the spacing passed");
  assertEquals(policy.noteMessage(), true);
  policy.noteCheckpoint();
  for (let i = 0; i < 999; i++) policy.noteMessage();
  clock.ms += 60_000;
  assertEquals(policy.isDue(), false, "spacing alone never makes a checkpoint due");
  assertEquals(policy.noteMessage(), true, "the count does, once the spacing passed");
});

Deno.test("CheckpointPolicy: due after M minutes only when messages came", () => {
  const clock = fakeClock();
  const policy = new CheckpointPolicy({ everyMessages: 0, everyMinutes: 10, keep: 5 }, clock.now);
  clock.ms += 11 * 60_000;
  assertEquals(policy.isDue(), false, "nothing new to save");
  assertEquals(policy.noteMessage(), false, "no count rule");
  assertEquals(policy.isDue(), true, "ten minutes passed and a message came");
  policy.noteCheckpoint();
  assertEquals(policy.noteMessage(), false);
  clock.ms += 10 * 60_000 - 1;
  assertEquals(policy.isDue(), false, "a millisecond short");
  clock.ms += 1;
  assertEquals(policy.isDue(), true);
});

Deno.test("CheckpointPolicy: both rules off, never due", () => {
  const clock = fakeClock();
  const policy = new CheckpointPolicy({ everyMessages: 0, everyMinutes: 0, keep: 5 }, clock.now);
  for (let i = 0; i < 1000; i++) assertEquals(policy.noteMessage(), false);
  clock.ms += 1000 * HOUR_MS;
  assertEquals(policy.isDue(), false);
  assertEquals(policy.messagesSinceCheckpoint, 1000);
});

Deno.test("CheckpointPolicy.prunable() applies retention on the policy's clock", () => {
  const clock = fakeClock();
  const policy = new CheckpointPolicy({ everyMessages: 1, everyMinutes: 0, keep: 2 }, clock.now);
  const manifests = [0, 1, 2, 3].map((hours) => manifest(hours * HOUR_MS));
  assertEquals(ids(policy.prunable(manifests)), ids(manifests.slice(2)));
  assertEquals(
    ids(policy.prunable(manifests)),
    ids(selectPrunable(manifests, { keep: 2 }, new Date(clock.ms))),
  );
  assertEquals(policy.prunable(manifests.slice(0, 2)), []);
});
