import { CheckpointStore } from "../store/checkpoint_store.ts";
import { dataDirLayout } from "../store/data_dir.ts";
import { checkDataDir, configFromFlags } from "./daemon_link.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import { type Command, COMMON_HELP } from "./command.ts";
import { listRow } from "./checkpoint_command.ts";
import { printLine, styler } from "./output.ts";
import { runMenu } from "./menu/run.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  frontend: { type: "string" },
  backend: { type: "string" },
} as const;

/** Exit code of `menu` without a terminal: it printed what to run instead. */
export const MENU_NO_TERMINAL_EXIT = 6;

/** `shearwater-persist menu`: the interactive recovery menu. */
export const menuCommand: Command = {
  name: "menu",
  summary: "interactive recovery menu: load, new session, recent, search, diag",
  help: `Usage: shearwater-persist menu [options]

The recovery menu: the checkpoints (newest first), then [L]oad checkpoint,
[N]ew session, [V]iew recent messages, [S]earch conversations, [D]iagnostics,
[Q]uit. Arrow keys and Enter, or the letters; 1-9 picks a checkpoint for Load.
Ctrl+C leaves at any time. Without a terminal it prints the checkpoints and
the commands that do the same, and exits with code 6.

Options:
  --frontend ADDR    broker frontend for diagnostics
  --backend ADDR     broker backend for diagnostics
${COMMON_HELP}

Exit codes: 0 quit, 6 no terminal (nothing interactive was shown).
`,
  async run(args) {
    const { values } = parseCommandArgs("menu", args, OPTIONS);
    if (values.help) {
      console.log(this.help);
      return 0;
    }
    const config = configFromFlags(values);
    // Not mustExist: a daemon just started (by `up`, `launch`) may not have created it yet.
    checkDataDir(config.dataDir, { mustExist: false });
    const layout = dataDirLayout(config.dataDir);
    const store = new CheckpointStore(layout.checkpointsDir);
    if (!(Deno.stdin.isTerminal() && Deno.stdout.isTerminal())) {
      printNonInteractive(await store.list(), config.dataDir);
      return MENU_NO_TERMINAL_EXIT;
    }
    return await runMenu(layout, config);
  },
};

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
