/**
 * Small questions about a path that may not exist: its info, whether it exists, its size. A
 * missing path is an answer (null or false); any other error (permission, I/O) is thrown.
 *
 * @module
 */

/**
 * The path's info (following links), or null when nothing is there.
 *
 * @example
 * ```ts
 * const info = await statOrNull("data/current_session.jsonl");
 * ```
 */
export async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * True when something exists at `path`.
 *
 * @example
 * ```ts
 * if (!(await exists("data/index.db"))) console.log("no index yet");
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  return (await statOrNull(path)) !== null;
}

/**
 * The file's size in bytes, or null when it does not exist (`?? 0` where missing means empty).
 *
 * @example
 * ```ts
 * const bytes = (await fileSize("data/index.db")) ?? 0;
 * ```
 */
export async function fileSize(path: string): Promise<number | null> {
  return (await statOrNull(path))?.size ?? null;
}
