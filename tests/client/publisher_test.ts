import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { freePort, startTestBroker } from "../_helpers.ts";
import type { RunningBroker } from "../../src/broker.ts";
import { ENVELOPE_FIELD, PRESENCE_TOPIC, Publisher } from "../../src/client/mod.ts";
import { askResend, collect, restartBroker, startRestartableBroker, text } from "./_resend_peer.ts";

const decoder = new TextDecoder();

function assertMatch(actual: string, pattern: RegExp): void {
  assert(pattern.test(actual), `${JSON.stringify(actual)} does not match ${pattern}`);
}

/** A publisher whose frontend nobody listens on: enough for the outbox and resend tests. */
function openAlone(options: { outbox?: number } = {}): Promise<Publisher> {
  return Publisher.open({ frontend: `tcp://127.0.0.1:${freePort()}`, name: "solo", ...options });
}

Deno.test("Publisher.send() adds the envelope with seq 1..n and sends strings and bytes as they are", async () => {
  const { endpoints, broker } = await startTestBroker();
  const sub = collect(endpoints.backend, ["agent."]);
  const publisher = await Publisher.open({
    frontend: endpoints.frontend,
    name: "alice",
    waitForSubscriberMs: 10_000,
  });
  try {
    assertMatch(publisher.pub, /^alice\/[0-9a-f]{6}$/);
    const seqs = [];
    for (let i = 1; i <= 5; i++) seqs.push(await publisher.send("agent.alice", { i, text: "hi" }));
    assertEquals(seqs, [1, 2, 3, 4, 5]);
    assertEquals(await publisher.send("agent.raw", "plain text"), undefined);
    assertEquals(await publisher.send("agent.raw", new Uint8Array([0, 255, 1])), undefined);
    await sub.waitFor(7);
    const bodies = sub.messages.slice(0, 5).map((frames) => JSON.parse(decoder.decode(frames[1])));
    assertEquals(
      bodies,
      [1, 2, 3, 4, 5].map((i) => ({
        i,
        text: "hi",
        [ENVELOPE_FIELD]: { pub: publisher.pub, seq: i },
      })),
    );
    assertEquals(text(sub.messages[5]!), ["agent.raw", "plain text"]);
    assertEquals([...sub.messages[6]![1]!], [0, 255, 1]);
    assertEquals(publisher.lastSeq, 5);
  } finally {
    await publisher.close();
    await sub.close();
    await broker.stop();
  }
});

Deno.test("Publisher.send() refuses the presence topic, a payload with its own envelope and arrays", async () => {
  const publisher = await openAlone();
  try {
    assertThrows(() => publisher.send(PRESENCE_TOPIC, { a: 1 }), TypeError, "announces");
    assertThrows(() => publisher.send("t", { [ENVELOPE_FIELD]: 1 }), TypeError, "is added");
    assertThrows(() => publisher.send("t", [1] as unknown as string), TypeError, "plain object");
    assertEquals(publisher.lastSeq, 0);
  } finally {
    await publisher.close();
  }
  assertThrows(() => publisher.send("t", { a: 1 }), Error, "closed");
});

