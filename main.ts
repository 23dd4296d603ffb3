/**
 * shearwater-persist: independent persistence for ZeroMQ XPUB/XSUB agent buses.
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
