import * as zmq from "zeromq";
import { startBroker } from "../../src/broker.ts";
import { assertEquals } from "../_assert.ts";
import { connectPublisher, startTestBroker, waitFor } from "../_helpers.ts";
import { startTransportChild, type TransportChild } from "./_child_process.ts";

// The broker's and publisher's sockets live in this process; no op/resource sanitizers.
const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** The frames of each message the child's BusSubscriber received, in order. */
function received(child: TransportChild): string[][] {
  return child.lines.filter((line) => "frames" in line).map((line) => line.frames as string[]);
}

/** Both receive paths keep the same contract. */
const KINDS = ["zeromq.js", "ffi"] as const;

/** Link events the child's BusSubscriber reported, in order. */
function links(child: TransportChild): string[] {
  return child.lines.filter((line) => "link" in line).map((line) => line.link as string);
}

/**
 * Publishes `topic ping` until the subscriber has one (ZeroMQ's slow joiner: a new subscription
 * takes a moment to reach the publisher), then an end marker; returns how many messages the
 * subscriber holds once the marker is in (everything published before it is in too).
 */
async function warmUp(
  publisher: zmq.Publisher,
  child: TransportChild,
  topic = "warmup",
): Promise<number> {
  await waitFor("the subscription to reach the publisher", async () => {
    await publisher.send([topic, "ping"]);
    return received(child).some((frames) => frames[0] === topic);
  });
  await publisher.send([topic, "end of warm-up"]);
  await waitFor("the warm-up to end", () => received(child).at(-1)?.[1] === "end of warm-up");
  return received(child).length;
}

for (const kind of KINDS) {
  Deno.test({
    name:
      `${kind}: BusSubscriber.messages() yields every multipart message, in order, frames intact`,
    ...NO_SANITIZE,
    async fn() {
      const { endpoints, broker } = await startTestBroker();
      const child = startTransportChild(["subscriber", endpoints.backend, "[]", kind]);
      const publisher = connectPublisher(endpoints.frontend);
      try {
        const before = await warmUp(publisher, child);
        for (let i = 0; i < 200; i++) {
          await publisher.send(["agent.claude", `message ${i}`, ""]);
        }
        await publisher.send(["one frame"]);
        await waitFor("201 messages", () => received(child).length === before + 201);
        assertEquals(received(child).slice(before), [
          ...[...Array(200)].map((_, i) => ["agent.claude", `message ${i}`, ""]),
          ["one frame"],
        ]);
      } finally {
        publisher.close();
        await child.stop();
        await broker.stop();
      }
    },
  });
}

for (const kind of KINDS) {
  Deno.test({
    name:
      `${kind}: BusSubscriber with topics receives only messages whose first frame starts with one`,
    ...NO_SANITIZE,
    async fn() {
      const { endpoints, broker } = await startTestBroker();
      const child = startTransportChild([
        "subscriber",
        endpoints.backend,
        '["agent.","ops"]',
        kind,
      ]);
      const publisher = connectPublisher(endpoints.frontend);
      try {
        const before = await warmUp(publisher, child, "agent.warmup");
        for (const topic of ["agent.claude", "other", "ops.alert", "xagent.no", "ops", "op"]) {
          await publisher.send([topic, "payload"]);
        }
        await publisher.send(["agent.end", "done"]);
        await waitFor("the end marker", () => received(child).at(-1)?.[0] === "agent.end");
        assertEquals(received(child).slice(before).map((frames) => frames[0]), [
          "agent.claude",
          "ops.alert",
          "ops",
          "agent.end",
        ]);
      } finally {
        publisher.close();
        await child.stop();
        await broker.stop();
      }
    },
  });
}

