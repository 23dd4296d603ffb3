/**
 * Child process for the rebuild tests: starts `reindex`'s rebuild of the data dir given as the
 * first argument, prints `building` at its first progress report (the new index half written)
 * and then blocks there until the test kills it with SIGKILL.
 *
 * @module
 */
import { refreshIndex } from "../../src/indexer/refresh.ts";
import { silentLogger } from "../../src/logger.ts";
import { dataDirLayout } from "../../src/store/data_dir.ts";

const blocker = new Int32Array(new SharedArrayBuffer(4));
await refreshIndex(dataDirLayout(Deno.args[0]!), {
  logger: silentLogger,
  fresh: true,
  onProgress: () => {
    console.log("building");
    Atomics.wait(blocker, 0, 0); // never woken: the test kills the process here
  },
});
