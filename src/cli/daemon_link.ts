import { type Config, resolveConfig } from "../config.ts";
import { ErrorCode, ExitCode, operatingError, PersistError } from "../errors.ts";
import { type DataDirLayout, dataDirLayout } from "../store/data_dir.ts";

/**
 * Resolves the data dir from `--data-dir`/`--config` flag values, checks it with
 * {@link checkDataDir} and returns its layout. Commands that only read pass `mustExist: true`,
 * so a mistyped `--data-dir` is reported instead of silently created.
 */
export function layoutFromFlags(
  values: BusFlagValues,
  options: { mustExist: boolean },
): DataDirLayout {
  const layout = dataDirLayout(configFromFlags(values).dataDir);
  checkDataDir(layout.root, options);
  return layout;
}

/**
 * Checks that `root` can serve as a data dir before a command touches it: a folder (or, unless
 * `mustExist`, nothing yet) that this user may read. Otherwise throws a {@link PersistError}
 * saying so, with exit code 66 (missing, or not a folder) or 77 (permission denied).
 *
 * @example
 * ```ts
 * checkDataDir("conversation_logs", { mustExist: true }); // before `search` reads it
 * ```
 */
export function checkDataDir(root: string, options: { mustExist: boolean }): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(root);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw dataDirError(root, error);
    if (!options.mustExist) return;
    throw new PersistError(
      `No data dir at "${root}": nothing has been recorded there (check --data-dir, ` +
        `SHEARWATER_DATA_DIR or the config file; "shearwater-persist up" starts recording)`,
      { code: ErrorCode.noDataDir, exitCode: ExitCode.noDataDir },
    );
  }
  if (!info.isDirectory) {
    throw new PersistError(`Cannot use data dir "${root}": it is a file, not a directory`, {
      code: ErrorCode.dataDirNotADirectory,
      exitCode: ExitCode.noDataDir,
    });
  }
  try {
    for (const _entry of Deno.readDirSync(root)) break; // can we list it at all?
  } catch (error) {
    throw dataDirError(root, error);
  }
}

function dataDirError(root: string, error: unknown): PersistError {
  if (error instanceof Deno.errors.NotADirectory) {
    return new PersistError(
      `Cannot use data dir "${root}": a part of its path is a file, not a directory`,
      { code: ErrorCode.dataDirNotADirectory, exitCode: ExitCode.noDataDir },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new PersistError(
      `Cannot use data dir "${root}": permission denied (run as the user who owns it, ` +
        `or fix the mode of it and its parent folders)`,
      { code: ErrorCode.dataDirPermissionDenied, exitCode: ExitCode.noPermission },
    );
  }
  const described = operatingError(error, `Cannot use data dir "${root}"`);
  if (!described) throw error;
  return described;
}

/** The common flags' values (`--data-dir`, `--config`, `--frontend`, `--backend`). */
export interface BusFlagValues {
  readonly "data-dir"?: string;
  readonly config?: string;
  readonly frontend?: string;
  readonly backend?: string;
  /** `--store URL` (up, launch): the shared store the daemon they start ships to. */
  readonly store?: string;
}

/** Resolves the configuration from the common flags (plus environment, file, defaults). */
export function configFromFlags(values: BusFlagValues): Config {
  return resolveConfig({
    dataDir: values["data-dir"],
    configFile: values.config,
    frontend: values.frontend,
    backend: values.backend,
    store: values.store,
  });
}
