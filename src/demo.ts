/**
 * Two small simulated agents for `up --demo`: they announce themselves, subscribe to a topic
 * each (so the launcher's agent detection can see them), and talk through the broker for a
 * while, so a newcomer sees messages recorded, searched and checkpointed without any agent
 * installed.
 *
 * @module
 */
import * as zmq from "zeromq";
import { PRESENCE_TOPIC } from "./transport/agent_watcher.ts";

const LINES = [
  ["alice", "bob", "Can you check why the checkpoint test is flaky on CI?"],
  ["bob", "alice", "Looking. The kill -9 lands during the segment write sometimes."],
  ["alice", "bob", "Segments are renamed into place, so a torn one should never be listed."],
  ["bob", "alice", "Right, the manifest is written last. The test expected the wrong count."],
  ["alice", "bob", "Good. Can you also search for the disk full error from yesterday?"],
  ["bob", "alice", "Found it: 'Cannot append to current_session.jsonl: disk is full'."],
  ["alice", "bob", "Let's add a diag warning below one gigabyte free."],
  ["bob", "alice", "Done, diag now says warn under 1 GB and FAIL under 100 MB."],
] as const;

/** Options for {@link runDemo}. */
export interface DemoOptions {
  readonly frontend: string;
  readonly backend: string;
  /** Messages to exchange in all. */
  readonly messages: number;
  readonly intervalMs: number;
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** Runs the demo conversation; resolves when the agents have said goodbye. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const publisher = new zmq.Publisher({ linger: 1000 });
  publisher.connect(options.frontend);
  const inboxes = ["alice", "bob"].map((name) => {
    const inbox = new zmq.Subscriber({ linger: 0 });
    inbox.subscribe(`agent.${name}`);
    inbox.connect(options.backend);
    return inbox;
  });
  await sleep(1200); // ZeroMQ's slow joiner: let the subscriptions reach the broker
  for (const agent of ["alice", "bob"]) {
    await publisher.send([PRESENCE_TOPIC, JSON.stringify({ agent, event: "hello" })]);
  }
  options.say(`Demo: agents alice and bob are talking (${options.messages} messages)`);
  for (let i = 0; i < options.messages && !options.signal?.aborted; i++) {
    const [from, to, text] = LINES[i % LINES.length]!;
    await publisher.send([
      `agent.${to}`,
      JSON.stringify({ from, to, type: "chat", content: `${text} (#${i + 1})` }),
    ]);
    await sleep(options.intervalMs);
  }
  for (const agent of ["alice", "bob"]) {
    await publisher.send([PRESENCE_TOPIC, JSON.stringify({ agent, event: "bye" })]);
  }
  for (const inbox of inboxes) inbox.unsubscribe(); // leave: the broker sees interest end
  options.say("Demo: the agents said goodbye");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
