import type { CheckpointEntry } from "../../store/checkpoint_store.ts";
import { listRow } from "../render.ts";
import type { styler } from "../output.ts";

/** The menu's actions, in screen order, with their shortcut letters. */
export const MENU_ACTIONS = [
  { key: "l", label: "[L]oad checkpoint" },
  { key: "n", label: "[N]ew session" },
  { key: "v", label: "[V]iew recent messages" },
  { key: "s", label: "[S]earch conversations" },
  { key: "d", label: "[D]iagnostics" },
  { key: "q", label: "[Q]uit" },
] as const;

/** Shortcut letter of a menu action. */
export type MenuAction = (typeof MENU_ACTIONS)[number]["key"];

const RULE = "=".repeat(60);
const MAX_LISTED = 9;

/**
 * The recovery menu's screen as text: header, the checkpoints (numbered, newest first, at most
 * nine), and the actions with the cursor on `cursor`. Pure, so it is tested against a fixture.
 */
export function renderMenu(
  checkpoints: readonly CheckpointEntry[],
  options: { cursor: number; selected: number | undefined; style: ReturnType<typeof styler> },
): string {
  const { style } = options;
  const lines = [RULE, "  SHEARWATER CONVERSATION RECOVERY", RULE, ""];
  if (checkpoints.length === 0) {
    lines.push("✓ No previous checkpoints found", "  System ready for new session", "");
  } else {
    lines.push(`✓ Found ${checkpoints.length} checkpoint(s)`, "");
    checkpoints.slice(0, MAX_LISTED).forEach((entry, i) => {
      const row = listRow(entry, i + 1, style);
      lines.push(options.selected === i ? style.bold(`${row.slice(0, 78)} ◂`) : row);
    });
    if (checkpoints.length > MAX_LISTED) {
      lines.push(
        `  … ${checkpoints.length - MAX_LISTED} older: shearwater-persist checkpoint list`,
      );
    }
    lines.push("");
  }
  MENU_ACTIONS.forEach((action, i) => {
    lines.push(i === options.cursor ? style.bold(`› ${action.label}`) : `  ${action.label}`);
  });
  lines.push("", style.dim("  ↑/↓ and Enter, or a letter; 1-9 picks a checkpoint; Ctrl+C quits"));
  return lines.join("\n");
}
