import { COMMON_OPTIONS, integerFlag, parseCommandArgs } from "./args.ts";
import type { CommandAction } from "./command.ts";
import { confirmChange } from "./confirm.ts";
import { configFromFlags, layoutFromFlags } from "./daemon_link.ts";
import { printJson, printLine } from "./output.ts";
import { createProgress } from "./progress.ts";
import { parseTimeFilter } from "./time_filter.ts";
import { visibleLine } from "./visible.ts";
import { callDaemon } from "../control/client.ts";
import { MAX_MARKS_PER_REQUEST } from "../control/protocol.ts";
import { DaemonNotRunningError, ErrorCode, ExitCode, PersistError, UsageError } from "../errors.ts";
import { framesDigest } from "../recording/replay_marks.ts";
import {
  type ConversationFilters,
  type ConversationSource,
  selectConversation,
  type SelectedRecord,
} from "../conversation/select.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { decodeStoredFrames, type StoredFrame } from "../store/record.ts";
import { globToRegExp } from "../transport/topic_glob.ts";
import { ReplayPublisher } from "../transport/replay_publisher.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  session: { type: "string" },
  checkpoint: { type: "string" },
  seq: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  frontend: { type: "string" },
  speed: { type: "string" },
  "max-rate": { type: "string" },
  burst: { type: "boolean" },
  topic: { type: "string", multiple: true },
  exclude: { type: "string", multiple: true },
  remap: { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  "wait-ms": { type: "string" },
} as const;

/** Messages announced to the recorder per control request (and sent between announcements). */
const MARK_CHUNK = Math.min(1000, MAX_MARKS_PER_REQUEST);
/** How long an announced mark waits past its planned send time. */
const MARK_GRACE_MS = 60_000;
const encoder = new TextEncoder();

/** How the messages are paced. */
type Pace =
  | { readonly kind: "speed"; readonly speed: number; readonly minGapMs: number }
  | { readonly kind: "burst" };

/** What to replay: where the records come from, and the seq or time range among them. */
interface ReplaySelection {
  readonly source: Exclude<ConversationSource, { kind: "current" | "search" }>;
  readonly filters: Pick<ConversationFilters, "fromSeq" | "toSeq" | "sinceMs" | "untilMs">;
}

/** One recorded message to send again. */
interface SelectedMessage {
  readonly seq: number;
  readonly receivedAtMs: number;
  readonly topic: string | null;
  readonly frames: readonly StoredFrame[];
}

/** One message as it will be sent. */
interface Planned {
  readonly seq: number;
  readonly topic: string | null;
  readonly frames: Uint8Array[];
  /** Milliseconds after the first send, as the pace intends. */
  readonly atMs: number;
}

