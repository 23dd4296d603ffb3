/**
 * Child process for the refill tests: the real TypeScript client publishing a steady stream.
 * Args: FRONTEND NAME COUNT INTERVAL_MS OUTBOX WAIT_FOR_SUBSCRIBER_MS. Prints one JSON line
 * `{"pub", "resend"}` once open, `{"seq": n}` every 50 messages, `{"sent": n}` at the end of the
 * stream; then waits for stdin to close, closes the publisher (bye) and prints `{"closed": true}`.
 * A child process because one Deno process holding a broker, a publisher and a subscriber under
 * load was seen to crash.
 */
import { Publisher } from "../../src/client/mod.ts";

const [frontend, name, count, intervalMs, outbox, waitMs] = Deno.args;
const publisher = await Publisher.open({
  frontend: frontend!,
  name: name!,
  outbox: Number(outbox),
  waitForSubscriberMs: Number(waitMs),
});
console.log(JSON.stringify({ pub: publisher.pub, resend: publisher.resendEndpoint }));
for (let n = 1; n <= Number(count); n++) {
  await publisher.send("agent.stream", { from: name, n, content: `message ${n}` });
  if (n % 50 === 0) console.log(JSON.stringify({ seq: n }));
  if (Number(intervalMs) > 0) {
    await new Promise((resolve) => setTimeout(resolve, Number(intervalMs)));
  }
}
console.log(JSON.stringify({ sent: publisher.lastSeq }));
for await (const _chunk of Deno.stdin.readable) {
  // Nothing is expected on stdin: its end is the signal to close.
}
await publisher.close();
console.log(JSON.stringify({ closed: true }));
