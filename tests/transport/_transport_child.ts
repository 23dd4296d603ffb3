/**
 * A child process running one transport class and printing what it sees as JSON lines, for the
 * transport tests. zeromq.js sockets are never closed (see BusSubscriber), and a test process
 * that ends with such sockets open crashes in Deno's test runner teardown; a child process ends
 * with `Deno.exit`, which is how the daemon ends too. It exits when its stdin closes.
 *
 * Usage: `_transport_child.ts subscriber ENDPOINT TOPICS_JSON` prints `{"link":"up"|"down"}` and
 * `{"frames":[...]}` (each frame as text); `_transport_child.ts watcher FRONTEND BACKEND` prints
 * `{"agent": AgentEvent}`; `_transport_child.ts close-while-reading ENDPOINT` prints
 * `{"ended": COUNT}` once `close()` has ended a pending `messages()` iteration.
 *
 * @module
 */
import { AgentWatcher } from "../../src/transport/agent_watcher.ts";
import { BusSubscriber } from "../../src/transport/subscriber.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function print(value: unknown): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
}

async function exitWhenStdinCloses(): Promise<never> {
  for await (const _ of Deno.stdin.readable) { /* nothing is sent; only the close matters */ }
  Deno.exit(0);
}

const [mode, first, second] = Deno.args;
if (mode === "subscriber") {
  const subscriber = new BusSubscriber({
    endpoint: first!,
    topics: JSON.parse(second!) as string[],
    heartbeatIntervalMs: 200,
    onLinkEvent: (event) => print({ link: event.type }),
  });
  (async () => {
    for await (const frames of subscriber.messages()) {
      print({ frames: frames.map((frame) => decoder.decode(frame)) });
    }
  })();
} else if (mode === "watcher") {
  new AgentWatcher({ frontend: first!, backend: second!, onEvent: (agent) => print({ agent }) });
} else if (mode === "close-while-reading") {
  const subscriber = new BusSubscriber({ endpoint: first!, topics: [] });
  let count = 0;
  const reading = (async () => {
    for await (const _ of subscriber.messages()) count++;
  })();
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the iteration start waiting
  subscriber.close();
  await reading;
  print({ ended: count });
} else {
  throw new Error(`unknown mode ${mode}`);
}
await exitWhenStdinCloses();
