/** Permissions a child `deno run` of this program gets; the same set the deno.json tasks use. */
export const RUN_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-run",
  "--allow-sys",
  "--allow-net",
];

/**
 * The command line that runs this program again with other arguments: the compiled binary
 * itself, or `deno run <permissions> main.ts` when running from source. Spawning the real
 * executable (not an npm wrapper) means the PID we get is the PID we can kill.
 *
 * @example
 * ```ts
 * const [cmd, ...args] = selfCommand(["daemon", "--data-dir", dir]);
 * new Deno.Command(cmd, { args }).spawn();
 * ```
 */
export function selfCommand(args: readonly string[]): string[] {
  const exec = Deno.execPath();
  const name = exec.slice(exec.lastIndexOf("/") + 1);
  const fromSource = name === "deno" && Deno.mainModule.startsWith("file:");
  if (!fromSource) return [exec, ...args];
  const mainPath = new URL(Deno.mainModule).pathname;
  return [exec, "run", ...RUN_PERMISSIONS, mainPath, ...args];
}
