import { assertEquals } from "../_assert.ts";
import { startTestBroker } from "../_helpers.ts";
import { runPython } from "./_python.ts";

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
