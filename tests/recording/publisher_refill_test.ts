import { assertEquals, assertRejects } from "../_assert.ts";
import { PublisherLedger } from "../../src/recording/publisher_ledger.ts";
import { type PublisherGap, PublisherRefill } from "../../src/recording/publisher_refill.ts";

Deno.test("PublisherRefill runs a publisher's next refill after one that failed", async () => {
  const ledger = new PublisherLedger();
  const gaps: PublisherGap[] = [];
  let asks = 0;
  const refill = new PublisherRefill({
    ledger,
    ask: () => {
      if (++asks === 1) throw new Error("a bug in the first request");
      return Promise.resolve({ oldest: 100 });
    },
    deliver: () => {},
    writeGap: (gap) => gaps.push(gap),
  });
  refill.learn({ type: "hello", pub: "a/1", resend: "tcp://127.0.0.1:1" });
  ledger.observe("a/1", 1, 0);
  ledger.observe("a/1", 3, 0); // opens 2..2
  const first = refill.fill("a/1", { from: 2, to: 2 });
  ledger.observe("a/1", 5, 0); // opens 4..4
  const second = refill.fill("a/1", { from: 4, to: 4 });
  await assertRejects(() => first, Error);
  await second;
  assertEquals(gaps.map((gap) => [gap.first_missing, gap.reason]), [
    [4, "outbox no longer holds it (oldest held: 100)"],
  ]);
});
