import { selectPrunable } from "../session/checkpoint_policy.ts";
import { ErrorCode, ExitCode, PersistError, UsageError } from "../errors.ts";
import {
  checkLabel,
  type CheckpointEntry,
  type CheckpointManifest,
  CheckpointStore,
  FULL_VERIFY_DUE_MS,
  type OmittedLine,
} from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { checkRecordLine } from "../store/record.ts";
import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { confirmChange } from "./confirm.ts";
import { layoutFromFlags } from "./daemon_link.ts";
import { printError, printJson, printLine, printLines, styler } from "./output.ts";
import { fit, formatBytes, formatCount, formatTime, listRow } from "./render.ts";
import { visible } from "./visible.ts";
import { lazyModule } from "../lazy_import.ts";

// Creating and loading (the session core, the daemon client, the offline writer) load only when
// a checkpoint is created or loaded: `list` and `show` do not pay for them.
const loadSessionCore = lazyModule<typeof import("../session/session_core.ts")>(
  import.meta.resolve("../session/session_core.ts"),
);
const loadDaemonOrOffline = lazyModule<typeof import("../session/daemon_or_offline.ts")>(
  import.meta.resolve("../session/daemon_or_offline.ts"),
);
// Push, pull and `list --store` load the PostgreSQL driver: only when they run.
const loadShare = lazyModule<typeof import("./checkpoint_share.ts")>(
  import.meta.resolve("./checkpoint_share.ts"),
);

