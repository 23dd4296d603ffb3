/** A key press, named: `up`, `down`, `enter`, `ctrl-c`, `escape`, or the character typed. */
export type Key = string;

const SEQUENCES: Record<string, Key> = {
  "\x1b[A": "up",
  "\x1bOA": "up",
  "\x1b[B": "down",
  "\x1bOB": "down",
  "\x1b[C": "right",
  "\x1b[D": "left",
  "\r": "enter",
  "\n": "enter",
  "\x03": "ctrl-c",
  "\x04": "ctrl-c",
  "\x1b": "escape",
};

const queued: Key[] = [];

/**
 * Reads one key from a terminal in raw mode, and puts the terminal back as it was. Arrow keys
 * arrive as escape sequences and are returned by name; keys that arrive together (typed fast,
 * or pasted) are returned one per call.
 */
export async function readKey(stdin: typeof Deno.stdin = Deno.stdin): Promise<Key> {
  const next = queued.shift();
  if (next !== undefined) return next;
  stdin.setRaw(true);
  try {
    const buffer = new Uint8Array(64);
    const n = await stdin.read(buffer);
    if (n === null) return "ctrl-c";
    queued.push(...splitKeys(new TextDecoder().decode(buffer.subarray(0, n))));
    return queued.shift() ?? "";
  } finally {
    stdin.setRaw(false);
  }
}

/** Splits what one read returned into keys: escape sequences stay whole. */
export function splitKeys(text: string): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < text.length;) {
    const isArrow = text[i] === "\x1b" && (text[i + 1] === "[" || text[i + 1] === "O") &&
      "ABCD".includes(text[i + 2] ?? "-");
    const token = isArrow ? text.slice(i, i + 3) : text[i]!;
    keys.push(SEQUENCES[token] ?? token);
    i += token.length;
  }
  return keys;
}
