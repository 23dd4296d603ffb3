/**
 * A SUB socket read through Deno FFI on the libzmq that zeromq.js's own addon carries (it
 * exports libzmq's C API), so receiving costs a few synchronous FFI calls per frame instead of a
 * Promise per message: a burst is drained with `ZMQ_DONTWAIT` in a tight loop and handed over
 * in batches; only an empty queue waits, in `zmq_poll` run as a non-blocking FFI call.
 *
 * @module
 */
import * as zmq from "zeromq";
import type { BusSubscriberOptions, LinkEvent } from "./subscriber.ts";

// libzmq 4.3 constants (zmq.h).
const ZMQ_PAIR = 0;
const ZMQ_SUB = 2;
const ZMQ_SUBSCRIBE = 6;
const ZMQ_LINGER = 17;
const ZMQ_RECONNECT_IVL = 18;
const ZMQ_RECONNECT_IVL_MAX = 21;
const ZMQ_RCVHWM = 24;
const ZMQ_HEARTBEAT_IVL = 75;
const ZMQ_HEARTBEAT_TIMEOUT = 77;
const ZMQ_DONTWAIT = 1;
const ZMQ_POLLIN = 1;
const ZMQ_EVENT_DISCONNECTED = 0x0200;
const ZMQ_EVENT_HANDSHAKE_SUCCEEDED = 0x1000;
const EAGAIN = 11;
const EINTR = 4;
/** zmq_msg_recv returns sizes truncated to INT_MAX: at that value the real size is asked. */
const INT_MAX = 0x7fffffff;
/** sizeof(zmq_msg_t) and sizeof(zmq_pollitem_t) on 64-bit Linux. */
const MSG_T_BYTES = 64;
const POLLITEM_BYTES = 16;

/** Messages handed over per batch at most; the caller yields to its event loop between them. */
const MAX_BATCH_MESSAGES = 1024;
/** zmq_poll's timeout: how long a close() may wait for the poll in flight to return. */
const POLL_TIMEOUT_MS = 50;
/** Frames up to this size are copied into a shared slab; larger ones get their own buffer. */
const SLAB_FRAME_BYTES = 16 * 1024;
const SLAB_BYTES = 256 * 1024;

