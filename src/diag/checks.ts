/**
 * The health checks behind `diag` and the menu's [D]iagnostics: daemon, broker endpoints, log,
 * index, disk, checkpoints, recovery. Each says what it found and what to do.
 *
 * @module
 */
import type { DaemonStatus } from "../control/protocol.ts";
import { askDaemon, endpointAcceptsConnections } from "../daemon_process.ts";
import { DaemonNotRunningError } from "../errors.ts";
import { indexPath } from "../indexer/open_index.ts";
import { readOrigin } from "../pgstore/origin.ts";
import { formatBytes } from "../format.ts";
import { CheckpointStore } from "../store/checkpoint_store.ts";
import type { DataDirLayout } from "../store/data_dir.ts";
import { readLockHolder } from "../store/data_dir_lock.ts";
import { type BadLine, scanLogHeadlines } from "../store/log_reader.ts";
import { readJournal } from "../store/recovery_journal.ts";
import { readLastGoodRecord } from "../store/tail_repair.ts";
import { fileSize } from "../store/file_info.ts";
import { readPublisherReport } from "./publisher_report.ts";

const INDEX_LAG_WARN = 20_000;
const STORE_LAG_WARN = 20_000;
const MAX_DAMAGED_LISTED = 5;

/** One diagnostic line: what was checked, how it went, and what to do. */
export interface Check {
  readonly name: string;
  readonly status: "ok" | "warn" | "fail";
  readonly detail: string;
}

/** Runs every check against a data dir and broker endpoints. */
export async function runChecks(
  layout: DataDirLayout,
  frontend: string,
  backend: string,
): Promise<Check[]> {
  const checks: Check[] = [];
  let status: DaemonStatus | undefined;
  try {
    status = (await askDaemon(layout, { cmd: "status" }, { timeoutMs: 3000 })).status;
    const uptime = Math.round((Date.now() - Date.parse(status.started_at)) / 1000);
    checks.push({
      name: "daemon",
      status: status.last_write_error ? "fail" : "ok",
      detail: `running, PID ${status.pid}, up ${uptime} s, version ${status.version}` +
        (status.last_write_error ? `; WRITE ERROR: ${status.last_write_error}` : ""),
    });
  } catch (error) {
    if (!(error instanceof DaemonNotRunningError)) throw error;
    const holder = await readLockHolder(layout.lockFile);
    checks.push({
      name: "daemon",
      status: "fail",
      detail: `not running on ${layout.root} (start: shearwater-persist daemon)` +
        (holder ? `; last lock holder ${holder.role} PID ${holder.pid}` : ""),
    });
  }
  for (const [name, endpoint] of [["frontend", frontend], ["backend", backend]] as const) {
    const reachable = await endpointAcceptsConnections(endpoint);
    checks.push({
      name: `broker ${name}`,
      status: reachable ? "ok" : "fail",
      detail: reachable
        ? `${endpoint} reachable`
        : `${endpoint} not reachable (start: shearwater-persist broker)`,
    });
  }
  checks.push(await logCheck(layout, status));
  checks.push(await publisherCheck(layout, status));
  checks.push(await indexCheck(layout, status));
  checks.push(await storeCheck(layout, status));
  checks.push(await diskCheck(layout));
  checks.push(await checkpointCheck(layout));
  checks.push(await recoveryCheck(layout));
  return checks;
}

