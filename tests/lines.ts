/**
 * Lines of a child process's output, as they arrive: shared by tests and benches that drive a
 * child over stdin/stdout.
 *
 * @example
 * ```ts
 * for await (const line of readLines(child.stdout)) console.log(line);
 * ```
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let carry = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (carry + chunk).split("\n");
    carry = parts.pop()!;
    yield* parts;
  }
}