/** `shearwater-persist replay`: publishes recorded messages to a broker's frontend again. */
export const replayCommand: CommandAction = {
  async run(args) {
    const { values } = parseCommandArgs("replay", args, OPTIONS);
    const selection = selectionFromFlags(values);
    const pace = paceFromFlags(values);
    const remaps = (values.remap ?? []).map(parseRemap);
    const excludes = (values.exclude ?? []).map(globToRegExp);
    const prefixes = values.topic ?? [];
    const waitMs = integerFlag("wait-ms", values["wait-ms"], { min: 1, max: 600_000 }) ?? 3000;
    const layout = layoutFromFlags(values, { mustExist: true });
    const frontend = values.frontend ?? configFromFlags(values).frontend;
    const liveFrontend = configFromFlags({ ...values, frontend: undefined }).frontend;

    // Replays recorded earlier are left out: they repeat messages recorded already.
    const source = await selectConversation(layout, selection.source, {
      ...selection.filters,
      action: "replay",
    });
    const messages = recordedMessages(source.records);
    const kept = messages.filter((message) => {
      const topic = message.topic ?? "";
      if (prefixes.length > 0 && !prefixes.some((prefix) => topic.startsWith(prefix))) {
        return false;
      }
      return !excludes.some((glob) => glob.test(topic));
    });
    const skipped = messages.length - kept.length;
    const plan = planMessages(kept, { pace, remaps, blobDir: source.blobDir });

    if (values["dry-run"]) {
      printDryRun(plan, { json: values.json === true, skipped, frontend });
      return 0;
    }
    if (plan.length === 0) {
      report({ json: values.json, sent: 0, skipped, durationMs: 0, frontend, marked: 0 }, [
        "Nothing to replay: the selection holds no messages.",
      ]);
      return ExitCode.failure;
    }

    const publisher = ReplayPublisher.connect({ frontend });
    const subscriptions = await publisher.waitForSubscribers({ timeoutMs: waitMs, settleMs: 200 });
    if (subscriptions.length === 0) {
      throw new PersistError(
        `Cannot replay to ${frontend}: nobody subscribes there (no broker, or no subscriber ` +
          `reached it within ${waitMs} ms; nothing was sent)`,
        { code: ErrorCode.noSubscribers, exitCode: ExitCode.failure },
      );
    }
    if (frontend === liveFrontend && Deno.stdin.isTerminal() && !values.yes) {
      const question = `Replay ${plan.length} messages onto the live bus ${frontend} ` +
        `(${subscriptions.length} subscribed topic prefixes)?`;
      if (!confirmChange(question, values.yes)) {
        printLine("Nothing sent.");
        return ExitCode.failure;
      }
    }

    const outcome = await sendPlan(plan, { publisher, layout, pace, json: values.json === true });
    // The socket sends from its own thread: give it time to hand the last messages over
    // before the process ends (sockets are not closed, see ReplayPublisher).
    await new Promise((resolve) => setTimeout(resolve, 500));
    report(
      {
        json: values.json,
        sent: plan.length,
        skipped,
        durationMs: outcome.durationMs,
        frontend,
        marked: outcome.marked,
        unheard: outcome.unheard,
        replaysLeftOut: source.replaysLeftOut,
        damagedLines: source.damagedLines,
      },
      [
        `Replayed ${plan.length} messages to ${frontend} in ${
          (outcome.durationMs / 1000).toFixed(2)
        } s (skipped ${skipped}).`,
        ...(outcome.unheard > 0
          ? [`${outcome.unheard} of them had no subscriber for their topic: nobody received them.`]
          : []),
        outcome.marked > 0
          ? `The recorder on ${layout.root} marks them as replays (meta.replay_of).`
          : `No daemon records ${layout.root}: a recorder elsewhere records them as new messages.`,
      ],
    );
    return 0;
  },
};

function selectionFromFlags(values: {
  session?: string;
  checkpoint?: string;
  seq?: string;
  since?: string;
  until?: string;
}): ReplaySelection {
  const given = [values.session, values.checkpoint, values.seq, values.since]
    .filter((value) => value !== undefined).length;
  if (given !== 1) {
    throw new UsageError(
      "Cannot tell what to replay: give exactly one of --session ID, --checkpoint ID, " +
        "--seq A..B or --since T",
    );
  }
  if (values.until !== undefined && values.since === undefined) {
    throw new UsageError("Cannot use --until without --since: give the start of the range");
  }
  if (values.session !== undefined) {
    return { source: { kind: "session", session: values.session }, filters: {} };
  }
  if (values.checkpoint !== undefined) {
    return { source: { kind: "checkpoint", checkpoint: values.checkpoint }, filters: {} };
  }
  if (values.seq !== undefined) {
    const range = /^(\d+)\.\.(\d+)$/.exec(values.seq);
    if (!range || Number(range[1]) > Number(range[2]) || Number(range[1]) < 1) {
      throw new UsageError(
        `Cannot read --seq ${JSON.stringify(values.seq)}: write a range A..B with 1 <= A <= B`,
      );
    }
    return {
      source: { kind: "logs" },
      filters: { fromSeq: Number(range[1]), toSeq: Number(range[2]) },
    };
  }
  const now = new Date();
  return {
    source: { kind: "logs" },
    filters: {
      sinceMs: parseTimeFilter("since", values.since!, now),
      untilMs: values.until === undefined ? undefined : parseTimeFilter("until", values.until, now),
    },
  };
}

