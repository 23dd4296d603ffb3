import { parseArgs, type ParseArgsConfig } from "node:util";
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

/**
 * Parses a command's arguments strictly; unknown flags become a {@link UsageError} that points
 * to the command's help.
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
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    // node:util explains over several lines; one line says it (and no cause repeats it).
    const message = (error as Error).message;
    const ambiguous = /^Option '(--?[\w-]+)[^']*' argument is ambiguous/.exec(message);
    const detail = ambiguous
      ? `option ${ambiguous[1]} needs a value (write a value that starts with a dash as ` +
        `${ambiguous[1]}=-…)`
      : message.replace(/\. To specify .*$/s, "").split("\n")[0];
    throw new UsageError(
      `Cannot parse arguments of "${command}": ${detail} (see "shearwater-persist ${command} --help")`,
    );
  }
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
