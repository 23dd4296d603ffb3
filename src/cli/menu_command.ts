import { configFromFlags } from "./daemon_link.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { openMenu } from "./menu/menu.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  frontend: { type: "string" },
  backend: { type: "string" },
} as const;

/** `shearwater-persist menu`: the interactive recovery menu. */
export const menuCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("menu", args, OPTIONS);
    return await openMenu(configFromFlags(values));
  },
};
