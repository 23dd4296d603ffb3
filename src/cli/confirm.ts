import { UsageError } from "../errors.ts";

/**
 * Asks the person at the terminal to confirm a change; `--yes` answers for scripts. Without a
 * terminal and without `--yes`, refuses with a UsageError that says to add `--yes`.
 */
export function confirmChange(question: string, yes: boolean | undefined): boolean {
  if (yes) return true;
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      `${question.replace(/\?$/, "")}: not on a terminal, so add --yes to confirm`,
    );
  }
  const answer = prompt(`${question} [y/N]`);
  return answer !== null && /^y(es)?$/i.test(answer.trim());
}
