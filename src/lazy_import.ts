/**
 * Modules loaded only when they run, imported by a computed URL. A literal `import("./x.ts")`
 * makes Deno resolve and load the module graph of every such target (ZeroMQ and SQLite
 * included) before the program starts, whether it runs or not: that cost every command ~7 ms.
 * A computed URL is not followed at start-up; `deno compile` cannot see it either, so every
 * module declared here is listed with `--include` in deno.json's compile task, which
 * tests/cli/lazy_loading_test.ts checks against {@link lazyModuleUrls}.
 *
 * @module
 */

const declared = new Set<string>();

/**
 * Declares a module loaded later and returns its loader; call it at the top level of the module
 * that uses it, with `import.meta.resolve("./file.ts")` (cheaper at start-up than `new URL`), so
 * the declaration is recorded when that module loads.
 *
 * @example
 * ```ts
 * const loadRefresh = lazyModule<typeof import("./indexer/refresh.ts")>(
 *   import.meta.resolve("./indexer/refresh.ts"),
 * );
 * const { refreshIndex } = await loadRefresh();
 * ```
 */
export function lazyModule<T>(url: string): () => Promise<T> {
  declared.add(url);
  let loaded: Promise<T> | undefined;
  return () => loaded ??= import(url) as Promise<T>;
}

/** The URL of every module declared with {@link lazyModule} by the modules loaded so far. */
export function lazyModuleUrls(): readonly string[] {
  return [...declared];
}
