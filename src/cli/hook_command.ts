import { agentFromEnv } from "../config.ts";
import { sendControlRequest } from "../control/client.ts";
import { buildContext, DEFAULT_CONTEXT_MAX_CHARS } from "../conversation/context.ts";
import type { ClientTrigger, DaemonStatus } from "../control/protocol.ts";
import { spawnDetachedDaemon } from "../daemon_process.ts";
import { operatingError, PersistError, UsageError } from "../errors.ts";
import { CheckpointStore } from "../store/checkpoint_store.ts";
import { type DataDirLayout, dataDirLayout, ensureDataDir } from "../store/data_dir.ts";
import { isLockHeld } from "../store/data_dir_lock.ts";
import { configFromFlags } from "./daemon_link.ts";
import { COMMON_OPTIONS, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { printError, printLine } from "./output.ts";
import { concatBytes } from "../store/bytes.ts";

const EVENTS: Record<string, readonly string[]> = {
  claude: ["session-start", "session-end", "pre-compact"],
  gemini: ["session-start", "session-end", "pre-compress"],
};
const HOOK_EVENT_NAMES: Record<string, string> = {
  "session-start": "SessionStart",
  "session-end": "SessionEnd",
  "pre-compact": "PreCompact",
  "pre-compress": "PreCompress",
};
/** The agents kill slow hooks: every step here has to fit in well under a second. */
const CONTROL_TIMEOUT_MS = 700;
const MAX_STDIN_BYTES = 1024 * 1024;

/**
 * The conversation a session-start hook injects is read from at most this much of the end of
 * the current log, and given at most {@link CONTEXT_TIMEOUT_MS}: a hook stays quick on any log.
 */
const CONTEXT_TAIL_BYTES = 1024 * 1024;
const CONTEXT_TIMEOUT_MS = 3000;
/** Claude Code moves additionalContext over 10,000 characters to a file. */
const ADDITIONAL_CONTEXT_MAX_CHARS = 9900;
/** `startup` and `clear` get the conversation when the bus had traffic this recently. */
const RECENT_TRAFFIC_MS = 3_600_000;
/** Sources after which the agent has lost detail: the conversation comes back whatever its age. */
const ALWAYS_SOURCES = new Set(["compact", "resume"]);

const OPTIONS = {
  ...COMMON_OPTIONS,
  backend: { type: "string" },
  agent: { type: "string" },
} as const;

/** `shearwater-persist hook AGENT EVENT`: Claude Code and Gemini CLI hook handlers. */
export const hookCommand: CommandAction = {
  async run(args) {
    let parsed;
    try {
      parsed = parseHookArgs(args);
    } catch (error) {
      // An agent treats exit 2 as a blocking error: a hook it cannot run is only a note.
      if (!(error instanceof UsageError)) throw error;
      printError(`shearwater-persist hook: ${error.message}; nothing done`);
      printLine("{}");
      return 0;
    }
    const { agent, event, values } = parsed;
    const input = await readHookInput();
    try {
      const config = configFromFlags(values);
      const layout = dataDirLayout(config.dataDir);
      if (event === "session-start") {
        const note = await sessionStart(layout, config.backend, input);
        const context = await withConversation(note, layout, {
          source: typeof input.source === "string" ? input.source : undefined,
          agent: values.agent ?? agentFromEnv(),
        });
        printLine(JSON.stringify({
          hookSpecificOutput: { hookEventName: "SessionStart", additionalContext: context },
        }));
      } else {
        const trigger = event === "session-end" ? "session-end" : "manual";
        const label = event === "session-end"
          ? `${agent} session end`
          : `before ${agent} ${event === "pre-compact" ? "compaction" : "compression"}`;
        const note = await askForCheckpoint(layout, trigger, label);
        printError(`shearwater-persist: ${note}`);
        printLine(agent === "gemini" ? "{}" : JSON.stringify({ suppressOutput: true }));
      }
    } catch (error) {
      // A hook must never break the agent: report and succeed; a bug is reported as one.
      const expected = error instanceof PersistError
        ? error
        : operatingError(error, `Cannot run hook ${HOOK_EVENT_NAMES[event]}`);
      printError(
        expected
          ? `shearwater-persist hook ${HOOK_EVENT_NAMES[event]}: ${expected.message}`
          : `shearwater-persist hook ${HOOK_EVENT_NAMES[event]}: internal error (please report): ${
            (error as Error)?.stack ?? String(error)
          }`,
      );
      printLine("{}");
    }
    return 0;
  },
};

/** The agent, event and flags of a hook command line; unknown ones throw a UsageError. */
function parseHookArgs(args: readonly string[]) {
  const { values, positionals } = parseCommandArgs("hook", args, OPTIONS, true);
  const [agent, event] = positionals;
  if (
    positionals.length !== 2 || !agent || !EVENTS[agent] || !event ||
    !EVENTS[agent]!.includes(event)
  ) {
    throw new UsageError(
      `Unknown hook "${positionals.join(" ")}": use claude ${EVENTS.claude!.join("|")} ` +
        `or gemini ${EVENTS.gemini!.join("|")}`,
    );
  }
  return { agent, event, values };
}

/** The hook payload, or {} when stdin is empty, not JSON, or a terminal. */
async function readHookInput(): Promise<Record<string, unknown>> {
  if (Deno.stdin.isTerminal()) return {};
  const chunks: Uint8Array[] = [];
  let total = 0;
  // read(), not the `readable` stream: setting up web streams costs a hook ~3 ms of start-up.
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    total += n;
    if (total > MAX_STDIN_BYTES) break;
  }
  const text = new TextDecoder().decode(concatBytes(chunks));
  if (text.trim() === "") return {};
  try {
    const parsed = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    printError("shearwater-persist: hook input was not JSON; going on without it");
    return {};
  }
}

