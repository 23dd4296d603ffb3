/**
 * Both client libraries against the real daemon: publish through a real broker and check what
 * the daemon recorded.
 *
 * NOTE for the merge of issue 11: the daemon's accounting (meta.pub / meta.pub_seq, duplicates,
 * refill) is built in another branch. These tests check what main's daemon does today: records
 * arrive with the envelope intact in the payload, presence messages are recorded. Extend them to
 * assert meta.pub and meta.pub_seq (and a refill after a daemon restart) once both branches meet.
 */
import { assert, assertEquals } from "../_assert.ts";
import { daemonStatus, messagesOn, readRecords, waitFor, withRecordingRig } from "../_helpers.ts";
import type { LogRecord } from "../../src/store/record.ts";
import { ENVELOPE_FIELD, PRESENCE_TOPIC, Publisher } from "../../src/client/mod.ts";
import { runPython } from "./_python.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const PUBLISH = new URL("./python/publish.py", import.meta.url).pathname;
const COUNT = 200;

/** Waits until the daemon has made everything durable and the log holds `pub`'s bye. */
async function recordsUntilBye(dataDir: string, pub: string): Promise<LogRecord[]> {
  let records: LogRecord[] = [];
  await waitFor(`the bye of ${pub} to be recorded`, async () => {
    const status = await daemonStatus(dataDir);
    if (!status || status.durable_seq !== status.seq) return false;
    records = await readRecords(`${dataDir}/current_session.jsonl`);
    return presences(records, pub).some((presence) => presence.type === "bye");
  }, 30_000);
  return records;
}

function presences(records: LogRecord[], pub: string): Array<Record<string, unknown>> {
  return messagesOn(records, PRESENCE_TOPIC)
    .map((record) => JSON.parse((record.frames as string[])[1]!))
    .filter((presence) => presence.pub === pub);
}

function checkRecorded(records: LogRecord[], topic: string, pub: string): void {
  const recorded = messagesOn(records, topic);
  assertEquals(recorded.length, COUNT);
  recorded.forEach((record, index) => {
    const payload = JSON.parse((record.frames as string[])[1]!);
    assertEquals(payload[ENVELOPE_FIELD], { pub, seq: index + 1 });
    assertEquals(payload.n, index + 1);
  });
  const kinds = presences(records, pub).map((presence) => presence.type);
  assertEquals(kinds[0], "hello");
  assertEquals(kinds[kinds.length - 1], "bye");
  const bye = presences(records, pub).at(-1)!;
  assertEquals(bye.last_seq, COUNT);
  assert(typeof bye.resend === "string" && bye.resend.startsWith("tcp://127.0.0.1:"));
}

Deno.test({
  name: "the TypeScript client's messages reach the real daemon with the envelope intact",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_ts", {}, async (rig) => {
      const publisher = await Publisher.open({
        frontend: rig.endpoints.frontend,
        name: "tsagent",
        waitForSubscriberMs: 15_000,
      });
      for (let n = 1; n <= COUNT; n++) {
        await publisher.send("agent.ts", { from: "tsagent", n, content: `ts ${n}` });
      }
      await publisher.close();
      checkRecorded(await recordsUntilBye(rig.dataDir, publisher.pub), "agent.ts", publisher.pub);
    });
  },
});

Deno.test({
  name: "the Python client's messages reach the real daemon with the envelope intact",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("client_py", {}, async (rig) => {
      const result = await runPython(PUBLISH, [rig.endpoints.frontend, "agent.py", String(COUNT)]);
      assertEquals(result.code, 0, result.stderr);
      const pub = result.stdout.trim();
      assert(/^pyagent\/[0-9a-f]{6}$/.test(pub), result.stdout);
      checkRecorded(await recordsUntilBye(rig.dataDir, pub), "agent.py", pub);
    });
  },
});
