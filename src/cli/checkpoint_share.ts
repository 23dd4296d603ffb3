import { UsageError } from "../errors.ts";
import { listStoredCheckpoints, pullCheckpoint, pushCheckpoint } from "../pgstore/checkpoints.ts";
import { resolveStoreUrl } from "../pgstore/connection.ts";
import { openCurrentStore } from "../pgstore/migrations.ts";
import { ensureOrigin } from "../pgstore/origin.ts";
import type { CheckpointStore } from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { configFromFlags } from "./daemon_link.ts";
import { printJson, printLine, printLines, styler } from "./output.ts";
import { formatBytes, listRow } from "./render.ts";

/** The flag values `checkpoint push|pull|list --store` read. */
export interface ShareFlagValues {
  readonly "data-dir"?: string;
  readonly config?: string;
  readonly store?: string;
  readonly origin?: string;
  readonly json?: boolean;
}

/** Opens the store named by `--store`, `SHEARWATER_STORE` or the config (required here). */
async function openShared(values: ShareFlagValues, action: string) {
  const url = resolveStoreUrl({ flag: values.store, config: configFromFlags(values).store });
  if (url === undefined) {
    throw new UsageError(
      `Cannot ${action} without a store: give --store URL (or set SHEARWATER_STORE, or the ` +
        `config key "store")`,
    );
  }
  return await openCurrentStore(url);
}

/** `checkpoint push ID`: this data dir's checkpoint into the shared store. */
export async function pushToStore(
  layout: DataDirLayout,
  checkpoints: CheckpointStore,
  id: string,
  values: ShareFlagValues,
): Promise<number> {
  if (values.origin !== undefined) {
    throw new UsageError("Cannot push with --origin: a checkpoint is pushed as its data dir's");
  }
  const store = await openShared(values, "push a checkpoint");
  try {
    const origin = await ensureOrigin(layout.root);
    const result = await pushCheckpoint(store, checkpoints, origin, id);
    if (values.json) {
      printJson({ ...result, store: store.redactedUrl });
    } else if (result.alreadyThere) {
      printLine(`Checkpoint ${result.id} is already in ${store.redactedUrl} (origin ${origin}).`);
    } else {
      printLine(
        `Checkpoint ${result.id} pushed to ${store.redactedUrl} (origin ${origin}): ` +
          `${result.segmentsSent} segments sent, ${result.segmentsShared} already there, ` +
          `${result.blobsSent} blobs, ${formatBytes(result.bytesSent)}.`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `checkpoint pull ID`: a checkpoint of any origin from the store into this data dir. */
export async function pullFromStore(
  checkpoints: CheckpointStore,
  id: string,
  values: ShareFlagValues,
): Promise<number> {
  const store = await openShared(values, "pull a checkpoint");
  try {
    const result = await pullCheckpoint(store, checkpoints, id, { origin: values.origin });
    const { manifest: _manifest, ...summary } = result;
    if (values.json) {
      printJson({ ...summary, store: store.redactedUrl });
    } else if (result.alreadyHere) {
      printLine(`Checkpoint ${result.id} is already here (verified).`);
    } else {
      printLine(
        `Checkpoint ${result.id} pulled from origin ${result.origin}: ` +
          `${result.segmentsWritten} segments written, ${result.segmentsPresent} already here, ` +
          `${result.blobsWritten} blobs; verified. Load it with ` +
          `"shearwater-persist checkpoint load ${result.id}".`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `checkpoint list --store`: the store's checkpoints, newest first, grouped by origin. */
export async function listStore(values: ShareFlagValues): Promise<number> {
  const store = await openShared(values, "list the store's checkpoints");
  try {
    const stored = await listStoredCheckpoints(store, { origin: values.origin });
    if (values.json) {
      printJson({
        count: stored.length,
        checkpoints: stored.map((c) => ({
          origin: c.origin,
          pushed_at: c.pushedAt,
          ...c.manifest,
        })),
      });
      return 0;
    }
    if (stored.length === 0) {
      printLine(
        `No checkpoints in ${store.redactedUrl}. Push one with ` +
          `"shearwater-persist checkpoint push ID --store …".`,
      );
      return 0;
    }
    const style = styler();
    const lines: string[] = [];
    for (const origin of [...new Set(stored.map((c) => c.origin))]) {
      lines.push(style.bold(`origin ${origin}`));
      stored.filter((c) => c.origin === origin).forEach((c, i) => {
        lines.push(
          listRow({ ok: true, id: c.id, file: "", manifest: c.manifest }, i + 1, style),
        );
      });
    }
    printLines(lines);
    return 0;
  } finally {
    await store.close();
  }
}
