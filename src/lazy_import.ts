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
 * that uses it, with `new URL("./file.ts", import.meta.url)`, so the declaration is recorded when
 * that module loads.
 *
 * @example
 * ```ts
 * const loadRefresh = lazyModule<typeof import("./indexer/refresh.ts")>(
 *   new URL("./indexer/refresh.ts", import.meta.url),
 * );
 * const { refreshIndex } = await loadRefresh();
 * ```
 */
export function lazyModule<T>(url: URL): () => Promise<T> {
  declared.add(url.href);
  let loaded: Promise<T> | undefined;
  return () => loaded ??= import(url.href) as Promise<T>;
}

/** The URL of every module declared with {@link lazyModule} by the modules loaded so far. */
export function lazyModuleUrls(): readonly string[] {
  return [...declared];
}
