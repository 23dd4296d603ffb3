/**
 * Each control command, asked of a real daemon, answers exactly the fields its type in
 * src/control/protocol.ts promises, with values of the promised kinds. The field tables below
 * are checked against the types at compile time (a field added to or dropped from a type does
 * not compile until the table follows) and against the daemon's answers at run time.
 */
import { assert, assertEquals } from "../_assert.ts";
import { warmUp, withRecordingRig } from "../_helpers.ts";
import { sendControlRequest, sendRawControlRequest } from "../../src/control/client.ts";
import type {
  ControlAnswer,
  ControlCommand,
  DaemonStatus,
  IndexStatus,
} from "../../src/control/protocol.ts";
import type { CheckpointManifest } from "../../src/store/checkpoint_store.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** What a field holds: a JSON kind, `?` when it may be absent, `|null` when it may be null. */
type Kind =
  | "number"
  | "string"
  | "boolean"
  | "object"
  | "array"
  | "string|null"
  | "object|null"
  | "string?"
  | "number?"
  | "array?"
  | "string|null?";

/** One entry per field of T, no more, no fewer (optional ones included). */
type Fields<T> = { readonly [K in keyof T]-?: Kind };

const STATUS_FIELDS = {
  pid: "number",
  version: "string",
  started_at: "string",
  data_dir: "string",
  backend: "string",
  session: "string",
  seq: "number",
  durable_seq: "number",
  received: "number",
  excluded: "number",
  duplicates: "number",
  publishers: "array",
  last_message_at: "string|null",
  broker_connected: "boolean",
  broker_last_change_at: "string|null",
  log_path: "string",
  log_bytes: "number",
  sync_mode: "string",
  sync_ms: "number",
  last_write_error: "string|null",
  index: "object|null",
  origin: "string|null",
  store: "object|null",
} as const satisfies Fields<DaemonStatus>;

const INDEX_FIELDS = {
  state: "string",
  last_seq: "number",
  lag: "number",
  detail: "string|null",
} as const satisfies Fields<IndexStatus>;

const MANIFEST_FIELDS = {
  v: "number",
  id: "string",
  label: "string|null",
  created_at: "string",
  trigger: "string",
  session: "string",
  first_seq: "number",
  last_seq: "number",
  message_count: "number",
  record_count: "number",
  bytes: "number",
  payload_bytes: "number",
  agents: "array",
  topics: "array",
  title: "string",
  parent: "object",
  segments: "array",
  blobs: "array?",
  omitted: "array?",
  checksum: "string",
} as const satisfies Fields<CheckpointManifest>;

/** The answer fields of each command (besides `ok`). */
const ANSWER_FIELDS = {
  status: { status: "object" },
  "new-session": { archived: "string?", session: "string" },
  flush: { durable_seq: "number" },
  checkpoint: { checkpoint: "object" },
  "load-checkpoint": { archived: "string?", session: "string", before_load: "string|null" },
  "index-release": { indexing: "boolean" },
  "reserve-seqs": { first: "number", last: "number" },
  "expect-replays": { accepted: "number" },
  stop: {
    pid: "number",
    exit_code: "number?",
    unwritten_messages: "number?",
    failure: "string|null?",
  },
} as const satisfies { [C in ControlCommand]: Fields<Omit<ControlAnswer<C>, "ok">> };

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Asserts that `value` has exactly the fields of `table`, each of its kind. */
function assertShape(what: string, value: unknown, table: Record<string, Kind>): void {
  assertEquals(kindOf(value), "object", what);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    assert(key in table, `${what}: field "${key}" is not in its type`);
  }
  for (const [key, kind] of Object.entries(table)) {
    const optional = kind.endsWith("?");
    const allowed = kind.replace("?", "").split("|");
    if (!(key in record)) {
      assert(optional, `${what}: field "${key}" is missing`);
      continue;
    }
    const actual = kindOf(record[key]);
    assert(allowed.includes(actual), `${what}.${key}: ${actual}, expected ${kind}`);
  }
}

