import * as zmq from "zeromq";
import { type AgentEvent, PRESENCE_TOPIC } from "../../src/transport/agent_watcher.ts";
import { assertEquals } from "../_assert.ts";
import { connectPublisher, startTestBroker, waitFor } from "../_helpers.ts";
import { startTransportChild, type TransportChild } from "./_child_process.ts";

// The broker's, publisher's and subscribers' sockets live in this process.
const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;

/** The events the child's AgentWatcher reported, in order. */
function events(child: TransportChild): AgentEvent[] {
  return child.lines.map((line) => line.agent as AgentEvent);
}

function seen(child: TransportChild, event: AgentEvent): boolean {
  return events(child).some((each) => JSON.stringify(each) === JSON.stringify(event));
}

Deno.test({
  name: "AgentWatcher reports a topic's first subscriber and the last one leaving",
  ...NO_SANITIZE,
  async fn() {
    const { endpoints, broker } = await startTestBroker();
    const child = startTransportChild(["watcher", endpoints.frontend, endpoints.backend]);
    const first = new zmq.Subscriber({ linger: 0 });
    const second = new zmq.Subscriber({ linger: 0 });
    try {
      first.connect(endpoints.backend);
      first.subscribe("agent.first");
      await waitFor(
        "subscribed agent.first",
        () => seen(child, { type: "subscribed", topic: "agent.first" }),
      );
      first.unsubscribe("agent.first");
      await waitFor(
        "unsubscribed agent.first",
        () => seen(child, { type: "unsubscribed", topic: "agent.first" }),
      );
      second.connect(endpoints.backend);
      second.subscribe("agent.second");
      await waitFor(
        "subscribed agent.second",
        () => seen(child, { type: "subscribed", topic: "agent.second" }),
      );
      second.close(); // an agent that goes away without unsubscribing
      await waitFor(
        "unsubscribed agent.second",
        () => seen(child, { type: "unsubscribed", topic: "agent.second" }),
      );
      // Its own presence subscription is never reported.
      assertEquals(events(child), [
        { type: "subscribed", topic: "agent.first" },
        { type: "unsubscribed", topic: "agent.first" },
        { type: "subscribed", topic: "agent.second" },
        { type: "unsubscribed", topic: "agent.second" },
      ]);
    } finally {
      first.close();
      if (!second.closed) second.close();
      await child.stop();
      await broker.stop();
    }
  },
});

Deno.test({
  name:
    "AgentWatcher reports hello and bye presence messages and ignores anything else on the topic",
  ...NO_SANITIZE,
  async fn() {
    const { endpoints, broker } = await startTestBroker();
    const child = startTransportChild(["watcher", endpoints.frontend, endpoints.backend]);
    const publisher = connectPublisher(endpoints.frontend);
    try {
      const hello = JSON.stringify({ agent: "claude", event: "hello" });
      await waitFor("the first hello", async () => {
        await publisher.send([PRESENCE_TOPIC, hello]);
        return events(child).length > 0;
      });
      const before = events(child).length;
      await publisher.send([PRESENCE_TOPIC, "not json"]);
      await publisher.send([PRESENCE_TOPIC, JSON.stringify({ agent: "claude", event: "lunch" })]);
      await publisher.send([PRESENCE_TOPIC, JSON.stringify({ agent: 7, event: "bye" })]);
      await publisher.send([
        `${PRESENCE_TOPIC} ${JSON.stringify({ agent: "gemini", event: "bye" })}`,
      ]);
      await publisher.send([PRESENCE_TOPIC, JSON.stringify({ agent: "claude", event: "bye" })]);
      await waitFor("claude's bye", () => seen(child, { type: "bye", agent: "claude" }));
      assertEquals(events(child).slice(before).filter((event) => event.type !== "hello"), [
        { type: "bye", agent: "gemini" },
        { type: "bye", agent: "claude" },
      ]);
      const warmUps = events(child).slice(0, before);
      assertEquals(warmUps, warmUps.map(() => ({ type: "hello", agent: "claude" })));
    } finally {
      publisher.close();
      await child.stop();
      await broker.stop();
    }
  },
});
