import { assertEquals } from "../_assert.ts";
import { COMMANDS } from "../../src/cli/main.ts";
import { lazyModuleUrls } from "../../src/lazy_import.ts";

const ROOT = new URL("../../", import.meta.url);

interface GraphModule {
  specifier: string;
  dependencies?: { isDynamic?: boolean; code?: { specifier: string } }[];
}

/**
 * The module graph (dynamic imports included, marked) from `deno info --json` of main.ts and
 * every lazily loaded module: the command modules are imported by computed URLs, which
 * `deno info main.ts` does not follow.
 */
async function moduleGraph(): Promise<Map<string, GraphModule>> {
  await loadEveryCommand();
  const dir = await Deno.makeTempDir({ prefix: "shearwater-lazy-graph-" });
  try {
    const roots = [new URL("main.ts", ROOT).href, ...lazyModuleUrls()];
    const entry = `${dir}/roots.ts`;
    await Deno.writeTextFile(entry, roots.map((root) => `import "${root}";\n`).join(""));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", ROOT).pathname, entry],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(output.success, true, new TextDecoder().decode(output.stderr));
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: GraphModule[] };
    return new Map(info.modules.map((module) => [module.specifier, module]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs every command's loader, so every module they declare with lazyModule() is recorded. */
async function loadEveryCommand(): Promise<void> {
  for (const command of COMMANDS) await command.load();
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
  const graph = await moduleGraph();
  // Imported by computed URLs (lazy_import.ts): only --include puts them into a compiled binary.
  const lazy = new Set(lazyModuleUrls().map((url) => url.slice(ROOT.href.length)));
  assertEquals(lazy.size >= COMMANDS.length, true);
  for (const module of graph.values()) {
    for (const dependency of module.dependencies ?? []) {
      const specifier = dependency.code?.specifier;
      if (dependency.isDynamic && specifier?.startsWith(ROOT.href)) {
        lazy.add(specifier.slice(ROOT.href.length));
      }
    }
  }
  for (const file of lazy) {
    assertEquals(included.has(file), true, `${file} missing from compile`);
    await Deno.stat(new URL(file, ROOT)); // the file exists
  }
});

Deno.test("start-up loads no other module graph: main.ts's modules import nothing by literal import()", async () => {
  // A literal import() makes Deno load the target's whole graph before main.ts runs.
  const graph = await moduleGraph();
  const literal = [...staticClosure(graph, "main.ts")].flatMap((specifier) =>
    (graph.get(specifier)?.dependencies ?? [])
      .filter((dependency) => dependency.isDynamic && dependency.code?.specifier)
      .map((dependency) => `${specifier} -> ${dependency.code!.specifier}`)
  );
  assertEquals(literal, []);
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
