import type { parseArgs, ParseArgsConfig } from "node:util";
import { type NumberRange, parseWholeNumber } from "../config.ts";
import { UsageError } from "../errors.ts";

/** Option declarations in `node:util` parseArgs form. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: "boolean", short: "h" },
  "data-dir": { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
} as const satisfies OptionSpec;

/** What {@link parseCommandArgs} returns: what `node:util`'s `parseArgs` returns for `T`. */
export type ParsedArgs<T extends OptionSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>
>;

/**
 * Parses a command's arguments strictly; unknown flags become a {@link UsageError} that points
 * to the command's help.
 *
 * It follows `node:util`'s `parseArgs` in strict mode (`--name value`, `--name=value`, `-n value`,
 * `-nvalue`, grouped boolean shorts `-hy`, `--` ends the options; a value that starts with a
 * dash must be written `--name=-…`) with the same messages, but loading `node:util` costs about
 * half as much as starting an empty program: every command parses its arguments, so this is
 * part of every command's start-up. tests/cli/args_test.ts compares both on many command lines.
 *
 * @example
 * ```ts
 * const { values, positionals } = parseCommandArgs("status", args, COMMON_OPTIONS);
 * ```
 */
export function parseCommandArgs<T extends OptionSpec>(
  command: string,
  args: readonly string[],
  options: T,
  allowPositionals = false,
): ParsedArgs<T> {
  try {
    return parseStrict(args, options, allowPositionals) as ParsedArgs<T>;
  } catch (error) {
    if (!(error instanceof ArgumentError)) throw error;
    const ambiguous = /^Option '(--?[\w-]+)[^']*' argument is ambiguous/.exec(error.message);
    const detail = ambiguous
      ? `option ${ambiguous[1]} needs a value (write a value that starts with a dash as ` +
        `${ambiguous[1]}=-…)`
      : error.message;
    throw new UsageError(
      `Cannot parse arguments of "${command}": ${detail} (see "shearwater-persist ${command} --help")`,
    );
  }
}

/** An argument `parseStrict` cannot accept; the message is one line. */
class ArgumentError extends Error {}

/** `node:util` parseArgs, strict mode, as this CLI uses it (no defaults, no negation). */
function parseStrict(
  args: readonly string[],
  options: OptionSpec,
  allowPositionals: boolean,
): { values: Record<string, string | boolean | (string | boolean)[]>; positionals: string[] } {
  const values: Record<string, string | boolean | (string | boolean)[]> = Object.create(null);
  const positionals: string[] = [];
  const remaining = [...args];
  const spec = (name: string) => Object.hasOwn(options, name) ? options[name] : undefined;
  const longForShort = (short: string) =>
    Object.keys(options).find((name) => options[name]!.short === short) ?? short;
  const takesValue = (name: string) => spec(name)?.type === "string";
  const option = (name: string, rawName: string, value: string | undefined, inline: boolean) => {
    const declared = spec(name);
    if (!declared) throw new ArgumentError(`Unknown option '${rawName}'`);
    const shortAndLong = `${declared.short ? `-${declared.short}, ` : ""}--${name}`;
    if (declared.type === "string" && value === undefined) {
      throw new ArgumentError(`Option '${shortAndLong} <value>' argument missing`);
    }
    if (declared.type === "boolean" && value !== undefined) {
      throw new ArgumentError(`Option '${shortAndLong}' does not take an argument`);
    }
    if (!inline && value !== undefined && value.length > 1 && value[0] === "-") {
      throw new ArgumentError(`Option '${rawName}' argument is ambiguous`);
    }
    if (name === "__proto__") return;
    const stored = value ?? true;
    if (declared.multiple) {
      const list = values[name];
      if (Array.isArray(list)) list.push(stored);
      else values[name] = [stored];
    } else values[name] = stored;
  };
  const positional = (value: string) => {
    if (!allowPositionals) {
      throw new ArgumentError(
        `Unexpected argument '${value}'. This command does not take positional arguments`,
      );
    }
    positionals.push(value);
  };
  while (remaining.length > 0) {
    const arg = remaining.shift()!;
    if (arg === "--") {
      for (const rest of remaining.splice(0)) positional(rest);
    } else if (arg.length === 2 && arg[0] === "-" && arg[1] !== "-") {
      const name = longForShort(arg[1]!);
      const value = takesValue(name) && remaining.length > 0 ? remaining.shift() : undefined;
      option(name, arg, value, false);
    } else if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
      if (!takesValue(longForShort(arg[1]!))) {
        // A group: -abc is -a -b -c; a short that takes a value takes the rest (-abfFILE).
        const expanded: string[] = [];
        for (let at = 1; at < arg.length; at++) {
          if (!takesValue(longForShort(arg[at]!)) || at === arg.length - 1) {
            expanded.push(`-${arg[at]}`);
          } else {
            expanded.push(`-${arg.slice(at)}`);
            break;
          }
        }
        remaining.unshift(...expanded);
      } else option(longForShort(arg[1]!), `-${arg[1]}`, arg.slice(2), true);
    } else if (arg.length > 2 && arg.startsWith("--") && !arg.includes("=", 3)) {
      const name = arg.slice(2);
      const value = takesValue(name) && remaining.length > 0 ? remaining.shift() : undefined;
      option(name, arg, value, false);
    } else if (arg.length > 2 && arg.startsWith("--")) {
      const equals = arg.indexOf("=");
      const name = arg.slice(2, equals);
      option(name, `--${name}`, arg.slice(equals + 1), true);
    } else positional(arg);
  }
  return { values, positionals };
}

/**
 * Parses a whole-number flag (or upper-case positional) value with {@link parseWholeNumber}:
 * decimal digits only, within `range` (default 0 to `Number.MAX_SAFE_INTEGER`); anything else
 * throws a UsageError that names the flag and quotes the text as typed.
 *
 * @example
 * ```ts
 * const limit = integerFlag("limit", values.limit, { min: 1 }) ?? 20;
 * ```
 */
export function integerFlag(
  name: string,
  value: string | undefined,
  range: Partial<NumberRange> = {},
): number | undefined {
  if (value === undefined) return undefined;
  const label = /^[A-Z]+$/.test(name) ? name : `--${name}`; // positional arguments are upper case
  return parseWholeNumber(value, label, range);
}
