/**
 * Makes text from recorded data safe to print on a terminal. Messages are written by other
 * programs (or by an attacker on the bus): an ESC in a sender name must not clear the screen,
 * change the window title or fake our colours; a bidi override must not reorder what the reader
 * sees. Every such character is shown as a visible stand-in instead.
 *
 * @module
 */

/** How one character is shown: C0 as Unicode control pictures, DEL as ␡, others as `\u{…}`. */
function standIn(char: string): string {
  const code = char.codePointAt(0)!;
  if (code < 0x20) return String.fromCodePoint(0x2400 + code); // ␀ … ␟ (␛ for ESC)
  if (code === 0x7f) return "\u2421"; // ␡
  return `\\u{${code.toString(16)}}`;
}

// C0 controls, DEL, C1 controls (U+0080–U+009F: U+009B is a CSI on some terminals), the line
// and paragraph separators, and the bidi embeddings, overrides and isolates.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same without newline and tab, for text shown with its layout.
const UNSAFE_BUT_LAYOUT =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Returns `text` with every control character (C0 including NUL, ESC, BEL and CR; DEL; C1),
 * line/paragraph separator and bidi override or isolate replaced by a visible stand-in: `␛`,
 * `␀`, `␍`, `␡`, `\u{9b}`, `\u{202e}`. With `keepLayout`, newline and tab stay as they are (for
 * multi-line bodies); otherwise they become `␊` and `␉`. The result holds no character a
 * terminal acts on, and applying it twice changes nothing.
 *
 * @example
 * ```ts
 * visible("\u001b[31mred\u0007"); // "␛[31mred␇"
 * visible("a\tb\nc", { keepLayout: true }); // "a\tb\nc"
 * ```
 */
export function visible(text: string, options: { keepLayout?: boolean } = {}): string {
  return text.replace(options.keepLayout ? UNSAFE_BUT_LAYOUT : UNSAFE, standIn);
}

/**
 * {@link visible} for one line: runs of newlines and tabs become one space first.
 *
 * @example
 * ```ts
 * visibleLine("two\nlines\u001b"); // "two lines␛"
 * ```
 */
export function visibleLine(text: string): string {
  return visible(text.replace(/[\n\t]+/g, " "));
}
