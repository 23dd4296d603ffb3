import { assertEquals } from "../_assert.ts";
import { COMMANDS } from "../../src/cli/main.ts";

const ROOT = new URL("../../", import.meta.url);

interface GraphModule {
  specifier: string;
  dependencies?: { isDynamic?: boolean; code?: { specifier: string } }[];
}

/** The module graph of main.ts (dynamic imports included, marked) from `deno info --json`. */
async function moduleGraph(): Promise<Map<string, GraphModule>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.success, true, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: GraphModule[] };
  return new Map(info.modules.map((module) => [module.specifier, module]));
}

/** Every module `file` loads before it runs: its static imports, transitively. */
function staticClosure(graph: Map<string, GraphModule>, file: string): Set<string> {
  const start = new URL(file, ROOT).href;
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const dependency of graph.get(queue.shift()!)?.dependencies ?? []) {
      const specifier = dependency.code?.specifier;
      if (dependency.isDynamic || !specifier || seen.has(specifier)) continue;
      seen.add(specifier);
      queue.push(specifier);
    }
  }
  return seen;
}

// Each of these costs a command about as much start-up time as an empty program, or more.
const ZEROMQ = /^npm:\/?zeromq@/;
const PROMPTS = /^npm:\/?@clack\/prompts@/;
const SLOW_BUILTINS = ["node:zlib", "node:crypto", "node:buffer", "node:util", "node:stream"];
const ALL_HEAVY = [
  ZEROMQ,
  PROMPTS,
  /^node:sqlite$/,
  ...SLOW_BUILTINS.map((b) => new RegExp(`^${b}$`)),
];
const NO_SOCKETS = [ZEROMQ, PROMPTS, ...SLOW_BUILTINS.map((b) => new RegExp(`^${b}$`))];

const LIGHT: Record<string, RegExp[]> = {
  "main.ts": ALL_HEAVY,
  "src/cli/status_command.ts": ALL_HEAVY,
  "src/cli/stop_command.ts": ALL_HEAVY,
  "src/cli/hook_command.ts": ALL_HEAVY,
  "src/cli/checkpoint_command.ts": ALL_HEAVY,
  "src/cli/new_session_command.ts": ALL_HEAVY,
  "src/cli/import_command.ts": ALL_HEAVY,
  "src/cli/search_command.ts": NO_SOCKETS,
  "src/cli/recent_command.ts": NO_SOCKETS,
  "src/cli/show_command.ts": NO_SOCKETS,
  "src/cli/sessions_command.ts": NO_SOCKETS,
  "src/cli/stats_command.ts": NO_SOCKETS,
  "src/cli/up_command.ts": [ZEROMQ, PROMPTS],
};

Deno.test("commands load only what they run: no ZeroMQ, SQLite, prompts or slow builtins statically", async () => {
  const graph = await moduleGraph();
  for (const [file, forbidden] of Object.entries(LIGHT)) {
    const reached = [...staticClosure(graph, file)].filter((specifier) =>
      forbidden.some((pattern) => pattern.test(specifier))
    );
    assertEquals(reached, [], `${file} statically loads ${reached.join(", ")}`);
  }
});

Deno.test("every command's loader returns its action", async () => {
  for (const command of COMMANDS) {
    const action = await command.load();
    assertEquals(typeof action.run, "function", command.name);
  }
});

Deno.test("deno.json's compile task includes every lazily imported module", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: { compile: string };
  };
  const included = new Set(
    [...config.tasks.compile.matchAll(/--include (\S+)/g)].map((match) => match[1]!),
  );
  const lazy = new Set<string>();
  const graph = await moduleGraph();
  for (const module of graph.values()) {
    for (const dependency of module.dependencies ?? []) {
      const specifier = dependency.code?.specifier;
      if (dependency.isDynamic && specifier?.startsWith(ROOT.href)) {
        lazy.add(specifier.slice(ROOT.href.length));
      }
    }
  }
  assertEquals(lazy.size > 0, true);
  for (const file of lazy) assertEquals(included.has(file), true, `${file} missing from compile`);
});

Deno.test("no static import cycle among the project's modules", async () => {
  const graph = await moduleGraph();
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (specifier: string) => {
    state.set(specifier, "open");
    path.push(specifier);
    for (const dependency of graph.get(specifier)?.dependencies ?? []) {
      const next = dependency.code?.specifier;
      if (dependency.isDynamic || !next?.startsWith(ROOT.href)) continue;
      if (state.get(next) === "open") {
        cycles.push(
          [...path.slice(path.indexOf(next)), next].map((s) => s.slice(ROOT.href.length)).join(
            " -> ",
          ),
        );
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(specifier, "done");
  };
  for (const specifier of graph.keys()) if (!state.has(specifier)) visit(specifier);
  assertEquals(cycles, []);
});
