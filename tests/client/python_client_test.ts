import { assertEquals } from "../_assert.ts";
import { startTestBroker } from "../_helpers.ts";
import type { RunningBroker } from "../../src/broker.ts";
import { runPython } from "./_python.ts";
import { restartBroker, startRestartableBroker } from "./_resend_peer.ts";

const CHECKS = new URL("./python/check_publisher.py", import.meta.url).pathname;

Deno.test("the Python client passes its checks from Python against a real broker and exits cleanly", async () => {
  const { endpoints, broker } = await startTestBroker();
  try {
    const result = await runPython(CHECKS, [endpoints.frontend, endpoints.backend]);
    assertEquals(result.signal, null, result.stderr);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(/^ok \d+$/.test(result.stdout.trim()), true, result.stdout + result.stderr);
  } finally {
    await broker.stop();
  }
});

const RESTART = new URL("./python/check_broker_restart.py", import.meta.url).pathname;

Deno.test("the Python client keeps publishing, announcing and answering after the broker restarts", async () => {
  const { endpoints, broker } = await startRestartableBroker();
  let second: RunningBroker | undefined;
  const child = new Deno.Command("/usr/bin/python3", {
    args: [RESTART, endpoints.frontend, endpoints.backend],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000); // a hang is a failure
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = child.stdin.getWriter();
  const stderr = new Response(child.stderr).text();
  try {
    let seen = "";
    while (!seen.includes("restart me\n")) {
      const chunk = await stdout.read();
      if (chunk.done) throw new Error(`script ended early: ${await stderr}`);
      seen += chunk.value;
    }
    await broker.stop();
    second = await restartBroker(endpoints);
    await stdin.write(new TextEncoder().encode("go\n"));
    await stdin.close();
    for (;;) {
      const chunk = await stdout.read();
      if (chunk.done) break;
      seen += chunk.value;
    }
    const status = await child.status;
    assertEquals(status.code, 0, await stderr);
    assertEquals(seen.trim().split("\n").at(-1), "ok");
  } finally {
    clearTimeout(guard);
    await second?.stop();
    await broker.stop();
  }
});
