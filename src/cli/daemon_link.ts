import { type Config, resolveConfig } from "../config.ts";
import { sendControlRequest } from "../control/client.ts";
import type { ControlRequest } from "../control/server.ts";
import { PersistError } from "../errors.ts";
import { type DataDirLayout, dataDirLayout } from "../store/data_dir.ts";

/**
 * Sends a control request to the daemon running on `layout`; a refused request becomes a
 * {@link PersistError} with the daemon's message.
 */
export async function askDaemon(
  layout: DataDirLayout,
  request: ControlRequest,
  options: { timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const response = await sendControlRequest(layout.controlSocket, request, options);
  if (!response.ok) {
    throw new PersistError(`The daemon refused "${request.cmd}": ${response.error}`, {
      code: response.code ?? "control_refused",
    });
  }
  return response as Record<string, unknown>;
}

/** Resolves the data dir from `--data-dir`/`--config` flag values and returns its layout. */
export function layoutFromFlags(values: BusFlagValues): DataDirLayout {
  return dataDirLayout(configFromFlags(values).dataDir);
}

/** The common flags' values (`--data-dir`, `--config`, `--frontend`, `--backend`). */
export interface BusFlagValues {
  readonly "data-dir"?: string;
  readonly config?: string;
  readonly frontend?: string;
  readonly backend?: string;
}

/** Resolves the configuration from the common flags (plus environment, file, defaults). */
export function configFromFlags(values: BusFlagValues): Config {
  return resolveConfig({
    dataDir: values["data-dir"],
    configFile: values.config,
    frontend: values.frontend,
    backend: values.backend,
  });
}