async function sessionStart(
  layout: DataDirLayout,
  backend: string,
  input: Record<string, unknown>,
): Promise<string> {
  await ensureDataDir(layout.root);
  let daemonLine: string;
  let status: DaemonStatus | undefined;
  try {
    const answer = await sendControlRequest(layout.controlSocket, { cmd: "status" }, {
      timeoutMs: CONTROL_TIMEOUT_MS,
    });
    if (answer.ok) {
      status = answer.status;
      daemonLine = `Recording is on (daemon PID ${status.pid}).`;
    } else {
      // A daemon that is stopping refuses status: say so, never "PID undefined".
      daemonLine = `The daemon on the data dir did not report its state: ${answer.error}`;
    }
  } catch (error) {
    // No daemon, or one that did not answer in time (control_timeout, control_closed).
    if (!(error instanceof PersistError)) throw error;
    if (await isLockHeld(layout.lockFile)) {
      daemonLine = "A daemon holds the data dir but did not answer in time.";
    } else {
      const pid = spawnDetachedDaemon(layout, backend);
      daemonLine = `Recording started (daemon PID ${pid}, log ${layout.root}/daemon.log).`;
    }
  }
  const newest = (await new CheckpointStore(layout.checkpointsDir).list()).find((e) => e.ok);
  const checkpointLine = newest?.ok
    ? `Last checkpoint: ${newest.id} (${newest.manifest.message_count} messages, ` +
      `"${newest.manifest.label ?? newest.manifest.title}").`
    : "No checkpoints yet.";
  const sessionLine = status
    ? `Current bus session: ${status.session} (${status.received} messages received since the daemon started).`
    : "";
  const agentSession = typeof input.session_id === "string"
    ? ` Agent session ${input.session_id}.`
    : "";
  return [
    `Shearwater persistence: every bus message is recorded in ${layout.root}/.${agentSession}`,
    daemonLine,
    sessionLine,
    checkpointLine,
    'Find earlier conversation: `shearwater-persist search "words"` (--sender, --since 2h),',
    "`shearwater-persist recent 20`, `shearwater-persist show SEQ`;",
    "checkpoints: `shearwater-persist checkpoint list` / `checkpoint load ID`.",
  ].filter((line) => line !== "").join("\n");
}

/**
 * The session-start note, followed by the bus conversation (Markdown, the `context` command's
 * format) when the current session has messages and the `source` calls for it: after `compact`
 * and `resume` always, after `startup`, `clear` (and anything else) when the session had
 * traffic in the last hour. A conversation that cannot be read in time is left out, with a note
 * on stderr: the hook still succeeds.
 */
async function withConversation(
  note: string,
  layout: DataDirLayout,
  options: { source: string | undefined; agent: string | undefined },
): Promise<string> {
  const maxChars = Math.min(
    DEFAULT_CONTEXT_MAX_CHARS,
    ADDITIONAL_CONTEXT_MAX_CHARS - note.length - 2,
  );
  // AbortSignal.timeout, not setTimeout: a process's first setTimeout loads Node's timers.
  const deadline = AbortSignal.timeout(CONTEXT_TIMEOUT_MS);
  let onLate: (() => void) | undefined;
  const late = new Promise<"late">((resolve) => {
    onLate = () => resolve("late");
    deadline.addEventListener("abort", onLate, { once: true });
  });
  try {
    const context = await Promise.race([
      buildContext(layout, { kind: "current" }, {
        agent: options.agent,
        tailBytes: CONTEXT_TAIL_BYTES,
        maxChars,
      }),
      late,
    ]);
    if (context === "late") {
      printError("shearwater-persist: the bus conversation took too long to read; left out");
      return note;
    }
    if (context.messageCount === 0 || context.newestMessageMs === null) return note;
    const recent = Date.now() - context.newestMessageMs <= RECENT_TRAFFIC_MS;
    if (!ALWAYS_SOURCES.has(options.source ?? "") && !recent) return note;
    return `${note}\n\n${context.transcript.markdown}`;
  } catch (error) {
    if (!(error instanceof PersistError)) throw error;
    printError(`shearwater-persist: bus conversation left out: ${error.message}`);
    return note;
  } finally {
    if (onLate) deadline.removeEventListener("abort", onLate);
  }
}

async function askForCheckpoint(
  layout: DataDirLayout,
  trigger: ClientTrigger,
  label: string,
): Promise<string> {
  const request = sendControlRequest(layout.controlSocket, { cmd: "checkpoint", trigger, label }, {
    timeoutMs: 60_000,
  });
  // The daemon finishes the checkpoint even if this hook has to return first.
  const late = AbortSignal.timeout(CONTROL_TIMEOUT_MS); // cheaper to load than setTimeout
  const timeout = new Promise<"late">((resolve) =>
    late.addEventListener("abort", () => resolve("late"), { once: true })
  );
  try {
    const answer = await Promise.race([request, timeout]);
    if (answer === "late") return `checkpoint "${label}" requested (still being written)`;
    return answer.ok
      ? `checkpoint ${answer.checkpoint.id} saved (${label})`
      : `checkpoint not saved: ${answer.error}`;
  } catch (error) {
    const expected = error instanceof PersistError
      ? error
      : operatingError(error, "Cannot ask the daemon for a checkpoint");
    if (!expected) throw error;
    return `no checkpoint: ${expected.message}`;
  }
}
