/**
 * A test publisher speaking the accounting and refill protocol over real ZeroMQ (see the
 * README's "Publisher accounting and refill" section), run as a child process
 * (`_test_publisher_child.ts`): a PUB socket for messages and presence, a ROUTER for resend
 * requests, an outbox of the last `outbox` messages. It can "lose" messages on purpose
 * (numbered and kept in the outbox, never sent), which is how tests make gaps. A small peer for
 * the daemon's tests, not the client library (`src/client/`).
 */
import { RUN_PERMISSIONS } from "../src/self_command.ts";

const CHILD_PATH = new URL("./_test_publisher_child.ts", import.meta.url).pathname;

/** Options for {@link TestPublisher.start}. */
export interface TestPublisherOptions {
  readonly name?: string;
  readonly outbox?: number;
}

/** See the module comment. */
export class TestPublisher {
  readonly pub: string;
  readonly resend: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies: AsyncIterator<string>;
  #lastSeq = 0;

  private constructor(
    child: Deno.ChildProcess,
    replies: AsyncIterator<string>,
    first: { pub: string; resend: string },
  ) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#replies = replies;
    this.pub = first.pub;
    this.resend = first.resend;
  }

  /** Starts the child, connected to the broker's `frontend`. */
  static async start(frontend: string, options: TestPublisherOptions = {}): Promise<TestPublisher> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...RUN_PERMISSIONS,
        CHILD_PATH,
        frontend,
        options.name ?? "tester",
        String(options.outbox ?? 10_000),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const replies = lines(child.stdout)[Symbol.asyncIterator]();
    const first = await replies.next();
    if (first.done) throw new Error("the test publisher exited before it started");
    return new TestPublisher(child, replies, JSON.parse(first.value));
  }

  /** Highest seq numbered so far. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Numbers and publishes `count` messages on `topic`. */
  send(topic: string, count: number, delayMs = 0): Promise<number> {
    return this.#run({ cmd: "send", topic, count, delayMs });
  }

  /** Numbers `count` messages and keeps them in the outbox without sending them (a loss). */
  lose(count: number): Promise<number> {
    return this.#run({ cmd: "lose", count });
  }

  /** Sends the exact frames of an outbox message again (a duplicate on the bus). */
  sendAgain(seq: number): Promise<number> {
    return this.#run({ cmd: "again", seq });
  }

  /** Publishes a presence announcement. */
  presence(type: "hello" | "alive" | "bye"): Promise<number> {
    return this.#run({ cmd: "presence", type });
  }

  /** Publishes frames as they are (no envelope). */
  raw(frames: string[]): Promise<number> {
    return this.#run({ cmd: "raw", frames });
  }

  /** Stops answering resend requests. */
  mute(): Promise<number> {
    return this.#run({ cmd: "mute" });
  }

  /** Answers resend requests again. */
  unmute(): Promise<number> {
    return this.#run({ cmd: "unmute" });
  }

  /** SIGKILLs the child and waits for it; safe to repeat. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    await this.#child.status;
  }

  async #run(command: Record<string, unknown>): Promise<number> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
    const reply = await this.#replies.next();
    if (reply.done) throw new Error("the test publisher exited");
    this.#lastSeq = JSON.parse(reply.value).last_seq;
    return this.#lastSeq;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let carry = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (carry + chunk).split("\n");
    carry = parts.pop()!;
    yield* parts;
  }
}
