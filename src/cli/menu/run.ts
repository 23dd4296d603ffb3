import { CheckpointStore } from "../../store/checkpoint_store.ts";
import type { DataDirLayout } from "../../store/data_dir.ts";
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

/**
 * The interactive recovery menu on a terminal, until [Q]uit or Ctrl+C; resolves with exit code
 * 0. `menu`, `up` and `launch` open it through this function. The caller checks that stdin and
 * stdout are a terminal.
 *
 * @example
 * ```ts
 * await runMenu(dataDirLayout(config.dataDir), config);
 * ```
 */
export async function runMenu(
  layout: DataDirLayout,
  endpoints: { frontend: string; backend: string },
): Promise<number> {
  const store = new CheckpointStore(layout.checkpointsDir);
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
      await runAction(action, layout, endpoints, selected);
    } catch (error) {
      printError(`error: ${(error as Error).message}`);
    }
    printLine(styler().dim("\nPress any key to return to the menu."));
    if ((await readKey()) === "ctrl-c") return 0;
  }
}

async function runAction(
  action: MenuAction,
  layout: DataDirLayout,
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