const OPTIONS = {
  ...COMMON_OPTIONS,
  label: { type: "string" },
  keep: { type: "string" },
  "max-age": { type: "string" },
  "dry-run": { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  last: { type: "string" },
  store: { type: "string" },
  origin: { type: "string" },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>["values"];

const DURATION_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `shearwater-persist checkpoint …`: create, list, show, verify, load, prune. */
export const checkpointCommand: CommandAction = {
  async run(args) {
    const { values, positionals } = parseCommandArgs("checkpoint", args, OPTIONS, true);
    const [action, ...rest] = positionals;
    const layout = layoutFromFlags(values, { mustExist: true });
    const store = new CheckpointStore(layout.checkpointsDir);
    switch (action) {
      case "create":
        return await create(layout, values);
      case "list":
        if (values.store !== undefined) return await (await loadShare()).listStore(values);
        return await list(store, values);
      case "push":
        return await (await loadShare()).pushToStore(
          layout,
          store,
          requireId(rest, "push"),
          values,
        );
      case "pull":
        return await (await loadShare()).pullFromStore(store, requireId(rest, "pull"), values);
      case "show":
        return await show(store, requireId(rest, "show"), values);
      case "verify":
        return await verify(store, rest[0], values);
      case "load":
        return await load(layout, store, requireId(rest, "load"), values);
      case "prune":
        return await prune(store, values);
      default:
        throw new UsageError(
          `${action ? `Unknown checkpoint action "${action}"` : "Missing checkpoint action"}: ` +
            "use create, list, show, verify, load, prune, push or pull",
        );
    }
  },
};

function requireId(rest: string[], action: string): string {
  if (!rest[0]) {
    throw new UsageError(`Missing ID: use "shearwater-persist checkpoint ${action} ID"`);
  }
  return rest[0];
}

async function create(layout: DataDirLayout, values: Values): Promise<number> {
  const label = values.label ?? null;
  checkLabel(label); // before asking anyone: exit 2
  const { createCheckpointAnywhere } = await loadDaemonOrOffline();
  const manifest = await createCheckpointAnywhere(layout, label, { notify: printError });
  if (values.json) printJson(manifest);
  else {
    printLine(
      `Checkpoint ${manifest.id} saved: ${formatCount(manifest.message_count)} messages, ` +
        `${formatBytes(manifest.bytes)}.`,
    );
  }
  const omitted = manifest.omitted ?? [];
  if (omitted.length === 0) return 0;
  printError(
    `warning: Checkpoint ${manifest.id} is incomplete: ${describeOmitted(omitted)} ` +
      `(the session log has damaged lines; the checkpoint keeps everything else)`,
  );
  return ExitCode.incomplete;
}

/** `1 damaged log line left out: seq 57 (checksum mismatch …)`, for messages. */
export function describeOmitted(omitted: readonly OmittedLine[]): string {
  const shown = omitted.slice(0, 3).map((line) => {
    const seq = line.seq !== null
      ? `seq ${line.seq}`
      : `between seq ${line.after_seq ?? "start"} and ${line.before_seq ?? "end"}`;
    return `${seq} at byte ${line.offset} (${line.reason})`;
  });
  const more = omitted.length > 3 ? `, and ${omitted.length - 3} more` : "";
  const lines = omitted.length === 1 ? "1 damaged log line" : `${omitted.length} damaged log lines`;
  return `${lines} left out: ${shown.join(", ")}${more}`;
}

async function list(store: CheckpointStore, values: Values): Promise<number> {
  const entries = await store.list();
  const lastVerify = await store.lastFullVerify();
  const verifyDue = entries.length > 0 &&
    (lastVerify === null || Date.now() - Date.parse(lastVerify.at) > FULL_VERIFY_DUE_MS);
  if (values.json) {
    printJson({
      count: entries.length,
      damaged: entries.filter((entry) => !entry.ok).length,
      last_full_verify: lastVerify,
      full_verify_due: verifyDue,
      checkpoints: entries.map(entryJson),
    });
    return 0;
  }
  if (entries.length === 0) {
    printLine('No checkpoints yet. Create one with "shearwater-persist checkpoint create".');
    return 0;
  }
  const style = styler();
  printLines(entries.map((entry, i) => listRow(entry, i + 1, style)));
  const damaged = entries.filter((entry) => !entry.ok).length;
  if (damaged) {
    printLine(
      style.red(`${damaged} damaged: kept as evidence (retention never deletes them).`),
    );
  }
  if (verifyDue) {
    printLine(style.dim(
      `Segments checked for presence and size only; a full verify is due (last: ${
        lastVerify ? lastVerify.at.slice(0, 10) : "never"
      }): run "shearwater-persist checkpoint verify".`,
    ));
  }
  return 0;
}

function entryJson(entry: CheckpointEntry) {
  return entry.ok
    ? { damaged: false, incomplete: (entry.manifest.omitted?.length ?? 0) > 0, ...entry.manifest }
    : { id: entry.id, damaged: true, reason: entry.reason };
}

async function show(store: CheckpointStore, id: string, values: Values): Promise<number> {
  const last = integerFlag("last", values.last) ?? 5;
  const entry = await store.get(id);
  if (!entry.ok) {
    if (values.json) printJson(entryJson(entry)); // what scripts read; the error goes to stderr
    throw new PersistError(`Checkpoint ${entry.id} is damaged: ${entry.reason}`, {
      code: ErrorCode.checkpointDamaged,
      exitCode: ExitCode.failure,
    });
  }
  const messages = [];
  for await (const line of store.lines(entry.manifest)) {
    const check = checkRecordLine(line);
    if (check.ok && check.record.type === "message") {
      messages.push(check.record);
      if (messages.length > last) messages.shift();
    }
  }
  const lineage = await lineageOf(store, entry.manifest);
  if (values.json) {
    printJson({ ...entry.manifest, lineage, last_messages: messages });
    return 0;
  }
  const m = entry.manifest;
  const style = styler();
  printLine(style.bold(visible(`Checkpoint ${m.id}${m.label ? ` — ${m.label}` : ""}`)));
  printLine(visible(`  created   ${m.created_at} (${m.trigger})`));
  printLine(`  session   ${visible(m.session)}, seq ${m.first_seq}–${m.last_seq}`);
  printLine(
    `  content   ${formatCount(m.message_count)} messages, ${
      formatBytes(m.bytes)
    }, ${m.segments.length} segments`,
  );
  printLine(`  agents    ${fit(m.agents.join(", ") || "-", 66)}`);
  printLine(`  topics    ${fit(m.topics.join(", ") || "-", 66)}`);
  printLine(`  lineage   ${fit([m.id, ...lineage].join(" ← "), 66)}`);
  if (m.omitted?.length) {
    printLine(style.red(`  INCOMPLETE ${describeOmitted(m.omitted)}`));
  }
  printLine(style.bold(`Last ${messages.length} messages`));
  for (const record of messages) {
    const meta = (record.meta ?? {}) as { sender?: string; preview?: string };
    printLine(
      `  #${record.seq} ${formatTime(Date.parse(record.received_at))} ${
        fit(meta.sender ?? "?", 50)
      }`,
    );
    printLine(`      ${fit(meta.preview ?? "", 72)}`);
  }
  return 0;
}

/** Ids of the checkpoints this one descends from, nearest first. */
async function lineageOf(store: CheckpointStore, manifest: CheckpointManifest): Promise<string[]> {
  const chain: string[] = [];
  let parent = manifest.parent.checkpoint;
  while (parent && chain.length < 100 && !chain.includes(parent)) {
    chain.push(parent);
    try {
      const entry = await store.get(parent);
      parent = entry.ok ? entry.manifest.parent.checkpoint : null;
    } catch (error) {
      if (!(error instanceof PersistError && error.code === ErrorCode.checkpointNotFound)) {
        throw error;
      }
      parent = null; // an ancestor was pruned: the chain ends here
    }
  }
  return chain;
}

async function verify(
  store: CheckpointStore,
  id: string | undefined,
  values: Values,
): Promise<number> {
  const entries = id ? [await store.get(id)] : await store.list();
  const results = [];
  for (const entry of entries) {
    const manifest = entry.manifest;
    const problems = entry.ok
      ? await store.verify(entry.manifest)
      : manifest
      ? await store.verify(manifest) // the cheap check failed: say everything a full one finds
      : [entry.reason];
    const omitted = problems.length === 0 ? manifest?.omitted ?? [] : [];
    results.push({
      id: entry.id,
      ok: problems.length === 0,
      incomplete: omitted.length > 0,
      problems,
      omitted,
    });
  }
  const bad = results.filter((result) => !result.ok);
  const incomplete = results.filter((result) => result.incomplete);
  if (!id) {
    await store.noteFullVerify({
      at: new Date().toISOString(),
      checked: results.length,
      damaged: bad.length,
    });
  }
  if (values.json) {
    printJson({
      checked: results.length,
      damaged: bad.length,
      incomplete: incomplete.length,
      results,
    });
  } else {
    const style = styler();
    for (const result of results) {
      printLine(
        !result.ok
          ? `${style.red("DAMAGED")} ${visible(`${result.id}: ${result.problems.join("; ")}`)}`
          : result.incomplete
          ? `${style.yellow("ok     ")} ${visible(result.id)}: INCOMPLETE, ${
            describeOmitted(result.omitted)
          }`
          : `${style.green("ok     ")} ${result.id}`,
      );
    }
    printLine(
      `${results.length} checked, ${bad.length} damaged` +
        (incomplete.length ? `, ${incomplete.length} incomplete.` : "."),
    );
  }
  return bad.length > 0 ? ExitCode.failure : incomplete.length > 0 ? ExitCode.incomplete : 0;
}

async function load(
  layout: DataDirLayout,
  store: CheckpointStore,
  id: string,
  values: Values,
): Promise<number> {
  // A damaged checkpoint is never offered: its PersistError (exit 1) ends the command.
  const { assertLoadable, checkpointToLoad } = await loadSessionCore();
  const manifest = await checkpointToLoad(store, id);
  await assertLoadable(store, manifest);
  const question = `Load checkpoint ${manifest.id} (${manifest.message_count} messages)? ` +
    "The current session is saved and archived first?";
  if (!confirmChange(question.replace(/\?$/, ""), values.yes)) {
    printLine("Nothing changed.");
    return 0;
  }
  const { loadCheckpointAnywhere } = await loadDaemonOrOffline();
  const result = await loadCheckpointAnywhere(layout, manifest, { notify: printError });
  if (values.json) printJson({ loaded: manifest.id, ...result });
  else {
    printLine(`Restored checkpoint ${manifest.id} as session ${result.session}.`);
    if (result.before_load) {
      printLine(`The previous session was saved as checkpoint ${result.before_load}.`);
    }
    if (result.archived) printLine(`Archived: ${result.archived}`);
  }
  return 0;
}

async function prune(store: CheckpointStore, values: Values): Promise<number> {
  const keep = integerFlag("keep", values.keep, { min: 1 });
  if (keep === undefined || keep < 1) {
    throw new UsageError("Missing --keep N (1 or more) for prune");
  }
  const maxAgeMs = values["max-age"] === undefined ? undefined : parseDuration(values["max-age"]);
  const manifests = (await store.list()).flatMap((entry) => entry.ok ? [entry.manifest] : []);
  const doomed = selectPrunable(manifests, { keep, maxAgeMs }, new Date());
  if (values["dry-run"] || doomed.length === 0) {
    if (values.json) {
      printJson({
        dry_run: values["dry-run"] ?? false,
        would_delete: doomed.map((m) => m.id),
      });
    } else {printLine(
        doomed.length
          ? `Would delete ${doomed.length}: ${doomed.map((m) => m.id).join(", ")}`
          : "Nothing to prune.",
      );}
    return 0;
  }
  if (!confirmChange(`Delete ${doomed.length} checkpoint(s)?`, values.yes)) {
    printLine("Nothing deleted.");
    return 0;
  }
  const { removed, keptDamaged, segmentsRemoved } = await store.prune(doomed.map((m) => m.id));
  if (values.json) {
    printJson({
      deleted: removed,
      kept_damaged: keptDamaged,
      segments_removed: segmentsRemoved,
    });
  } else {
    printLine(
      `Deleted ${removed.length} checkpoint(s) and ${segmentsRemoved} unused segment(s).`,
    );
  }
  for (const kept of keptDamaged) {
    printError(
      `warning: Kept checkpoint ${kept.id}: it is damaged (${kept.problems.join("; ")}); ` +
        "retention never deletes a damaged checkpoint",
    );
  }
  return 0;
}

function parseDuration(text: string): number {
  const match = /^(\d+)\s*([mhdw])$/i.exec(text.trim());
  if (!match) {
    throw new UsageError(`Invalid --max-age "${text}": use a duration like 90m, 12h, 7d, 2w`);
  }
  return Number(match[1]) * DURATION_MS[match[2]!.toLowerCase()]!;
}
