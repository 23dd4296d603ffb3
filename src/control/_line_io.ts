/** Reads up to and excluding the first newline; throws when more than `maxBytes` arrive first. */
export async function readLine(connection: Deno.Conn, maxBytes: number): Promise<string | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await connection.read(buffer);
    if (n === null) break;
    const chunk = buffer.slice(0, n);
    chunks.push(chunk);
    total += n;
    if (chunk.includes(0x0a)) break;
    if (total > maxBytes) throw new Error(`control message over ${maxBytes} bytes`);
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder().decode(all);
  const newline = text.indexOf("\n");
  return newline === -1 ? null : text.slice(0, newline);
}

/** Writes one line (a newline is added) completely. */
export async function writeLine(connection: Deno.Conn, line: string): Promise<void> {
  const bytes = new TextEncoder().encode(line + "\n");
  let offset = 0;
  while (offset < bytes.length) offset += await connection.write(bytes.subarray(offset));
}
