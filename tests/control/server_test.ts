import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_helpers.ts";
import { callDaemon, sendControlRequest, sendRawControlRequest } from "../../src/control/client.ts";
import { controlHandler, type ControlledDaemon } from "../../src/control/dispatch.ts";
import type { DaemonStatus, StopReport } from "../../src/control/protocol.ts";
import { ControlServer } from "../../src/control/server.ts";
import { DaemonNotRunningError, PersistError } from "../../src/errors.ts";
import { createJsonLogger } from "../../src/logger.ts";
import type { CheckpointManifest } from "../../src/store/checkpoint_store.ts";

/**
 * A stand-in for the daemon behind the control socket (the socket, the server and the client
 * are real): it records what it was asked and answers from plain fields.
 */
class RecordingDaemon implements ControlledDaemon {
  stoppingReason: string | undefined = undefined;
  readonly calls: string[] = [];
  outcome: Promise<StopReport | undefined> = Promise.resolve({
    exit_code: 0,
    unwritten_messages: 0,
    failure: null,
  });
  failWith: Error | undefined;

  status(): DaemonStatus {
    this.calls.push("status");
    return {
      pid: Deno.pid,
      version: "test",
      started_at: "2026-11-29T00:00:00.000Z",
      data_dir: "/nowhere",
      backend: "tcp://127.0.0.1:1",
      session: "s1",
      seq: 7,
      durable_seq: 6,
      received: 5,
      excluded: 0,
      duplicates: 0,
      publishers: [],
      last_message_at: null,
      broker_connected: false,
      broker_last_change_at: null,
      log_path: "/nowhere/current_session.jsonl",
      log_bytes: 100,
      sync_mode: "batch",
      sync_ms: 5,
      last_write_error: null,
      index: null,
      origin: "00000000-0000-4000-8000-000000000000",
      store: null,
    };
  }
  newSession(reason: string) {
    this.calls.push(`new-session ${reason}`);
    return Promise.resolve({ archived: undefined, session: "s2" });
  }
  flush() {
    this.calls.push("flush");
    return Promise.resolve(6);
  }
  createCheckpoint(trigger: string, label: string | null): Promise<CheckpointManifest> {
    this.calls.push(`checkpoint ${trigger} ${label}`);
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve({ id: "cp1", label, trigger } as unknown as CheckpointManifest);
  }
  loadCheckpoint(id: string) {
    this.calls.push(`load ${id}`);
    return Promise.resolve({ archived: "archive/a.jsonl", session: "s3", before_load: "cp0" });
  }
  releaseIndex() {
    this.calls.push("index-release");
    return true;
  }
  reserveSeqs(count: number, reason: string) {
    this.calls.push(`reserve-seqs ${count} ${reason}`);
    return Promise.resolve({ first: 8, last: 7 + count });
  }

  expectReplays(marks: readonly { digest: string; replay_of: number }[], ttlMs: number) {
    this.calls.push(`expect-replays ${marks.length} ${ttlMs}`);
    return Promise.resolve();
  }
  stop(reason: string) {
    this.calls.push(`stop ${reason}`);
    this.stoppingReason = reason;
    return Promise.resolve(0);
  }
  stopOutcome() {
    return this.outcome;
  }
}

async function withServer(
  fn: (socket: string, daemon: RecordingDaemon, logLines: string[]) => Promise<void>,
): Promise<void> {
  const dir = await tempDir("control_server");
  const socket = `${dir.path}/control.sock`;
  const daemon = new RecordingDaemon();
  const logLines: string[] = [];
  const logger = createJsonLogger({ component: "test", write: (line) => logLines.push(line) });
  const server = await ControlServer.start(socket, controlHandler(daemon), logger);
  try {
    await fn(socket, daemon, logLines);
  } finally {
    await server.close();
    await dir.cleanup();
  }
}

Deno.test("ControlServer answers typed requests with the fields of each command", async () => {
  await withServer(async (socket, daemon) => {
    const status = await callDaemon(socket, { cmd: "status" });
    assertEquals(status.status.durable_seq, 6);
    assertEquals(await callDaemon(socket, { cmd: "flush" }), { ok: true, durable_seq: 6 });
    assertEquals(await callDaemon(socket, { cmd: "new-session", reason: "why" }), {
      ok: true,
      session: "s2",
    });
    const checkpoint = await callDaemon(socket, { cmd: "checkpoint", label: "x" });
    assertEquals(checkpoint.checkpoint.id, "cp1");
    assertEquals(await callDaemon(socket, { cmd: "load-checkpoint", id: "cp1" }), {
      ok: true,
      archived: "archive/a.jsonl",
      session: "s3",
      before_load: "cp0",
    });
    assertEquals(await callDaemon(socket, { cmd: "index-release" }), { ok: true, indexing: true });
    assertEquals(daemon.calls, [
      "status",
      "flush",
      "new-session why",
      "checkpoint manual x",
      "load cp1",
      "index-release",
    ]);
  });
});

Deno.test("ControlServer fills in defaults: new-session reason, checkpoint trigger", async () => {
  await withServer(async (socket, daemon) => {
    await callDaemon(socket, { cmd: "new-session" });
    await callDaemon(socket, { cmd: "checkpoint" });
    await callDaemon(socket, { cmd: "checkpoint", trigger: "session-end", label: "bye" });
    assertEquals(daemon.calls, [
      "new-session new-session command",
      "checkpoint manual null",
      "checkpoint session-end bye",
    ]);
  });
});

