/**
 * Child process for the clean-close test: a publisher that received subscriptions and resend
 * requests, then closes; the process must then end by itself with code 0.
 */
import { Publisher } from "../../src/client/mod.ts";
import { askResend } from "./_resend_peer.ts";

const publisher = await Publisher.open({
  frontend: Deno.args[0]!,
  name: "closer",
  presenceIntervalMs: 50,
  waitForSubscriberMs: 10_000,
});
for (let i = 1; i <= 20; i++) await publisher.send("agent.closer", { i });
for (let i = 0; i < 3; i++) {
  await askResend(
    publisher.resendEndpoint,
    JSON.stringify({ cmd: "resend", pub: publisher.pub, from: 1, to: 20 }),
  );
}
await new Promise((resolve) => setTimeout(resolve, 120)); // some alives go out
await publisher.close();
console.log("closed");
