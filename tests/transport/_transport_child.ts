/**
 * A child process running one transport class and printing what it sees as JSON lines, for the
 * transport tests. zeromq.js sockets are never closed (see BusSubscriber), and a test process
 * that ends with such sockets open crashes in Deno's test runner teardown; a child process ends
 * with `Deno.exit`, which is how the daemon ends too. It exits when its stdin closes.
 *
 * Usage: `_transport_child.ts subscriber ENDPOINT TOPICS_JSON KIND` (KIND `zeromq.js` or `ffi`,
 * see `openSubscriber`) prints `{"kind": KIND}`, then `{"link":"up"|"down"}` and
 * `{"frames":[...]}` (each frame as text; a frame over 64 KB as `{"bytes": N, "sum": S}`, the
 * sum of its bytes); `_transport_child.ts watcher FRONTEND BACKEND` prints
 * `{"agent": AgentEvent}`; `_transport_child.ts close-while-reading ENDPOINT KIND` prints
 * `{"ended": COUNT}` once `close()` has ended a pending `messages()` iteration.
 *
 * @module
 */
import { AgentWatcher } from "../../src/transport/agent_watcher.ts";
import { openSubscriber, type SubscriberKind } from "../../src/transport/subscriber.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function print(value: unknown): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
}

async function exitWhenStdinCloses(): Promise<never> {
  for await (const _ of Deno.stdin.readable) { /* nothing is sent; only the close matters */ }
  Deno.exit(0);
}

function shown(frame: Uint8Array): unknown {
  if (frame.length <= 64 * 1024) return decoder.decode(frame);
  let sum = 0;
  for (const byte of frame) sum += byte;
  return { bytes: frame.length, sum };
}

const [mode, first, second, third] = Deno.args;
if (mode === "subscriber") {
  const { source: subscriber, kind } = openSubscriber({
    endpoint: first!,
    topics: JSON.parse(second!) as string[],
    heartbeatIntervalMs: 200,
    onLinkEvent: (event) => print({ link: event.type }),
  }, { kind: third as SubscriberKind });
  print({ kind });
  // Signals interrupt libzmq's reads (EINTR); the tests send SIGUSR1 to check they are retried.
  Deno.addSignalListener("SIGUSR1", () => {});
  (async () => {
    for await (const frames of subscriber.messages()) print({ frames: frames.map(shown) });
  })();
} else if (mode === "watcher") {
  new AgentWatcher({ frontend: first!, backend: second!, onEvent: (agent) => print({ agent }) });
} else if (mode === "close-while-reading") {
  const { source: subscriber } = openSubscriber({ endpoint: first!, topics: [] }, {
    kind: second as SubscriberKind,
  });
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
