import { PersistError } from "../../errors.ts";
import * as prompts from "@clack/prompts";
import { CheckpointStore } from "../../store/checkpoint_store.ts";
import type { DataDirLayout } from "../../store/data_dir.ts";
import { checkRecordLine } from "../../store/record.ts";
import { runChecks } from "../../diag/checks.ts";
import { outputColumns, renderChecks } from "../check_report.ts";
import { damagedNote, readHitLine } from "../hit_line.ts";
import { openIndexForReading } from "../index_access.ts";
import { printError, printLine, styler } from "../output.ts";
import { loadCheckpointAnywhere, startNewSession } from "../../session/daemon_or_offline.ts";
import { fit, formatTime, hitHeading } from "../render.ts";
import { readKey } from "./keys.ts";

const PAGE = 10;

/** Menu [L]: pick a checkpoint (preselected by number), preview it, confirm, load. */
export async function loadAction(
  layout: DataDirLayout,
  preselected: number | undefined,
): Promise<void> {
  const store = new CheckpointStore(layout.checkpointsDir);
  const entries = (await store.list()).flatMap((entry) => entry.ok ? [entry] : []);
  if (entries.length === 0) {
    printLine("No checkpoints to load.");
    return;
  }
  const choice = await prompts.select({
    message: "Load which checkpoint?",
    options: entries.slice(0, 30).map((entry, i) => ({
      value: i,
      label: fit(
        `${formatTime(Date.parse(entry.manifest.created_at)).slice(0, 16)} | ` +
          `${entry.manifest.message_count} msgs | ${entry.manifest.label ?? entry.manifest.title}`,
        66,
      ),
    })),
    initialValue: preselected !== undefined && preselected < entries.length ? preselected : 0,
  });
  if (prompts.isCancel(choice)) return;
  const entry = entries[choice]!;
  const last: string[] = [];
  for await (const line of store.lines(entry.manifest)) {
    const check = checkRecordLine(line);
    if (check.ok && check.record.type === "message") {
      const meta = (check.record.meta ?? {}) as { sender?: string; preview?: string };
      last.push(fit(`${meta.sender ?? "?"}: ${meta.preview ?? ""}`, 70));
      if (last.length > 5) last.shift();
    }
  }
  prompts.note(last.join("\n") || "(no messages)", `Last messages of ${entry.id}`);
  const sure = await prompts.confirm({
    message: "Load it? The current session is saved as a checkpoint and archived first.",
  });
  if (prompts.isCancel(sure) || !sure) return;
  const result = await loadCheckpointAnywhere(layout, entry.manifest, { notify: printError });
  prompts.log.success(`Restored ${entry.id} as session ${result.session}.`);
}

/** Menu [N]: confirm, then archive the current session and start a new one. */
export async function newSessionAction(layout: DataDirLayout): Promise<void> {
  const sure = await prompts.confirm({
    message: "Start a new session? The current one is archived (nothing is deleted).",
  });
  if (prompts.isCancel(sure) || !sure) return;
  const result = await startNewSession(layout, { notify: printError });
  prompts.log.success(
    result.archived ? `Archived to ${result.archived}.` : "There was no session to archive.",
  );
}

/** Menu [V]: pages through recent messages, newest first. */
export async function viewRecentAction(layout: DataDirLayout): Promise<void> {
  const index = await openIndexForReading(layout, { quiet: true });
  try {
    await pageThrough(
      layout,
      (page) => index.search({ limit: (page + 1) * PAGE }).slice(page * PAGE),
    );
  } finally {
    index.close();
  }
}

/** Menu [S]: asks for a term and pages through the results. */
export async function searchAction(layout: DataDirLayout): Promise<void> {
  const term = await prompts.text({ message: 'Search for (words, "phrases", OR, NOT, prefix*)' });
  if (prompts.isCancel(term) || term.trim() === "") return;
  const index = await openIndexForReading(layout, { quiet: true });
  try {
    let first = true;
    await pageThrough(layout, (page) => {
      const hits = index.search({ text: term, limit: (page + 1) * PAGE }).slice(page * PAGE);
      if (first && hits.length === 0) printLine(`No messages match ${JSON.stringify(term)}.`);
      first = false;
      return hits;
    });
  } catch (error) {
    if (!(error instanceof PersistError)) throw error; // e.g. a query SQLite cannot parse
    prompts.log.error(error.message);
  } finally {
    index.close();
  }
}

/** Menu [D]: the same checks as `diag`. */
export async function diagnosticsAction(
  layout: DataDirLayout,
  endpoints: { frontend: string; backend: string },
): Promise<void> {
  const checks = await runChecks(layout, endpoints.frontend, endpoints.backend);
  for (const line of renderChecks(checks, styler(), outputColumns())) printLine(line);
}

async function pageThrough(
  layout: DataDirLayout,
  pageOf: (page: number) => ReturnType<Awaited<ReturnType<typeof openIndexForReading>>["search"]>,
): Promise<void> {
  const style = styler();
  for (let page = 0;; page++) {
    const hits = pageOf(page);
    for (const hit of hits) {
      printLine(style.dim(hitHeading(hit)));
      printLine(`    ${fit(hit.preview ?? `(${hit.type}, ${hit.bytes} bytes)`, 74)}`);
      const line = await readHitLine(layout, hit);
      if (!line.ok) printLine(`    ${style.red(fit(damagedNote(line.reason), 200))}`);
    }
    if (hits.length < PAGE) return;
    printLine(style.dim("  [Enter] older  [q] back"));
    const key = await readKey();
    if (key !== "enter" && key !== " " && key !== "n") return;
  }
}