Deno.test("Publisher announces hello, alive and bye with its real resend address", async () => {
  const { endpoints, broker } = await startTestBroker();
  const sub = collect(endpoints.backend, [PRESENCE_TOPIC]);
  const publisher = await Publisher.open({
    frontend: endpoints.frontend,
    name: "bob",
    presenceIntervalMs: 100,
    outbox: 7,
    waitForSubscriberMs: 10_000,
  });
  let closed = false;
  try {
    await publisher.send("agent.bob", { n: 1 });
    await sub.waitFor(3); // hello, then alives
    await publisher.close();
    closed = true;
    await waitForType(sub.messages, "bye");
    const presences = sub.messages.map((frames) => {
      assertEquals(decoder.decode(frames[0]), PRESENCE_TOPIC);
      return JSON.parse(decoder.decode(frames[1]));
    });
    assertEquals(presences[0].type, "hello");
    assert(presences.slice(1, -1).every((p) => p.type === "alive"), JSON.stringify(presences));
    const bye = presences[presences.length - 1];
    assertEquals(bye.type, "bye");
    assertEquals(bye.last_seq, 1);
    for (const presence of presences) {
      assertEquals(presence.pub, publisher.pub);
      assertEquals(presence.name, "bob");
      assertEquals(presence.outbox, 7);
      assertEquals(presence.resend, publisher.resendEndpoint);
      assertEquals(ENVELOPE_FIELD in presence, false);
      assert(!Number.isNaN(Date.parse(presence.at)));
    }
    assertMatch(publisher.resendEndpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assertEquals(Number(publisher.resendEndpoint.split(":")[2]) > 0, true);
  } finally {
    if (!closed) await publisher.close();
    await sub.close();
    await broker.stop();
  }
});

async function waitForType(messages: Uint8Array[][], type: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (messages.some((frames) => JSON.parse(decoder.decode(frames[1])).type === type)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no ${type} presence arrived`);
}

Deno.test("Publisher answers a resend range with the original frames byte for byte, then done", async () => {
  const publisher = await openAlone();
  try {
    const sent: Uint8Array[][] = [];
    for (let i = 1; i <= 10; i++) {
      await publisher.send("agent.solo", { i, text: `ünïcode ${i}` });
    }
    // What went on the wire: ask for everything and compare with the JSON we expect.
    const all = await askResend(
      publisher.resendEndpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 1, to: 10 }),
    );
    for (const reply of all) if (reply.kind === "msg") sent.push(reply.frames);
    assertEquals(sent.length, 10);
    sent.forEach((frames, index) => {
      assertEquals(text(frames)[0], "agent.solo");
      assertEquals(
        text(frames)[1],
        JSON.stringify({
          i: index + 1,
          text: `ünïcode ${index + 1}`,
          [ENVELOPE_FIELD]: { pub: publisher.pub, seq: index + 1 },
        }),
      );
    });
    const replies = await askResend(
      publisher.resendEndpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 3, to: 6 }),
    );
    assertEquals(replies.map((r) => r.kind === "msg" ? r.seq : "done"), [3, 4, 5, 6, "done"]);
    for (const reply of replies) {
      if (reply.kind === "msg") assertEquals(reply.frames, sent[reply.seq - 1]);
    }
    assertEquals(replies[4], {
      kind: "done",
      body: { pub: publisher.pub, from: 3, to: 6, oldest: 1, newest: 10, sent: 4 },
    });
    const beyond = await askResend(
      publisher.resendEndpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 9, to: 20 }),
    );
    assertEquals(beyond.map((r) => r.kind === "msg" ? r.seq : r.body.sent), [9, 10, 2]);
  } finally {
    await publisher.close();
  }
});

Deno.test("Publisher's outbox drops the oldest beyond its capacity and done says the oldest", async () => {
  const publisher = await openAlone({ outbox: 5 });
  try {
    for (let i = 1; i <= 12; i++) await publisher.send("agent.solo", { i });
    const replies = await askResend(
      publisher.resendEndpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 1, to: 12 }),
    );
    assertEquals(replies.map((r) => r.kind === "msg" ? r.seq : "done"), [8, 9, 10, 11, 12, "done"]);
    assertEquals(replies[5], {
      kind: "done",
      body: { pub: publisher.pub, from: 1, to: 12, oldest: 8, newest: 12, sent: 5 },
    });
    const gone = await askResend(
      publisher.resendEndpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 2, to: 4 }),
    );
    assertEquals(gone, [{
      kind: "done",
      body: { pub: publisher.pub, from: 2, to: 4, oldest: 8, newest: 12, sent: 0 },
    }]);
  } finally {
    await publisher.close();
  }
});

Deno.test("Publisher answers an unknown pub and malformed requests with only a done", async () => {
  const publisher = await openAlone();
  try {
    await publisher.send("agent.solo", { i: 1 });
    const ask = (request: string) => askResend(publisher.resendEndpoint, request);
    assertEquals(
      await ask(JSON.stringify({ cmd: "resend", pub: "other/000000", from: 1, to: 1 })),
      [
        {
          kind: "done",
          body: {
            pub: "other/000000",
            from: 1,
            to: 1,
            oldest: 1,
            newest: 1,
            sent: 0,
            error: "unknown pub",
          },
        },
      ],
    );
    const malformed = [
      "not json",
      "[1,2]",
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 3, to: 2 }),
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 0, to: 2 }),
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: "1", to: 2 }),
      JSON.stringify({ cmd: "snapshot", pub: publisher.pub, from: 1, to: 2 }),
      JSON.stringify({ cmd: "resend", from: 1, to: 2 }),
    ];
    for (const request of malformed) {
      const replies = await ask(request);
      assertEquals(replies.length, 1, request);
      const reply = replies[0]!;
      assert(reply.kind === "done" && typeof reply.body.error === "string", request);
    }
    // Still answering after all that.
    const again = await ask(JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 1, to: 1 }));
    assertEquals(again.length, 2);
  } finally {
    await publisher.close();
  }
});

Deno.test("Publisher.close() is safe to repeat and works with await using", async () => {
  let endpoint = "";
  {
    await using publisher = await openAlone();
    endpoint = publisher.resendEndpoint;
    await publisher.send("agent.solo", { i: 1 });
    await askResend(
      endpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 1, to: 1 }),
    );
  }
  const publisher = await openAlone();
  assertEquals(await publisher.waitForSubscriber(50), false); // no broker, nobody subscribes
  await Promise.all([publisher.close(), publisher.close()]);
  await assertRejects(() => Publisher.open({ frontend: "tcp://127.0.0.1:1", name: "" }), TypeError);
  assert(endpoint.startsWith("tcp://127.0.0.1:"));
});

const CLOSE_SCRIPT = new URL("./_close_script.ts", import.meta.url).pathname;

Deno.test("a process whose Publisher answered requests and subscriptions exits cleanly after close()", async () => {
  const { endpoints, broker } = await startTestBroker();
  const sub = collect(endpoints.backend, [""]);
  try {
    // Closing a zeromq.js socket with a receive pending crashed Deno in about a third of runs:
    // several runs make a regression show.
    for (let run = 1; run <= 5; run++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", CLOSE_SCRIPT, endpoints.frontend],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const guard = setTimeout(() => child.kill("SIGKILL"), 30_000); // a hang is a failure
      const output = await child.output();
      clearTimeout(guard);
      const stderr = decoder.decode(output.stderr);
      assertEquals(output.signal, null, `run ${run} died by a signal: ${stderr}`);
      assertEquals(output.code, 0, `run ${run}: ${stderr}`);
      assertEquals(decoder.decode(output.stdout).trim(), "closed", stderr);
    }
    assert(sub.messages.length > 0);
  } finally {
    await sub.close();
    await broker.stop();
  }
});

Deno.test("Publisher says hello to the first presence subscriber and alive at once to a later one", async () => {
  const { endpoints, broker } = await startTestBroker();
  const agents = collect(endpoints.backend, ["agent."]);
  const publisher = await Publisher.open({
    frontend: endpoints.frontend,
    name: "late",
    presenceIntervalMs: 600_000, // no periodic alive during the test
    waitForSubscriberMs: 10_000,
  });
  const first = collect(endpoints.backend, [PRESENCE_TOPIC]);
  let later: ReturnType<typeof collect> | undefined;
  try {
    await publisher.send("agent.late", { n: 1 });
    await first.waitFor(1);
    const hello = JSON.parse(decoder.decode(first.messages[0]![1]));
    assertEquals([hello.type, hello.pub], ["hello", publisher.pub]);
    later = collect(endpoints.backend, [""]); // a recorder that joins late
    await later.waitFor(1);
    const alive = JSON.parse(decoder.decode(later.messages[0]![1]));
    assertEquals([alive.type, alive.last_seq, alive.resend], [
      "alive",
      1,
      publisher.resendEndpoint,
    ]);
  } finally {
    await publisher.close();
    await Promise.all([agents.close(), first.close(), later?.close()]);
    await broker.stop();
  }
});

Deno.test("Publisher keeps publishing, announcing and answering after the broker restarts", async () => {
  const { endpoints, broker } = await startRestartableBroker();
  const before = collect(endpoints.backend, [""]);
  const publisher = await Publisher.open({
    frontend: endpoints.frontend,
    name: "restart",
    presenceIntervalMs: 600_000,
    waitForSubscriberMs: 10_000,
  });
  let after: ReturnType<typeof collect> | undefined;
  let second: RunningBroker | undefined;
  try {
    for (let n = 1; n <= 3; n++) await publisher.send("agent.restart", { n });
    await before.waitFor(4); // hello + 3
    await before.close();
    await broker.stop();
    second = await restartBroker(endpoints);
    after = collect(endpoints.backend, [""]); // a fresh subscriber on the new broker
    await after.waitFor(1);
    const alive = JSON.parse(decoder.decode(after.messages[0]![1]));
    assertEquals([alive.type, alive.last_seq], ["alive", 3]);
    await publisher.send("agent.restart", { n: 4 });
    await after.waitFor(2);
    assertEquals(JSON.parse(decoder.decode(after.messages[1]![1]))[ENVELOPE_FIELD].seq, 4);
    const replies = await askResend(
      publisher.resendEndpoint,
      JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 1, to: 4 }),
    );
    assertEquals(replies.map((r) => r.kind === "msg" ? r.seq : "done"), [1, 2, 3, 4, "done"]);
  } finally {
    await publisher.close();
    await after?.close();
    await second?.stop();
    await broker.stop();
  }
});