function assertAnswer(cmd: ControlCommand, answer: Record<string, unknown>): void {
  assertEquals(answer.ok, true, `${cmd}: ${JSON.stringify(answer)}`);
  const { ok: _ok, ...fields } = answer;
  assertShape(cmd, fields, ANSWER_FIELDS[cmd]);
}

Deno.test({
  name: "each control command's answer from a real daemon has exactly its type's fields",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("control_protocol", {}, async (rig) => {
      const socket = `${rig.dataDir}/control.sock`;
      await warmUp(rig.publisher, rig.dataDir);
      const ask = async (request: Parameters<typeof sendControlRequest>[1]) =>
        await sendControlRequest(socket, request, { timeoutMs: 60_000 }) as unknown as Record<
          string,
          unknown
        >;

      const status = await ask({ cmd: "status" });
      assertAnswer("status", status);
      const daemonStatus = status.status as Record<string, unknown>;
      assertShape("status.status", daemonStatus, STATUS_FIELDS);
      assertShape("status.status.index", daemonStatus.index, INDEX_FIELDS);

      assertAnswer("flush", await ask({ cmd: "flush" }));

      const checkpoint = await ask({ cmd: "checkpoint", label: "shape check" });
      assertAnswer("checkpoint", checkpoint);
      const manifest = checkpoint.checkpoint as Record<string, unknown>;
      assertShape("checkpoint.checkpoint", manifest, MANIFEST_FIELDS);

      const session = await ask({ cmd: "new-session", reason: "shape check" });
      assertAnswer("new-session", session);
      assertEquals(typeof session.archived, "string", "a session log was there to archive");

      const load = await ask({ cmd: "load-checkpoint", id: manifest.id as string });
      assertAnswer("load-checkpoint", load);

      assertAnswer("index-release", await ask({ cmd: "index-release" }));
      assertAnswer(
        "expect-replays",
        await ask({
          cmd: "expect-replays",
          marks: [{ digest: "0".repeat(64), replay_of: 1 }],
          ttl_ms: 1000,
        }),
      );

      const reserved = await ask({ cmd: "reserve-seqs", count: 3, reason: "shape check" });
      assertAnswer("reserve-seqs", reserved);
      assertEquals((reserved.last as number) - (reserved.first as number), 2);

      const stop = await ask({ cmd: "stop", wait: true });
      assertAnswer("stop", stop);
      for (const field of ["exit_code", "unwritten_messages", "failure"]) {
        assert(field in stop, `stop with wait answers ${field}: ${JSON.stringify(stop)}`);
      }
      assertEquals((await rig.daemon.child.status).code, 0);
    });
  },
});

Deno.test({
  name: "a real daemon refuses malformed control fields and records on (nothing done)",
  ...NO_SANITIZE,
  async fn() {
    await withRecordingRig("control_malformed", {}, async (rig) => {
      const socket = `${rig.dataDir}/control.sock`;
      const before = await sendControlRequest(socket, { cmd: "status" });
      assert(before.ok);
      const malformed = [
        { cmd: "stop", wait: "yes" },
        { cmd: "new-session", reason: 42 },
        { cmd: "checkpoint", label: 5 },
        { cmd: "load-checkpoint" },
        { cmd: "reserve-seqs", count: 0 },
        { cmd: "reserve-seqs", count: 1.5 },
        { cmd: "expect-replays", marks: [{ digest: "short", replay_of: 1 }], ttl_ms: 10 },
      ];
      for (const request of malformed) {
        const reply = await sendRawControlRequest(socket, request);
        assert(
          !reply.ok && reply.code === "bad_control_request",
          `${JSON.stringify(request)}: ${JSON.stringify(reply)}`,
        );
      }
      const after = await sendControlRequest(socket, { cmd: "status" });
      assert(after.ok, `the daemon still runs: ${JSON.stringify(after)}`);
      assertEquals(after.status.pid, before.status.pid);
      assertEquals(after.status.session, before.status.session, "no new session was started");
      const checkpoints = [...Deno.readDirSync(`${rig.dataDir}/checkpoints`)]
        .filter((entry) => entry.name.endsWith(".json"));
      assertEquals(checkpoints.length, 0, "no checkpoint was taken");
    });
  },
});