/** The recorded bus messages among the selected records (daemon events and oversized left out). */
function recordedMessages(records: readonly SelectedRecord[]): SelectedMessage[] {
  const messages: SelectedMessage[] = [];
  for (const { record } of records) {
    if (record.type !== "message" || !Array.isArray(record.frames)) continue;
    messages.push({
      seq: record.seq,
      receivedAtMs: Date.parse(record.received_at),
      topic: typeof record.topic === "string" ? record.topic : null,
      frames: record.frames as StoredFrame[],
    });
  }
  return messages;
}

function paceFromFlags(
  values: { speed?: string; "max-rate"?: string; burst?: boolean },
): Pace {
  const chosen = [values.speed, values["max-rate"], values.burst || undefined]
    .filter((value) => value !== undefined).length;
  if (chosen > 1) {
    throw new UsageError("Cannot pace a replay two ways: give one of --speed, --max-rate, --burst");
  }
  if (values.burst) return { kind: "burst" };
  const maxRate = integerFlag("max-rate", values["max-rate"], { min: 1, max: 10_000_000 });
  if (maxRate !== undefined) return { kind: "speed", speed: Infinity, minGapMs: 1000 / maxRate };
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!Number.isFinite(speed) || speed <= 0 || !/^\d*\.?\d+$/.test(values.speed ?? "1")) {
    throw new UsageError(
      `Cannot read --speed ${JSON.stringify(values.speed)}: give a positive number (2 = twice ` +
        "as fast, 0.5 = half)",
    );
  }
  return { kind: "speed", speed, minGapMs: 0 };
}

function parseRemap(text: string): { from: string; to: string } {
  const at = text.indexOf("=");
  if (at <= 0) {
    throw new UsageError(
      `Cannot read --remap ${JSON.stringify(text)}: write OLD=NEW (a topic prefix and its ` +
        "replacement)",
    );
  }
  return { from: text.slice(0, at), to: text.slice(at + 1) };
}

/**
 * The messages as they will be sent: frames decoded byte-exact (blobs read and checked), the
 * topic frame rewritten by the first matching remap, and the intended send time.
 */
function planMessages(
  messages: readonly SelectedMessage[],
  options: {
    pace: Pace;
    remaps: readonly { from: string; to: string }[];
    blobDir: string;
  },
): Planned[] {
  const first = messages[0]?.receivedAtMs ?? 0;
  let previousAtMs = -Infinity;
  return messages.map((message) => {
    const frames = decodeStoredFrames(message.frames, { blobDir: options.blobDir });
    let topic = message.topic;
    const remap = topic === null
      ? undefined
      : options.remaps.find((r) => topic!.startsWith(r.from));
    if (remap && topic !== null && frames.length > 1) {
      topic = remap.to + topic.slice(remap.from.length);
      frames[0] = encoder.encode(topic);
    }
    let atMs = 0;
    if (options.pace.kind === "speed") {
      const spaced = options.pace.speed === Infinity
        ? 0
        : (message.receivedAtMs - first) / options.pace.speed;
      atMs = Math.max(spaced, previousAtMs + options.pace.minGapMs);
      previousAtMs = atMs;
    }
    return { seq: message.seq, topic, frames, atMs };
  });
}

/**
 * Sends the plan in chunks: each chunk is first announced to the daemon recording the data dir
 * (when one runs), so the recorder marks those messages as replays, then sent at its times.
 */
