/**
 * shearwater-persist: independent persistence for ZeroMQ XPUB/XSUB agent buses.
 *
 * @module
 */
import { main, restrictUmask } from "./src/cli/main.ts";

if (import.meta.main) {
  restrictUmask();
  Deno.exit(await main(Deno.args));
}
