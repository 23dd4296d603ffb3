import type { Config } from "../../config.ts";
import { CheckpointStore } from "../../store/checkpoint_store.ts";
import { dataDirLayout } from "../../store/data_dir.ts";
import { ExitCode, operatingError, PersistError } from "../../errors.ts";
import { listRow } from "../render.ts";
import { checkDataDir } from "../daemon_link.ts";
import { printError, printLine, styler } from "../output.ts";
import {
  diagnosticsAction,
  loadAction,
  newSessionAction,
  searchAction,
  viewRecentAction,
} from "./actions.ts";
import { readKey } from "./keys.ts";
import { MENU_ACTIONS, type MenuAction, renderMenu } from "./screen.ts";

/** What the menu needs to know: the data dir, and the broker endpoints for diagnostics. */
export type MenuConfig = Pick<Config, "dataDir" | "frontend" | "backend">;

/**
 * The recovery menu on `config.dataDir`, until [Q]uit or Ctrl+C; returns the exit code. Without
 * a terminal it prints the checkpoints and the commands that do the same, and returns
 * `ExitCode.noTerminal` (6). `menu`, `up` and `launch` all open it through this function.
 *
 * @example
 * ```ts
 * await openMenu({ dataDir: "conversation_logs", frontend, backend });
 * ```
 */
export async function openMenu(config: MenuConfig): Promise<number> {
  // Not mustExist: `up` shows the menu while the daemon it just started creates the data dir.
  checkDataDir(config.dataDir, { mustExist: false });
  const layout = dataDirLayout(config.dataDir);
  const store = new CheckpointStore(layout.checkpointsDir);
  if (!(Deno.stdin.isTerminal() && Deno.stdout.isTerminal())) {
    printNonInteractive(await store.list(), config.dataDir);
    return ExitCode.noTerminal;
  }
  let cursor = 0;
  let selected: number | undefined;
  for (;;) {
    const checkpoints = await store.list();
    clearScreen();
    printLine(renderMenu(checkpoints, { cursor, selected, style: styler() }));
    const key = (await readKey()).toLowerCase();
    let action: MenuAction | undefined;
    if (key === "ctrl-c" || key === "escape") action = "q";
    else if (key === "up") cursor = (cursor + MENU_ACTIONS.length - 1) % MENU_ACTIONS.length;
    else if (key === "down") cursor = (cursor + 1) % MENU_ACTIONS.length;
    else if (key === "enter") action = MENU_ACTIONS[cursor]!.key;
    else if (/^[1-9]$/.test(key) && Number(key) <= checkpoints.length) {
      selected = Number(key) - 1;
      cursor = 0;
    } else action = MENU_ACTIONS.find((candidate) => candidate.key === key)?.key;
    if (action === undefined) continue;
    if (action === "q") {
      printLine("Bye.");
      return 0;
    }
    cursor = MENU_ACTIONS.findIndex((candidate) => candidate.key === action);
    clearScreen();
    try {
      await runAction(action, layout, config, selected);
    } catch (error) {
      // An operating error leaves the menu open; a bug ends it (the top level reports it).
      const expected = error instanceof PersistError
        ? error
        : operatingError(error, "Cannot do that");
      if (!expected) throw error;
      printError(`error: ${expected.message}`);
    }
    printLine(styler().dim("\nPress any key to return to the menu."));
    if ((await readKey()) === "ctrl-c") return 0;
  }
}

async function runAction(
  action: MenuAction,
  layout: ReturnType<typeof dataDirLayout>,
  config: { frontend: string; backend: string },
  selected: number | undefined,
): Promise<void> {
  switch (action) {
    case "l":
      return await loadAction(layout, selected);
    case "n":
      return await newSessionAction(layout);
    case "v":
      return await viewRecentAction(layout);
    case "s":
      return await searchAction(layout);
    case "d":
      return await diagnosticsAction(layout, config);
  }
}

function clearScreen(): void {
  Deno.stdout.writeSync(new TextEncoder().encode("\x1b[2J\x1b[H"));
}

function printNonInteractive(
  checkpoints: Awaited<ReturnType<CheckpointStore["list"]>>,
  dataDir: string,
): void {
  const style = styler();
  printLine("SHEARWATER CONVERSATION RECOVERY (no terminal: nothing interactive shown)");
  if (checkpoints.length === 0) printLine("No previous checkpoints found.");
  else {
    printLine(`Found ${checkpoints.length} checkpoint(s):`);
    checkpoints.slice(0, 20).forEach((entry, i) => printLine(listRow(entry, i + 1, style)));
  }
  const dir = dataDir === "conversation_logs" ? "" : ` --data-dir ${dataDir}`;
  printLine("");
  printLine("The same without the menu:");
  printLine(`  shearwater-persist checkpoint load ID --yes${dir}   load a checkpoint`);
  printLine(`  shearwater-persist new-session${dir}              start a new session`);
  printLine(`  shearwater-persist recent 10${dir}                view recent messages`);
  printLine(`  shearwater-persist search TERM${dir}              search conversations`);
  printLine(`  shearwater-persist diag${dir}                     diagnostics`);
}