async function logCheck(
  layout: DataDirLayout,
  status: DaemonStatus | undefined,
): Promise<Check> {
  const size = await sizeOf(layout.currentLog);
  const damaged = await damagedLines(layout.currentLog);
  const last = await readLastGoodRecord(layout.currentLog);
  const lastMessage = status?.last_message_at;
  const rate = status && status.received
    ? ` ≈${
      (status.received /
        Math.max(1, (Date.now() - Date.parse(status.started_at)) / 1000)).toFixed(1)
    } msg/s since start`
    : "";
  const summary = `${formatBytes(size)}, last seq ${last?.seq ?? "-"}, last message ${
    lastMessage ?? last?.received_at ?? "none"
  }${rate}`;
  if (damaged.length === 0) return { name: "log", status: "ok", detail: summary };
  const shown = damaged.slice(0, MAX_DAMAGED_LISTED).map((bad) =>
    `byte ${bad.offset} (after seq ${bad.afterSeq ?? "-"}): ${bad.reason}`
  );
  if (damaged.length > shown.length) shown.push(`${damaged.length - shown.length} more`);
  return {
    name: "log",
    status: "warn",
    detail: `${summary}; ${damaged.length} DAMAGED line(s) in ${layout.currentLog}: ` +
      `${shown.join("; ")}. Those records fail their checksum: search and recent mark them, ` +
      "show and checkpoints leave them out. A checkpoint taken before the damage may hold " +
      "intact copies (checkpoint list, checkpoint show ID); keep the log as it is for inspection",
  };
}

const GAP_WARN_WINDOW_MS = 60 * 60 * 1000;

/**
 * Publisher accounting: per publisher received, missing, refilled, duplicates; a warning for
 * every `publisher_gap` written in the last hour (messages lost for good) and for gaps the
 * daemon is still refilling.
 */
async function publisherCheck(
  layout: DataDirLayout,
  status: DaemonStatus | undefined,
): Promise<Check> {
  const report = await readPublisherReport(layout.currentLog, {
    gapsSince: new Date(Date.now() - GAP_WARN_WINDOW_MS),
    daemon: status?.publishers,
  });
  if (report.publishers.length === 0) {
    return { name: "publishers", status: "ok", detail: "no publisher uses the envelope" };
  }
  const figures = report.publishers.map((p) =>
    `${p.pub}: ${p.received} received, ${p.missing} missing, ${p.refilled} refilled, ` +
    `${p.duplicates ?? "?"} duplicates`
  );
  const pending = (status?.publishers ?? []).filter((p) => p.pending > 0);
  const warnings: string[] = [];
  if (report.recentGaps.length > 0) {
    const lost = report.recentGaps.reduce((sum, gap) => sum + gap.count, 0);
    const shown = report.recentGaps.slice(-MAX_DAMAGED_LISTED).map((gap) =>
      `${gap.publisher} ${gap.first_missing}..${gap.last_missing} (${gap.reason})`
    );
    warnings.push(
      `${lost} message(s) in ${report.recentGaps.length} UNFILLED gap(s) in the last hour: ` +
        `${shown.join("; ")}. They could not be refilled from the publishers' outboxes ` +
        "(see the publisher_gap records); a larger outbox or a steadier daemon avoids them",
    );
  }
  if (pending.length > 0) {
    warnings.push(
      `refill in progress for ${pending.map((p) => `${p.pub} (${p.pending})`).join(", ")}`,
    );
  }
  return {
    name: "publishers",
    status: warnings.length > 0 ? "warn" : "ok",
    detail: [`${report.publishers.length} publisher(s): ${figures.join("; ")}`, ...warnings]
      .join("; "),
  };
}

/** A line of the current log that fails its checksum, with the seq of the good line before. */
interface DamagedLine extends BadLine {
  readonly afterSeq: number | undefined;
}

/** Lines of a log that fail verification (a torn last line without newline is not one). */
async function damagedLines(path: string): Promise<DamagedLine[]> {
  const damaged: DamagedLine[] = [];
  let lastSeq: number | undefined;
  const onBadLine = (bad: BadLine) => damaged.push({ ...bad, afterSeq: lastSeq });
  for await (const { headline } of scanLogHeadlines(path, { onBadLine })) lastSeq = headline.seq;
  return damaged;
}

/**
 * The shared store the daemon ships to: reachable or not (a store that cannot be reached is a
 * warning, not a failure: the recorder does not depend on it, shipping resumes by itself).
 */