async function sendPlan(
  plan: readonly Planned[],
  options: { publisher: ReplayPublisher; layout: DataDirLayout; pace: Pace; json: boolean },
): Promise<{ durationMs: number; marked: number; unheard: number }> {
  const progress = Deno.stderr.isTerminal() && !options.json
    ? createProgress("Replaying")
    : undefined;
  let daemonRuns = true;
  let marked = 0;
  let unheard = 0;
  // The clock starts at the first send, so announcing the first chunk does not shift the rest.
  let startMs: number | undefined;
  for (let at = 0; at < plan.length; at += MARK_CHUNK) {
    const chunk = plan.slice(at, at + MARK_CHUNK);
    if (daemonRuns) {
      const elapsedMs = startMs === undefined ? 0 : performance.now() - startMs;
      const ttlMs = Math.max(0, chunk.at(-1)!.atMs - elapsedMs) + MARK_GRACE_MS;
      daemonRuns = await announce(options.layout, chunk, ttlMs);
      if (daemonRuns) marked += chunk.length;
    }
    for (let i = 0; i < chunk.length; i++) {
      const message = chunk[i]!;
      startMs ??= performance.now();
      const waitMs = message.atMs - (performance.now() - startMs);
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      if (!options.publisher.isSubscribed(message.frames[0]!)) unheard++;
      await options.publisher.send(message.frames);
      progress?.update(at + i + 1, plan.length, rateDetail(at + i + 1, plan.length, startMs));
    }
  }
  const durationMs = startMs === undefined ? 0 : performance.now() - startMs;
  progress?.finish(`${plan.length} messages sent`);
  return { durationMs, marked, unheard };
}

/** Announces a chunk to the daemon; false when no daemon runs on the data dir. */
async function announce(
  layout: DataDirLayout,
  chunk: readonly Planned[],
  ttlMs: number,
): Promise<boolean> {
  const marks = chunk.map((message) => ({
    digest: framesDigest(message.frames),
    replay_of: message.seq,
  }));
  try {
    await callDaemon(layout.controlSocket, { cmd: "expect-replays", marks, ttl_ms: ttlMs });
    return true;
  } catch (error) {
    if (error instanceof DaemonNotRunningError) return false;
    throw error;
  }
}

function rateDetail(done: number, total: number, startMs: number): string {
  const seconds = (performance.now() - startMs) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const eta = rate > 0 ? (total - done) / rate : 0;
  return `${done}/${total} ${Math.round(rate)}/s ETA ${eta.toFixed(0)}s`;
}

function printDryRun(
  plan: readonly Planned[],
  options: { json: boolean; skipped: number; frontend: string },
): void {
  if (options.json) {
    printJson({
      dry_run: true,
      frontend: options.frontend,
      count: plan.length,
      skipped: options.skipped,
      messages: plan.map((message) => ({
        seq: message.seq,
        topic: message.topic,
        at_ms: Math.round(message.atMs),
        bytes: message.frames.reduce((sum, frame) => sum + frame.length, 0),
        frames: message.frames.length,
      })),
    });
    return;
  }
  for (const message of plan) {
    const bytes = message.frames.reduce((sum, frame) => sum + frame.length, 0);
    printLine(
      visibleLine(
        `#${message.seq}  +${(message.atMs / 1000).toFixed(3)}s  ${
          message.topic ?? "(no topic)"
        }  ${bytes} bytes`,
      ),
    );
  }
  printLine(
    `Would replay ${plan.length} messages to ${options.frontend} (skipped ${options.skipped}).`,
  );
}

function report(
  summary: {
    json?: boolean;
    sent: number;
    skipped: number;
    durationMs: number;
    frontend: string;
    marked: number;
    unheard?: number;
    replaysLeftOut?: number;
    damagedLines?: number;
  },
  lines: string[],
): void {
  if (summary.json) {
    printJson({
      sent: summary.sent,
      skipped: summary.skipped,
      duration_ms: Math.round(summary.durationMs),
      frontend: summary.frontend,
      marked_for_recorder: summary.marked,
      no_subscriber: summary.unheard ?? 0,
      replays_left_out: summary.replaysLeftOut ?? 0,
      damaged_lines: summary.damagedLines ?? 0,
    });
    return;
  }
  for (const line of lines) printLine(line);
}