for (const kind of KINDS) {
  Deno.test({
    name:
      `${kind}: BusSubscriber reports link down and up across a broker restart and keeps receiving`,
    ...NO_SANITIZE,
    async fn() {
      const { endpoints, broker } = await startTestBroker();
      const child = startTransportChild(["subscriber", endpoints.backend, "[]", kind]);
      let publisher = connectPublisher(endpoints.frontend);
      let restarted: Awaited<ReturnType<typeof startBroker>> | undefined;
      try {
        await warmUp(publisher, child);
        assertEquals(links(child), ["up"]);
        await broker.stop();
        await waitFor("the link to go down", () => links(child).length === 2);
        restarted = await startBroker(endpoints); // same ports: the subscriber reconnects
        await waitFor("the link to come up again", () => links(child).length === 3);
        assertEquals(links(child), ["up", "down", "up"]);
        publisher.close();
        publisher = connectPublisher(endpoints.frontend);
        const before = await warmUp(publisher, child, "after.restart");
        await publisher.send(["after.restart", "still receiving"]);
        await waitFor("a message after the restart", () => received(child).length === before + 1);
        assertEquals(received(child).at(-1), ["after.restart", "still receiving"]);
      } finally {
        publisher.close();
        await child.stop();
        await broker.stop();
        await restarted?.stop();
      }
    },
  });
}

for (const kind of KINDS) {
  Deno.test({
    name: `${kind}: BusSubscriber.close() ends a pending messages() iteration`,
    ...NO_SANITIZE,
    async fn() {
      const { endpoints, broker } = await startTestBroker();
      const child = startTransportChild(["close-while-reading", endpoints.backend, kind]);
      try {
        await waitFor("the iteration to end", () => child.lines.length > 0);
        assertEquals(child.lines, [{ ended: 0 }]);
      } finally {
        await child.stop();
        await broker.stop();
      }
    },
  });
}

/** A frame of `bytes` bytes (a repeating pattern) and how the child shows it. */
function patternFrame(bytes: number): { frame: Uint8Array; shown: unknown } {
  const frame = new Uint8Array(bytes);
  let sum = 0;
  for (let i = 0; i < bytes; i++) {
    frame[i] = 0x41 + (i % 26);
    sum += frame[i]!;
  }
  return { frame, shown: bytes <= 64 * 1024 ? new TextDecoder().decode(frame) : { bytes, sum } };
}

for (const kind of KINDS) {
  Deno.test({
    name:
      `${kind}: subscriber receives frames of every size intact (empty to megabytes, slab edges)`,
    ...NO_SANITIZE,
    async fn() {
      const { endpoints, broker } = await startTestBroker();
      const child = startTransportChild(["subscriber", endpoints.backend, "[]", kind]);
      const publisher = connectPublisher(endpoints.frontend);
      try {
        const before = await warmUp(publisher, child);
        assertEquals(child.lines[0], { kind });
        const sizes = [0, 1, 16 * 1024, 16 * 1024 + 1, 200_000, 70_000, 3 * 1024 * 1024, 5];
        const expected: unknown[][] = [];
        for (let i = 0; i < 40; i++) {
          const frames = [patternFrame(7), ...sizes.slice(i % 4).map(patternFrame)];
          expected.push(frames.map((frame) => frame.shown));
          await publisher.send(frames.map((frame) => frame.frame));
        }
        await waitFor("40 messages", () => received(child).length === before + 40);
        assertEquals(received(child).slice(before), expected);
      } finally {
        publisher.close();
        await child.stop();
        await broker.stop();
      }
    },
  });
}

for (const kind of KINDS) {
  Deno.test({
    name: `${kind}: subscriber keeps every message while signals interrupt its reads`,
    ...NO_SANITIZE,
    async fn() {
      const { endpoints, broker } = await startTestBroker();
      const child = startTransportChild(["subscriber", endpoints.backend, "[]", kind]);
      const publisher = connectPublisher(endpoints.frontend);
      let signals: ReturnType<typeof setInterval> | undefined;
      try {
        const before = await warmUp(publisher, child); // its SIGUSR1 listener is in place now
        signals = setInterval(() => child.kill("SIGUSR1"), 1);
        const expected: string[][] = [];
        for (let i = 0; i < 5000; i++) {
          const frames = ["signals", `part ${i}`, "x".repeat(i % 300), `end ${i}`];
          expected.push(frames);
          await publisher.send(frames);
        }
        await waitFor("5000 messages", () => received(child).length === before + 5000);
        assertEquals(received(child).slice(before), expected);
      } finally {
        clearInterval(signals);
        publisher.close();
        await child.stop();
        await broker.stop();
      }
    },
  });
}
