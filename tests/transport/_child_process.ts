/** Starts `_transport_child.ts` and collects the JSON lines it prints. */
import { RUN_PERMISSIONS } from "../../src/self_command.ts";

const CHILD_PATH = new URL("./_transport_child.ts", import.meta.url).pathname;

/** A running transport child and what it has printed so far. */
export interface TransportChild {
  /** Every JSON line printed so far, parsed, in order. */
  readonly lines: Record<string, unknown>[];
  /** Closes its stdin (it exits), SIGKILLs it if it has not, and waits for it. */
  stop(): Promise<void>;
  /** Sends it a signal. */
  kill(signal: Deno.Signal): void;
}

/** Spawns the child with `args` (see `_transport_child.ts`). */
export function startTransportChild(args: string[]): TransportChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, CHILD_PATH, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const reading = (async () => {
    let carry = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (carry + chunk).split("\n");
      carry = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part));
    }
  })();
  const stdin = child.stdin.getWriter();
  return {
    lines,
    kill(signal: Deno.Signal) {
      child.kill(signal);
    },
    async stop() {
      try {
        await stdin.close();
      } catch (error) {
        // Already closed when the child exited first.
        if (!(error instanceof Deno.errors.BrokenPipe) && !(error instanceof TypeError)) {
          throw error;
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
      ]);
      clearTimeout(timer);
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await reading;
    },
  };
}