async function storeCheck(
  layout: DataDirLayout,
  status: DaemonStatus | undefined,
): Promise<Check> {
  const origin = status?.origin ?? await readOrigin(layout.root);
  const originText = origin ? `origin ${origin}` : "no origin yet";
  const store = status?.store;
  if (!store) {
    return {
      name: "store",
      status: "ok",
      detail: `${originText}; ${status ? "no shared store configured" : "no daemon ships"}`,
    };
  }
  const lag = `shipped up to seq ${store.shipped_seq}, lag ${store.lag_records} records, ` +
    `${store.lag_seconds} s`;
  if (store.reachable && store.state === "shipping") {
    return {
      name: "store",
      status: store.lag_records > STORE_LAG_WARN ? "warn" : "ok",
      detail: `${store.url} reachable, ${lag}; ${originText}`,
    };
  }
  return {
    name: "store",
    status: "warn",
    detail: `${store.url} ${store.reachable ? store.state : "not reachable"}, ${lag}` +
      (store.last_error ? `: ${store.last_error}` : "") + `; ${originText}`,
  };
}

async function indexCheck(
  layout: DataDirLayout,
  status: DaemonStatus | undefined,
): Promise<Check> {
  const size = (await sizeOf(indexPath(layout))) + (await sizeOf(`${indexPath(layout)}-wal`));
  const index = status?.index;
  if (index) {
    return {
      name: "index",
      status: index.state === "failed" || index.lag > INDEX_LAG_WARN ? "warn" : "ok",
      detail: `${formatBytes(size)}, ${index.state}, lag ${index.lag} records`,
    };
  }
  return {
    name: "index",
    status: "ok",
    detail: `${formatBytes(size)} (caught up by reader commands when no daemon indexes)`,
  };
}

async function diskCheck(layout: DataDirLayout): Promise<Check> {
  try {
    const output = await new Deno.Command("df", { args: ["-Pk", layout.root], stderr: "null" })
      .output();
    const fields =
      new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)?.split(/\s+/) ?? [];
    const freeBytes = Number(fields[3]) * 1024;
    if (!output.success || !Number.isFinite(freeBytes)) throw new Error("df gave no answer");
    return {
      name: "disk",
      status: freeBytes < 100 * 1024 * 1024 ? "fail" : freeBytes < 1024 ** 3 ? "warn" : "ok",
      detail: `${formatBytes(freeBytes)} free`,
    };
  } catch (error) {
    return {
      name: "disk",
      status: "warn",
      detail: `free space unknown: ${(error as Error).message}`,
    };
  }
}

async function checkpointCheck(layout: DataDirLayout): Promise<Check> {
  const entries = await new CheckpointStore(layout.checkpointsDir).list();
  const damaged = entries.filter((entry) => !entry.ok);
  const newest = entries.find((entry) => entry.ok);
  return {
    name: "checkpoints",
    status: damaged.length ? "warn" : "ok",
    detail:
      `${entries.length} (last ${
        newest?.ok ? `${newest.id}, ${newest.manifest.trigger}` : "none"
      })` +
      (damaged.length ? `, ${damaged.length} damaged: run checkpoint verify` : ""),
  };
}

async function recoveryCheck(layout: DataDirLayout): Promise<Check> {
  const { entries, unreadableLines } = await readJournal(layout.recoveryJournal);
  const recoveries = entries.filter((entry) => entry.event === "recovered");
  const setAside: string[] = [];
  try {
    for await (const entry of Deno.readDir(layout.recoveryDir)) {
      if (entry.name.startsWith("torn_tail_") || entry.name.startsWith("index_unusable_")) {
        setAside.push(entry.name);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const last = recoveries.at(-1);
  return {
    name: "recovery",
    status: recoveries.length ? "warn" : "ok",
    detail: recoveries.length
      ? `${recoveries.length} crash recoveries (last ${last?.at}), ${setAside.length} file(s) set aside in recovery/`
      : `no crash recoveries${
        unreadableLines ? `, ${unreadableLines} unreadable journal lines` : ""
      }`,
  };
}

async function sizeOf(path: string): Promise<number> {
  return (await fileSize(path)) ?? 0;
}