const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_socket_monitor: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_size: { parameters: ["buffer"], result: "usize" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

type Libzmq = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let library: { symbols: Libzmq; version: string } | undefined;
let monitorCount = 0;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The zeromq.js addon's soname. Once zeromq.js has loaded it, `dlopen` of this bare name returns
 * that very object (glibc matches loaded objects by soname): the file zeromq.js picked for this
 * platform, also inside a compiled binary, with no path to guess and no read permission needed.
 */
const ADDON_SONAME = "addon.node";

/**
 * Opens libzmq through the zeromq.js addon (once per process); a reason when it cannot.
 *
 * @example
 * ```ts
 * const opened = openLibzmq();
 * if ("reason" in opened) console.log(opened.reason);
 * ```
 */
export function openLibzmq(): { version: string } | { reason: string } {
  if (library) return { version: library.version };
  if (typeof zmq.version !== "string") return { reason: "zeromq.js did not load its addon" };
  let symbols: Libzmq;
  try {
    symbols = Deno.dlopen(ADDON_SONAME, SYMBOLS).symbols;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { reason: `cannot open zeromq.js's ${ADDON_SONAME} through FFI: ${error.message}` };
  }
  const parts = [new Int32Array(1), new Int32Array(1), new Int32Array(1)] as const;
  symbols.zmq_version(...parts);
  const version = parts.map((part) => part[0]).join(".");
  if (version !== zmq.version) {
    return { reason: `${ADDON_SONAME} is libzmq ${version}, zeromq.js reports ${zmq.version}` };
  }
  library = { symbols, version };
  return { version };
}

/**
 * A SUB connection to a broker's XPUB backend read through FFI (see the module doc); same
 * contract as `BusSubscriber`. libzmq reconnects by itself after a broker restart (the stuck
 * `receive()` that made `BusSubscriber` replace its socket is zeromq.js's, not libzmq's); the
 * link state comes from a socket monitor read in the same `zmq_poll`. Call {@link openLibzmq}
 * first: the constructor throws if libzmq is not open.
 *
 * @example
 * ```ts
 * if (!("reason" in openLibzmq())) {
 *   const sub = new FfiSubscriber({ endpoint: "tcp://127.0.0.1:5560", topics: [] });
 *   for await (const batch of sub.batches()) console.log(batch.length);
 * }
 * ```
 */
export class FfiSubscriber {
  readonly #lib: Libzmq;
  readonly #options: BusSubscriberOptions;
  readonly #socket: Deno.PointerValue;
  readonly #monitor: Deno.PointerValue;
  readonly #msg = new Uint8Array(MSG_T_BYTES);
  readonly #pollItems = new Uint8Array(POLLITEM_BYTES * 2);
  #slab = new Uint8Array(SLAB_BYTES);
  #slabUsed = 0;
  #closed = false;
  #socketsClosed = false;
  #polling: Promise<number> | undefined;
  #linkUp: boolean | undefined;
  #signalClosed!: () => void;
  readonly #closedSignal = new Promise<undefined>((resolve) => {
    this.#signalClosed = () => resolve(undefined);
  });

  constructor(options: BusSubscriberOptions) {
    if (!library) throw new Error("FfiSubscriber: libzmq is not open (call openLibzmq first)");
    this.#lib = library.symbols;
    this.#options = options;
    const lib = this.#lib;
    const context = lib.zmq_ctx_new(); // one per subscriber, never terminated (see close())
    this.#socket = this.#check(lib.zmq_socket(context, ZMQ_SUB), "create a SUB socket");
    const heartbeat = options.heartbeatIntervalMs ?? 1000;
    this.#setInt(ZMQ_RCVHWM, options.receiveHighWaterMark ?? 1_000_000);
    this.#setInt(ZMQ_HEARTBEAT_IVL, heartbeat);
    this.#setInt(ZMQ_HEARTBEAT_TIMEOUT, heartbeat * 3);
    this.#setInt(ZMQ_RECONNECT_IVL, 100);
    this.#setInt(ZMQ_RECONNECT_IVL_MAX, 1000);
    this.#setInt(ZMQ_LINGER, 0);
    const topics = options.topics.length === 0 ? [""] : options.topics;
    for (const topic of topics) {
      const bytes = encoder.encode(topic);
      this.#ok(
        lib.zmq_setsockopt(this.#socket, ZMQ_SUBSCRIBE, bytes, BigInt(bytes.length)),
        "subscribe",
      );
    }
    const monitorEndpoint = cString(`inproc://shearwater-subscriber-monitor-${++monitorCount}`);
    this.#ok(
      lib.zmq_socket_monitor(
        this.#socket,
        monitorEndpoint,
        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED,
      ),
      "monitor the SUB socket",
    );
    this.#monitor = this.#check(lib.zmq_socket(context, ZMQ_PAIR), "create a monitor socket");
    this.#ok(lib.zmq_connect(this.#monitor, monitorEndpoint), "connect the monitor");
    this.#ok(lib.zmq_connect(this.#socket, cString(options.endpoint)), "connect");
    this.#ok(lib.zmq_msg_init(this.#msg), "init a message");
    const items = new DataView(this.#pollItems.buffer);
    for (const [i, socket] of [this.#socket, this.#monitor].entries()) {
      items.setBigUint64(i * POLLITEM_BYTES, BigInt(Deno.UnsafePointer.value(socket)), true);
      items.setInt16(i * POLLITEM_BYTES + 12, ZMQ_POLLIN, true);
    }
  }

  /** Multipart messages as they arrive, in order, until {@link close}. */
  async *messages(): AsyncGenerator<Uint8Array[]> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * Messages in arrival order, as many as are queued (up to 1024) per batch, until
   * {@link close}: one await per batch, not per message.
   */
  async *batches(): AsyncGenerator<Uint8Array[][]> {
    try {
      while (!this.#closed) {
        this.#readMonitor();
        const batch = this.#drain();
        if (batch.length > 0) {
          yield batch;
          continue;
        }
        if (this.#closed) return;
        this.#polling ??= this.#lib.zmq_poll(this.#pollItems, 2, BigInt(POLL_TIMEOUT_MS))
          .finally(() => this.#polling = undefined);
        await Promise.race([this.#polling, this.#closedSignal]);
      }
    } finally {
      this.close();
    }
  }

  /**
   * Stops receiving; a pending iteration ends. The sockets are closed (linger 0) once no poll
   * is in flight on them; the context stays for the process (terminating it could block).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signalClosed();
    const closeSockets = () => {
      if (this.#socketsClosed) return;
      this.#socketsClosed = true;
      this.#lib.zmq_msg_close(this.#msg);
      this.#lib.zmq_close(this.#monitor);
      this.#lib.zmq_close(this.#socket);
    };
    if (this.#polling) this.#polling.then(closeSockets, closeSockets);
    else closeSockets();
  }

  /** Receives what is queued, without waiting. */
  #drain(): Uint8Array[][] {
    const batch: Uint8Array[][] = [];
    while (batch.length < MAX_BATCH_MESSAGES) {
      const first = this.#receiveFrame(this.#socket);
      if (first === undefined) break;
      const frames = [first];
      // The frames of a multipart message arrive together: the rest never wait.
      while (this.#lib.zmq_msg_more(this.#msg) === 1) {
        frames.push(this.#receiveFrame(this.#socket) ?? this.#fail("read a message's next frame"));
      }
      batch.push(frames);
    }
    return batch;
  }

  /** One frame from `socket` (copied out of libzmq), or undefined when nothing is queued. */
  #receiveFrame(socket: Deno.PointerValue): Uint8Array | undefined {
    const lib = this.#lib;
    let size = lib.zmq_msg_recv(this.#msg, socket, ZMQ_DONTWAIT);
    // A signal (a profiler's SIGPROF, a signal listener) interrupts libzmq's read: retry, also
    // between the frames of a message.
    while (size === -1) {
      const errno = lib.zmq_errno();
      if (errno === EAGAIN) return undefined;
      if (errno !== EINTR) this.#fail("receive", errno);
      size = lib.zmq_msg_recv(this.#msg, socket, ZMQ_DONTWAIT);
    }
    if (size === INT_MAX) size = Number(lib.zmq_msg_size(this.#msg));
    const frame = this.#allocate(size);
    if (size > 0) Deno.UnsafePointerView.copyInto(lib.zmq_msg_data(this.#msg)!, frame);
    return frame;
  }

  /** Small frames share a slab (one backing store per 256 KB, not per frame). */
  #allocate(size: number): Uint8Array {
    if (size > SLAB_FRAME_BYTES) return new Uint8Array(size);
    if (this.#slabUsed + size > SLAB_BYTES) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    const frame = new Uint8Array(this.#slab.buffer, this.#slabUsed, size); // cheaper than subarray
    this.#slabUsed += size;
    return frame;
  }

  /** Reports link changes the monitor saw: handshake = up, disconnect = down. */
  #readMonitor(): void {
    for (;;) {
      const header = this.#receiveFrame(this.#monitor);
      if (header === undefined) return;
      const address = this.#lib.zmq_msg_more(this.#msg) === 1
        ? decoder.decode(this.#receiveFrame(this.#monitor) ?? new Uint8Array())
        : "";
      if (this.#closed || header.length < 2) continue;
      const event = header[0]! | (header[1]! << 8);
      if (event === ZMQ_EVENT_HANDSHAKE_SUCCEEDED) this.#reportLink({ type: "up", address });
      else if (event === ZMQ_EVENT_DISCONNECTED) this.#reportLink({ type: "down", address });
    }
  }

  /** Reports changes of the link only (a reconnect attempt that fails is not a new outage). */
  #reportLink(event: LinkEvent): void {
    const up = event.type === "up";
    if (this.#linkUp === up) return;
    this.#linkUp = up;
    this.#options.onLinkEvent?.(event);
  }

  #setInt(option: number, value: number): void {
    const bytes = new Uint8Array(new Int32Array([value]).buffer);
    this.#ok(this.#lib.zmq_setsockopt(this.#socket, option, bytes, 4n), `set option ${option}`);
  }

  #check(pointer: Deno.PointerValue, action: string): Deno.PointerValue {
    if (pointer === null) this.#fail(action);
    return pointer;
  }

  #ok(rc: number, action: string): void {
    if (rc !== 0) this.#fail(action);
  }

  #fail(action: string, errno = this.#lib.zmq_errno()): never {
    const text = this.#lib.zmq_strerror(errno);
    const reason = text === null ? `errno ${errno}` : new Deno.UnsafePointerView(text).getCString();
    throw new Error(`Cannot ${action} on ${this.#options.endpoint} through libzmq: ${reason}`);
  }
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text + "\0");
}
