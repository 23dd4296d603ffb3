/**
 * Client library for agents publishing on a shearwater bus with accounting: the envelope,
 * the outbox and the resend endpoint (see README "Client libraries").
 *
 * @example
 * ```ts
 * import { Publisher } from "shearwater-persist/client"; // or a path to src/client/mod.ts
 * await using publisher = await Publisher.open({ frontend: "tcp://127.0.0.1:5559", name: "alice" });
 * await publisher.send("agent.alice", { text: "hello" });
 * ```
 *
 * @module
 */
export {
  ENVELOPE_FIELD,
  type Payload,
  PRESENCE_TOPIC,
  Publisher,
  type PublisherOptions,
} from "./publisher.ts";
export { Outbox } from "./outbox.ts";
