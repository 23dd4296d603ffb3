import { assertEquals } from "../_assert.ts";
import { PublisherLedger } from "../../src/recording/publisher_ledger.ts";

Deno.test("PublisherLedger.observe() stores in-order seqs and opens the gap of a jump", () => {
  const ledger = new PublisherLedger();
  assertEquals(ledger.observe("a", 1, 0), { store: true });
  assertEquals(ledger.observe("a", 2, 0), { store: true });
  assertEquals(ledger.observe("a", 6, 0), { store: true, gap: { from: 3, to: 5 } });
  assertEquals(ledger.stillOpen("a", { from: 1, to: 10 }), [{ from: 3, to: 5 }]);
  assertEquals(ledger.observe("a", 4, 0, true), { store: true });
  assertEquals(ledger.stillOpen("a", { from: 1, to: 10 }), [{ from: 3, to: 3 }, {
    from: 5,
    to: 5,
  }]);
  assertEquals(ledger.observe("a", 4, 0), { store: false });
  assertEquals(ledger.observe("a", 2, 0), { store: false });
  ledger.writeOff("a", { from: 1, to: 10 });
  const [figures] = ledger.figures();
  assertEquals(
    [figures!.received, figures!.missing, figures!.refilled, figures!.duplicates, figures!.pending],
    [4, 2, 1, 2, 0],
  );
});

Deno.test("PublisherLedger: a new publisher starting above 1 has missed 1..seq-1", () => {
  const ledger = new PublisherLedger();
  assertEquals(ledger.observe("late", 5, 0), { store: true, gap: { from: 1, to: 4 } });
});

Deno.test("PublisherLedger.announce() reveals loss at the end of a stream", () => {
  const ledger = new PublisherLedger();
  ledger.observe("a", 1, 0);
  assertEquals(ledger.announce("a", 1, 0), undefined);
  assertEquals(ledger.announce("a", 3, 0), { from: 2, to: 3 });
  assertEquals(ledger.highest("a"), 3);
});

Deno.test("PublisherLedger forgets the publisher not seen for the longest time at its cap", () => {
  const ledger = new PublisherLedger(2);
  ledger.observe("a", 1, 1);
  ledger.observe("b", 1, 2);
  ledger.observe("a", 2, 3);
  ledger.observe("c", 1, 4);
  assertEquals(ledger.size, 2);
  assertEquals([ledger.has("a"), ledger.has("b"), ledger.has("c")], [true, false, true]);
});

Deno.test("PublisherLedger.restore() continues after the highest stored seq without a gap", () => {
  const ledger = new PublisherLedger();
  ledger.restore("a", { highest_seq: 10, received: 9, missing: 1 }, 0);
  assertEquals(ledger.observe("a", 5, 0), { store: false });
  assertEquals(ledger.observe("a", 11, 0), { store: true });
  assertEquals(ledger.figures()[0]!.received, 10);
});

Deno.test("PublisherLedger with trackGaps false: jumps are no gaps, repeats still duplicates", () => {
  const ledger = new PublisherLedger(10, { trackGaps: false });
  assertEquals(ledger.observe("a", 3, 0), { store: true });
  assertEquals(ledger.observe("a", 7, 0), { store: true });
  assertEquals(ledger.announce("a", 9, 0), undefined);
  assertEquals(ledger.observe("a", 7, 0), { store: false });
  assertEquals(ledger.figures()[0]!.pending, 0);
});
