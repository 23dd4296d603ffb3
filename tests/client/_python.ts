/** Runs the Python client's scripts with Debian's python3 (pyzmq from python3-zmq). */

const decoder = new TextDecoder();

/**
 * Runs a Python script with Debian's python3 (pyzmq from python3-zmq); kills it after
 * `timeoutMs` (default 60 s).
 */
export async function runPython(
  script: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<{ code: number; signal: Deno.Signal | null; stdout: string; stderr: string }> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  }).spawn();
  const guard = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000); // a hang is a failure
  const output = await child.output();
  clearTimeout(guard);
  return {
    code: output.code,
    signal: output.signal,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
