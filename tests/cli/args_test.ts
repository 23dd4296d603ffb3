import { parseArgs } from "node:util";
import { assertEquals } from "../_assert.ts";
import { COMMON_OPTIONS, type OptionSpec, parseCommandArgs } from "../../src/cli/args.ts";
import { UsageError } from "../../src/errors.ts";

// parseCommandArgs() parses like node:util's parseArgs in strict mode (which it replaced, to
// start faster). The reference is the code it replaced: parseArgs plus the same message rules.
function reference(args: string[], options: OptionSpec, allowPositionals: boolean) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: { ...parsed.values }, positionals: parsed.positionals };
  } catch (error) {
    const message = (error as Error).message;
    const ambiguous = /^Option '(--?[\w-]+)[^']*' argument is ambiguous/.exec(message);
    const detail = ambiguous
      ? `option ${ambiguous[1]} needs a value (write a value that starts with a dash as ` +
        `${ambiguous[1]}=-…)`
      : message.replace(/\. To specify .*$/s, "").split("\n")[0];
    return {
      error: `Cannot parse arguments of "cmd": ${detail} (see "shearwater-persist cmd --help")`,
    };
  }
}

function ours(args: string[], options: OptionSpec, allowPositionals: boolean) {
  try {
    const parsed = parseCommandArgs("cmd", args, options, allowPositionals);
    return { values: { ...parsed.values }, positionals: parsed.positionals };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { error: error.message };
  }
}

const SPECS: { name: string; options: OptionSpec; positionals: boolean }[] = [
  { name: "common", options: COMMON_OPTIONS, positionals: false },
  {
    name: "search-like",
    options: {
      ...COMMON_OPTIONS,
      limit: { type: "string", short: "n" },
      since: { type: "string" },
    },
    positionals: true,
  },
  {
    name: "checkpoint-like",
    options: { ...COMMON_OPTIONS, yes: { type: "boolean", short: "y" }, label: { type: "string" } },
    positionals: true,
  },
  {
    name: "daemon-like",
    options: { help: { type: "boolean", short: "h" }, topic: { type: "string", multiple: true } },
    positionals: false,
  },
];

const CASES: string[][] = [
  [],
  ["--json"],
  ["--json", "--json"],
  ["--json=1"],
  ["--json="],
  ["-h"],
  ["--help"],
  ["--data-dir", "d"],
  ["--data-dir=d"],
  ["--data-dir=-d"],
  ["--data-dir", "-d"],
  ["--data-dir", "--json"],
  ["--data-dir", "-"],
  ["--data-dir"],
  ["--data-dir", "a", "--data-dir", "b"],
  ["--frobnicate"],
  ["--frobnicate=3"],
  ["-x"],
  ["-hx"],
  ["-hy"],
  ["-yh"],
  ["-yn5"],
  ["-n", "5"],
  ["-n5"],
  ["-n"],
  ["-n", "-5"],
  ["-n=5"],
  ["-5"],
  ["word"],
  ["two", "words"],
  ["-"],
  ["--"],
  ["--", "--json", "-h"],
  ["word", "--json", "more"],
  ["--limit", "3", "q", "--since=2h"],
  ["--topic", "a", "--topic=b"],
  ["--topic"],
  ["--topic", "-b"],
  ["--__proto__"],
  ["--constructor"],
  ["--toString"],
  ["load", "ID", "--yes", "--label", "x y"],
  ["--label", "--yes"],
  ["---json"],
  ["--=x"],
];

for (const spec of SPECS) {
  Deno.test(`parseCommandArgs() parses like node:util parseArgs (${spec.name} options)`, () => {
    for (const args of CASES) {
      assertEquals(
        ours(args, spec.options, spec.positionals),
        reference(args, spec.options, spec.positionals),
        `args ${JSON.stringify(args)}`,
      );
    }
  });
}