Deno.test("ControlServer answers malformed requests with ok:false and keeps serving", async () => {
  await withServer(async (socket, daemon) => {
    const malformed = [
      { cmd: "checkpoint", label: 5 },
      { cmd: "new-session", reason: ["x"] },
      { cmd: "load-checkpoint" },
      { cmd: "stop", wait: "yes" },
      { cmd: 12 },
      { nothing: true },
    ];
    for (const request of malformed) {
      const reply = await sendRawControlRequest(socket, request);
      assert(!reply.ok, JSON.stringify(reply));
      assertEquals(reply.code, "bad_control_request", JSON.stringify(reply));
    }
    // Not JSON at all, written by hand.
    const connection = await Deno.connect({ transport: "unix", path: socket });
    await connection.write(new TextEncoder().encode("{oops\n"));
    const buffer = new Uint8Array(4096);
    const n = await connection.read(buffer);
    connection.close();
    const answer = JSON.parse(new TextDecoder().decode(buffer.subarray(0, n ?? 0)));
    assertEquals(answer.ok, false);
    assertEquals(answer.error, "Bad control request: expected one JSON line with a cmd");
    // Nothing was run, and the server still answers.
    assertEquals(daemon.calls, []);
    assert((await sendControlRequest(socket, { cmd: "status" })).ok);
  });
});

Deno.test("ControlServer lists every command when asked for an unknown one", async () => {
  await withServer(async (socket) => {
    const reply = await sendRawControlRequest(socket, { cmd: "frobnicate" });
    assertEquals(reply, {
      ok: false,
      error: 'Unknown control command "frobnicate": use status, new-session, flush, ' +
        "checkpoint, load-checkpoint, index-release, reserve-seqs, expect-replays, stop",
    });
  });
});

Deno.test("ControlServer turns a failed command into ok:false with its code", async () => {
  await withServer(async (socket, daemon, logLines) => {
    daemon.failWith = new PersistError("Cannot use this checkpoint label: too long", {
      code: "invalid_label",
    });
    const reply = await sendControlRequest(socket, { cmd: "checkpoint", label: "x" });
    assertEquals(reply, {
      ok: false,
      error: "Cannot use this checkpoint label: too long",
      code: "invalid_label",
    });
    await assertRejects(
      () => callDaemon(socket, { cmd: "checkpoint", label: "x" }),
      PersistError,
      'The daemon refused "checkpoint": Cannot use this checkpoint label',
    );
    assert(logLines.some((line) => line.includes("control_command_failed")), logLines.join(""));
  });
});

Deno.test("a stopping daemon refuses everything but stop, with code daemon_stopping", async () => {
  await withServer(async (socket, daemon) => {
    daemon.stoppingReason = "signal SIGTERM";
    for (const cmd of ["status", "flush", "index-release", "new-session", "checkpoint"] as const) {
      const reply = await sendControlRequest(socket, { cmd });
      assert(!reply.ok && reply.code === "daemon_stopping", JSON.stringify(reply));
      assert(reply.error.includes("is stopping (signal SIGTERM)"), reply.error);
    }
    const stop = await sendControlRequest(socket, { cmd: "stop" });
    assertEquals(stop, { ok: true, pid: Deno.pid });
  });
});

Deno.test("stop with wait answers with how the stop went, or that it timed out", async () => {
  await withServer(async (socket, daemon) => {
    daemon.outcome = Promise.resolve({ exit_code: 75, unwritten_messages: 3, failure: "disk" });
    assertEquals(await callDaemon(socket, { cmd: "stop", wait: true }), {
      ok: true,
      pid: Deno.pid,
      exit_code: 75,
      unwritten_messages: 3,
      failure: "disk",
    });
    await new Promise((resolve) => setTimeout(resolve, 0)); // the queued stop runs
    assertEquals(daemon.calls, ["stop stop command"]);
    daemon.outcome = Promise.resolve(undefined);
    assertEquals(await callDaemon(socket, { cmd: "stop", wait: true }), {
      ok: true,
      pid: Deno.pid,
      exit_code: 75,
      failure: "stop timed out",
    });
  });
});

Deno.test("sendControlRequest() throws DaemonNotRunningError when nothing listens", async () => {
  const dir = await tempDir("control_client");
  try {
    await assertRejects(
      () => sendControlRequest(`${dir.path}/control.sock`, { cmd: "status" }),
      DaemonNotRunningError,
      "no daemon is running",
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test("sendControlRequest() gives up on a socket that never answers", async () => {
  const dir = await tempDir("control_client");
  const path = `${dir.path}/control.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const connection of listener) held.push(connection);
  })();
  try {
    const error = await assertRejects(
      () => sendControlRequest(path, { cmd: "status" }, { timeoutMs: 200 }),
      PersistError,
      '"status" took over 200 ms',
    );
    assertEquals(error.code, "control_timeout");
  } finally {
    listener.close();
    await accepting.catch(() => undefined);
    for (const connection of held) connection.close();
    await dir.cleanup();
  }
});
