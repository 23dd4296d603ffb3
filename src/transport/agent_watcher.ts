import * as zmq from "zeromq";

/** Topic agents may publish presence on: `{"agent": NAME, "event": "hello" | "bye"}`. */
export const PRESENCE_TOPIC = "shearwater.presence";

/** A change in who is on the bus. */
export type AgentEvent =
  | { readonly type: "subscribed" | "unsubscribed"; readonly topic: string }
  | { readonly type: "hello" | "bye"; readonly agent: string };

/** Options for {@link AgentWatcher}. */
export interface AgentWatcherOptions {
  /** Broker frontend (XSUB): subscription events travel upstream to it. */
  readonly frontend: string;
  /** Broker backend (XPUB): presence messages are read from it. */
  readonly backend: string;
  readonly onEvent: (event: AgentEvent) => void;
}

/**
 * Sees agents come and go without changing the broker, two ways:
 * - Subscriptions: an XPUB socket connected to the broker's frontend receives the subscription
 *   messages the proxy forwards upstream — `subscribed` when the first subscriber of a topic
 *   appears, `unsubscribed` when the last one leaves (closes or unsubscribes). The proxy folds
 *   duplicates, so an agent is seen individually only if it subscribes to a topic of its own;
 *   agents on a shared topic show up as one.
 * - Presence: agents may publish `{"agent": NAME, "event": "hello"|"bye"}` on
 *   {@link PRESENCE_TOPIC}; a crashed agent sends no `bye`, so subscriptions are the safer signal.
 *
 * @example
 * ```ts
 * const watcher = new AgentWatcher({ frontend, backend, onEvent: (e) => console.log(e) });
 * ```
 */
export class AgentWatcher {
  readonly #upstream: zmq.XPublisher;
  readonly #presence: zmq.Subscriber;
  #closed = false;

  constructor(options: AgentWatcherOptions) {
    this.#upstream = new zmq.XPublisher({ linger: 0 });
    this.#upstream.connect(options.frontend);
    this.#presence = new zmq.Subscriber({ linger: 0 });
    this.#presence.subscribe(PRESENCE_TOPIC);
    this.#presence.connect(options.backend);
    this.#readSubscriptions(options.onEvent);
    this.#readPresence(options.onEvent);
  }

  /** Stops reporting events (sockets go with the process; see BusSubscriber). */
  close(): void {
    this.#closed = true;
  }

  async #readSubscriptions(onEvent: (event: AgentEvent) => void): Promise<void> {
    for await (const [message] of this.#upstream) {
      if (this.#closed) return;
      if (!message || message.length === 0) continue;
      const topic = new TextDecoder().decode(message.subarray(1));
      if (topic === PRESENCE_TOPIC) continue; // our own presence reader
      onEvent({ type: message[0] === 1 ? "subscribed" : "unsubscribed", topic });
    }
  }

  async #readPresence(onEvent: (event: AgentEvent) => void): Promise<void> {
    for await (const frames of this.#presence) {
      if (this.#closed) return;
      const text = new TextDecoder().decode(frames.at(-1) ?? new Uint8Array());
      const body = text.startsWith(PRESENCE_TOPIC)
        ? text.slice(PRESENCE_TOPIC.length).trim()
        : text;
      try {
        const parsed = JSON.parse(body);
        if (
          typeof parsed?.agent === "string" && (parsed.event === "hello" || parsed.event === "bye")
        ) {
          onEvent({ type: parsed.event, agent: parsed.agent });
        }
      } catch {
        // Not a presence message we understand: ignored (it is still recorded by the daemon).
      }
    }
  }
}
