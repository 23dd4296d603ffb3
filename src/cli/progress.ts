/** Reports progress of long work on stderr: a bar on a terminal, a line per 10 % otherwise. */
export interface ProgressReporter {
  update(done: number, total: number, detail: string): void;
  finish(summary: string): void;
}

const BAR_WIDTH = 30;
const encoder = new TextEncoder();

/**
 * A progress reporter for `label`. On a terminal it redraws one line (`\r`) at most ten times a
 * second; elsewhere (CI, pipes) it prints a line at every 10 % step, so logs stay short.
 *
 * @example
 * ```ts
 * const progress = createProgress("Indexing");
 * progress.update(50, 100, "50,000 records");
 * progress.finish("done");
 * ```
 */
export function createProgress(
  label: string,
  stream: { isTerminal(): boolean; writeSync(data: Uint8Array): number } = Deno.stderr,
): ProgressReporter {
  const terminal = stream.isTerminal();
  let lastDrawMs = 0;
  let lastStep = -1;
  let drawn = false;
  const write = (text: string) => stream.writeSync(encoder.encode(text));
  return {
    update(done, total, detail) {
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const percent = Math.floor(fraction * 100);
      if (terminal) {
        const now = performance.now();
        if (now - lastDrawMs < 100 && fraction < 1) return;
        lastDrawMs = now;
        const filled = Math.round(fraction * BAR_WIDTH);
        const bar = "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled);
        write(
          `\r${label} [${bar}] ${String(percent).padStart(3)}% ${detail}`.slice(0, 79) + "\x1b[K",
        );
        drawn = true;
      } else {
        const step = Math.floor(percent / 10);
        if (step === lastStep) return;
        lastStep = step;
        write(`${label}: ${percent}% ${detail}\n`);
      }
    },
    finish(summary) {
      write(`${terminal && drawn ? "\r\x1b[K" : ""}${label}: ${summary}\n`);
    },
  };
}
