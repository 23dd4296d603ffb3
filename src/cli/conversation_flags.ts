import type { ConversationSource } from "../conversation/select.ts";
import { UsageError } from "../errors.ts";

/**
 * The conversation `--session ID` or `--checkpoint ID` names (at most one of them), or the
 * current session when neither is given.
 */
export function sourceFromFlags(
  command: string,
  values: { session?: string; checkpoint?: string },
): Exclude<ConversationSource, { kind: "search" }> {
  if (values.session !== undefined && values.checkpoint !== undefined) {
    throw new UsageError(
      `Cannot use --session and --checkpoint together: "${command}" shows one conversation`,
    );
  }
  if (values.session !== undefined) return { kind: "session", session: values.session };
  if (values.checkpoint !== undefined) {
    return { kind: "checkpoint", checkpoint: values.checkpoint };
  }
  return { kind: "current" };
}
