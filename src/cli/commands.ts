import { lazyModule } from "../lazy_import.ts";
import { type CommandAction, type CommandEntry, COMMON_HELP } from "./command.ts";
import { FILTER_HELP } from "./filters.ts";
import { STORE_HELP } from "./history_flags.ts";

// Help texts live here, not in the command files, so that `--help` and the command list load no
// command module; each command's module (and what it imports: ZeroMQ, SQLite, prompts) is loaded
// only when the command runs, by a computed URL (see lazy_import.ts: a literal `import()` would
// make every command pay for loading every command's graph). deno.json's compile task lists each
// file with --include; tests/cli/lazy_loading_test.ts checks that it does.

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "up",
    summary: "run a broker (if none is reachable) plus the recorder daemon",
    help: `Usage: shearwater-persist up [options]

Starts everything needed to record a bus on this machine: a broker (only if
nothing listens on the frontend already) and the recorder daemon (only if none
runs on the data dir), each as its own process, so either can be restarted
alone. On a terminal it then shows the recovery menu (see "menu --help"), and
keeps recording after [Q]uit. Ctrl+C stops what it started, cleanly.

Options:
  --frontend ADDR    broker XSUB endpoint (default tcp://127.0.0.1:5559)
  --backend ADDR     broker XPUB endpoint (default tcp://127.0.0.1:5560)
  --no-menu          do not show the recovery menu
  --demo             also run two simulated agents that talk for a while, then
                     save a checkpoint: see recording, search and recovery work
  --store URL        the daemon ships to this PostgreSQL store (passed to it in
                     its environment, not its arguments; env SHEARWATER_STORE)
${COMMON_HELP}

Exit codes: 0 stopped by Ctrl+C/SIGTERM, 1 a child process failed.
`,
    load: lazyAction("./up_command.ts", "upCommand"),
  },
  {
    name: "broker",
    summary: "run a pure XPUB/XSUB proxy (no recording) for dev and tests",
    help: `Usage: shearwater-persist broker [options]

Runs a pure ZeroMQ XPUB/XSUB proxy. Publishers connect to the frontend,
subscribers (agents and the recorder daemon) to the backend. It records
nothing: persistence is the daemon's job, and the daemon works with any
XPUB/XSUB broker. Stops cleanly on Ctrl+C or SIGTERM.

Options:
  --frontend ADDR    XSUB endpoint for publishers (env SHEARWATER_FRONTEND,
                     default tcp://127.0.0.1:5559)
  --backend ADDR     XPUB endpoint for subscribers (env SHEARWATER_BACKEND,
                     default tcp://127.0.0.1:5560)
  --config FILE      JSON config file (env SHEARWATER_CONFIG)
  -h, --help         show this help

Exit codes: 0 stopped cleanly, 1 could not bind, 2 bad arguments.
`,
    load: lazyAction("./broker_command.ts", "brokerCommand"),
  },
  {
    name: "daemon",
    summary: "record every message from the broker into the data dir",
    help: `Usage: shearwater-persist daemon [options]

Subscribes to the broker's backend and appends every message, losslessly, as
one checksummed JSON line to <data-dir>/current_session.jsonl. It never sends
anything to the broker but its subscription, reconnects by itself when the
broker restarts, and recovers on its own after a crash (torn tail set aside in
recovery/, gap recorded). Logs JSON lines to stderr.

Options:
  --data-dir DIR       data directory (env SHEARWATER_DATA_DIR,
                       default conversation_logs)
  --backend ADDR       broker XPUB endpoint (env SHEARWATER_BACKEND,
                       default tcp://127.0.0.1:5560)
  --topic PREFIX       record only topics starting with PREFIX (repeatable;
                       env SHEARWATER_TOPICS, comma-separated; default: all)
  --exclude GLOB       do not record topics matching GLOB (* and ? wildcards,
                       matched against the first frame; repeatable;
                       env SHEARWATER_EXCLUDE)
  --sync MODE          interval (group commit, default) or always (fsync
                       every message) (env SHEARWATER_SYNC)
  --sync-ms N          longest wait before a batch is written and fsynced,
                       default 2 (env SHEARWATER_SYNC_MS)
  --heartbeat-ms N     recovery-journal heartbeat interval, default 1000
  --log-level LEVEL    debug, info (default), warn or error
                       (env SHEARWATER_LOG_LEVEL)
  --log-file PATH      append the JSON log lines to PATH instead of stderr
  --no-index           do not keep the search index up to date (search and
                       the other readers then catch it up themselves)
  --checkpoint-every N automatic checkpoint every N messages, default 1000
                       (0: off; env SHEARWATER_CHECKPOINT_EVERY); at most one
                       per 5 s in a burst
  --checkpoint-minutes M  automatic checkpoint after M minutes with new
                       messages, default 10 (0: off)
  --checkpoint-keep K  automatic retention keeps K checkpoints, default 50
                       (the newest of each session is always kept)
  --blob-threshold-bytes N  frames over N bytes are stored as blob files in
                       <data-dir>/blobs/, default 1048576 (1 MiB), at most
                       67108864 (64 MiB)
                       (env SHEARWATER_BLOB_THRESHOLD_BYTES)
  --max-message-bytes N  a message over N bytes (all frames) is kept only as
                       an "oversized" record (size, SHA-256, first 4 KiB),
                       default 1073741824 (1 GiB)
                       (env SHEARWATER_MAX_MESSAGE_BYTES)
  --store URL          ship every durable record to this PostgreSQL store
                       (postgres://user@host/db?sslmode=...; env
                       SHEARWATER_STORE, or "store" in the config file: keep
                       a password out of the command line)
  --config FILE        JSON config file (env SHEARWATER_CONFIG)
  -h, --help           show this help

Durability: in interval mode a message is on disk (fsynced) at most --sync-ms
plus one fsync after it arrives; a crash loses at most that window. On SIGINT
or SIGTERM an emergency checkpoint is saved when there are messages since the
last one. Stop with Ctrl+C, SIGTERM or "shearwater-persist stop".

A stop takes at most 6 s. A fatal error in any of its threads, received
messages it could not write before the stop deadline (disk full), or its data
dir or log deleted or renamed under it end the daemon with exit 75, so that a
supervisor restarts it; the journal and the log say why.

Exit codes: 0 clean stop, 1 failure, 2 bad arguments, 3 another daemon holds
the data dir, 75 ended abnormally (see above).
`,
    load: lazyAction("./daemon_command.ts", "daemonCommand"),
  },
  {
    name: "status",
    summary: "show whether a daemon records into the data dir, and its counters",
    help: `Usage: shearwater-persist status [options]

Asks the daemon running on the data dir (through its control socket) for its
state: PID, session, last seq and last durable (fsynced) seq, messages
received, broker link.

Options:
${COMMON_HELP}

Exit codes: 0 a daemon is running, 4 no daemon runs on this data dir.
`,
    load: lazyAction("./status_command.ts", "statusCommand"),
  },
  {
    name: "stop",
    summary: "stop the daemon gracefully (flush, fsync, clean stop journaled)",
    help: `Usage: shearwater-persist stop [options]

Asks the daemon on the data dir to stop: it stops receiving, flushes and
fsyncs the log, journals a clean stop and exits. Waits until it has released
the data dir. On a full disk the daemon writes what fits within its stop
deadline; the received messages it could not write are counted on stderr.

Options:
${COMMON_HELP}

Exit codes: 0 stopped, 4 no daemon was running, 1 it did not stop within 10 s,
75 it stopped, but not cleanly (received messages not written, or a fatal
error).
`,
    load: lazyAction("./stop_command.ts", "stopCommand"),
  },
  {
    name: "new-session",
    summary: "archive current_session.jsonl to archive/ and start a new session",
    help: `Usage: shearwater-persist new-session [options]

Ends the current session: its log moves atomically to
archive/session_<id>.jsonl and a new current_session.jsonl begins. With a
daemon running, the daemon does it without pausing recording (messages
arriving meanwhile go to the new session). Nothing is deleted.

Options:
${COMMON_HELP}

Exit codes: 0 done, 3 the data dir is locked by a daemon that does not answer.
`,
    load: lazyAction("./new_session_command.ts", "newSessionCommand"),
  },
  {
    name: "search",
    summary: "full-text search of recorded messages, with filters",
    help: `Usage: shearwater-persist search [QUERY] [options]

Searches every recorded session, newest first. QUERY uses SQLite FTS5 syntax:
words (all must match), "quoted phrases", OR, NOT, prefix*, and parentheses.
Without QUERY, lists the newest messages that match the filters. Works whether
or not the daemon runs (without one, the index first catches up itself). With
--store, searches every machine's shipped history (PostgreSQL full-text search,
same syntax but NEAR and ^); a hit then shows its origin when several match.

Options:
${FILTER_HELP}
  -n, --limit N      at most N results (default 20)
${STORE_HELP}
${COMMON_HELP}

Examples:
  shearwater-persist search checkpoint --sender claude --since 2h
  shearwater-persist search '"disk full" OR enospc' --json

Exit codes: 0 results found, 1 no results, 2 bad query or arguments.
`,
    load: lazyAction("./search_command.ts", "searchCommand"),
  },
  {
    name: "recent",
    summary: "show the last N recorded messages (default 10)",
    help: `Usage: shearwater-persist recent [N] [options]

Shows the last N messages (default 10), oldest first, across sessions (with
--store, across every machine's shipped history).

Options:
${FILTER_HELP}
  --events           include daemon events (gaps, broker down/up, sessions)
${STORE_HELP}
${COMMON_HELP}

Exit codes: 0 shown (even none), 2 bad arguments.
`,
    load: lazyAction("./recent_command.ts", "recentCommand"),
  },
  {
    name: "replay",
    summary: "publish recorded messages to a broker again, byte for byte",
    help: `Usage: shearwater-persist replay (--session ID | --checkpoint ID | --seq A..B |
                                  --since T [--until T]) [options]

Publishes recorded messages to a broker's frontend again: every frame byte for
byte, in seq order, at the original spacing (scaled by --speed). It waits until
the broker has told it about subscribers before the first message (ZeroMQ drops
what is sent before that), and stops with exit 1 when nobody subscribes. When a
daemon records this data dir, it is told which messages are replays: they are
recorded with meta.replay_of (the original seq), and search, recent and
context leave them out unless --include-replays.

Options:
  --session ID       the messages of session ID
  --checkpoint ID    the messages of checkpoint ID (or "latest")
  --seq A..B         the messages with seq A to B
  --since T          the messages from T (ISO or 30m, 2h, 7d ago); --until T
  --frontend ADDR    broker XSUB endpoint (default: the configured one)
  --speed X          X times the original pace (default 1)
  --max-rate N       at most N messages a second, ignoring the original pace
  --burst            as fast as the socket takes them
  --topic PREFIX     only topics starting with PREFIX (repeatable)
  --exclude GLOB     not topics matching GLOB (* and ?, repeatable)
  --remap OLD=NEW    rewrite topic prefix OLD to NEW (repeatable): re-drive a
                     conversation on a side channel without waking live agents
  --wait-ms N        how long to wait for subscribers (default 3000)
  --dry-run          list what would be sent, send nothing
  -y, --yes          do not ask before replaying onto the live bus
${COMMON_HELP}

Examples:
  shearwater-persist replay --session 20261130-091500 --remap agent.=side.agent.
  shearwater-persist replay --seq 120..180 --burst --frontend tcp://host:6559
  shearwater-persist replay --since 10m --speed 4 --yes --json

Exit codes: 0 sent, 1 nothing to send or nobody subscribes, 2 bad arguments.
`,
    load: lazyAction("./replay_command.ts", "replayCommand"),
  },
  {
    name: "show",
    summary: "print one full record by its seq, read from the log",
    help: `Usage: shearwater-persist show SEQ [options]

Finds record SEQ through the index and prints it from the log (its checksum is
verified first): metadata, then every frame; JSON payloads are pretty-printed,
binary frames shown as size and base64. Frames stored as blobs are read from
<data-dir>/blobs/ and checked against their hash first (text printed in full).
With --store, the record comes from the shared history, its line verified the
same way (give --origin when several machines have a record SEQ).

Options:
  --raw              print the log line exactly as stored
${STORE_HELP}
${COMMON_HELP}

Exit codes: 0 shown, 1 no such record, 2 bad arguments, 65 the record's line
is damaged (with --raw its bytes are still printed, marked on stderr), 66 no
data dir there.
`,
    load: lazyAction("./show_command.ts", "showCommand"),
  },
  {
    name: "sessions",
    summary: "list recorded sessions: start, end, messages, size, agents",
    help: `Usage: shearwater-persist sessions [options]

Lists every session the index knows (archived and current), oldest first:
start and end time, message count, size of the messages, agents seen. With
--store, every machine's sessions (SESSION@ORIGIN when several machines).

Options:
${STORE_HELP}
${COMMON_HELP}

Exit codes: 0 listed, 2 bad arguments.
`,
    load: lazyAction("./sessions_command.ts", "sessionsCommand"),
  },
  {
    name: "stats",
    summary: "message counts per sender, topic, session and hour; biggest messages",
    help: `Usage: shearwater-persist stats [options]

Totals (messages, bytes, estimated tokens), then bar charts of messages per
sender, per topic, per session and per hour (last 48 hours with messages), and
the biggest messages. With --store, over every machine's shipped history
(no per-publisher table: that comes from this machine's log).

Options:
${FILTER_HELP}
  --top N            rows per table (default 10)
${STORE_HELP}
${COMMON_HELP}

Exit codes: 0 shown, 2 bad arguments.
`,
    load: lazyAction("./stats_command.ts", "statsCommand"),
  },
  {
    name: "reindex",
    summary: "rebuild the search index from scratch from the logs",
    help: `Usage: shearwater-persist reindex [options]

Builds a new metadata_index/index.db from current_session.jsonl and archive/,
with a progress bar, and puts it in place of the old one when it is complete:
searches see the old index until then, and an interrupted rebuild leaves it as
it was. The logs are only read. With a daemon running, its indexer pauses while
the rebuild runs and resumes afterwards.

Options:
${COMMON_HELP}

Exit codes: 0 rebuilt, 1 failed, 3 the index stayed locked by another process.
`,
    load: lazyAction("./reindex_command.ts", "reindexCommand"),
  },
  {
    name: "ship",
    summary: "backfill the logs and archives into the shared PostgreSQL store",
    help: `Usage: shearwater-persist ship [options]

Ships every record of the data dir's logs (archive/ and current_session.jsonl)
to the shared PostgreSQL store, blobs included, with a progress bar. Safe to
run again or to interrupt: records already in the store are skipped (they are
keyed by the data dir's origin id and seq). Works with or without a running
daemon; with one, only what it made durable is shipped (the daemon itself
ships live when started with --store). Creates or updates the store's schema
when the role may.

Options:
  --store URL        postgres://USER@HOST:PORT/DB?sslmode=... (env
                     SHEARWATER_STORE, or "store" in the config file)
${COMMON_HELP}

Exit codes: 0 shipped, 1 the store refused, 2 bad arguments, 66 no data dir,
69 the store cannot be reached or refused the login.
`,
    load: lazyAction("./ship_command.ts", "shipCommand"),
  },
  {
    name: "store",
    summary: "the shared PostgreSQL store: migrate, status, drop-month",
    help: `Usage: shearwater-persist store ACTION [options]

Actions:
  migrate             create or update the store's schema (run as the schema's
                      owner) and the monthly partitions up to a year ahead
  status              schema version, partitions (rows, size), records per
                      origin
  drop-month YYYY-MM  retention: detach and drop one month of records of every
                      origin (asks on a terminal; --yes in scripts)

Options:
  --store URL        postgres://USER@HOST:PORT/DB?sslmode=... (env
                     SHEARWATER_STORE, or "store" in the config file)
  --yes              drop-month without asking
${COMMON_HELP}

Exit codes: 0 done, 1 refused or not confirmed, 2 bad arguments, 69 the store
cannot be reached or refused the login.
`,
    load: lazyAction("./store_command.ts", "storeCommand"),
  },
  {
    name: "import",
    summary: "import Claude Code, Gemini CLI or JSONL transcripts as archived sessions",
    help: `Usage: shearwater-persist import PATH... [options]

Imports transcript files (or every .jsonl file under a folder) into the data dir
as archived sessions, one per file, indexed and searchable beside the bus. Each
line becomes one record: the line kept byte for byte as its payload frame (topic
import/FORMAT), meta.imported_from = {path, line, format, key}, and its time
taken from the transcript, so --since and --until see the original times.
Importing the same lines again adds nothing (key: Claude Code's uuid, Gemini
CLI's message id, else the line's SHA-256). A line that cannot be read is
reported as FILE:LINE: REASON; the rest still imports. Works with or without a
running daemon: seqs always come after every record already written.

Options:
  --format FMT       auto (default), claude-code, gemini-cli or jsonl
${COMMON_HELP}

Exit codes: 0 imported, or everything was already there; 1 a file yielded
nothing; 2 bad arguments; 3 the data dir is busy; 66 a path does not exist.
`,
    load: lazyAction("./import_command.ts", "importCommand"),
  },
  {
    name: "checkpoint",
    summary: "create, list, show, verify, load, prune, push and pull checkpoints",
    help: `Usage: shearwater-persist checkpoint <action> [options]

Checkpoints are immutable snapshots of a session you can return to. They live in
checkpoints/ (a manifest per checkpoint plus shared, content-addressed segments)
and stay loadable after their session is archived or deleted.

Actions:
  create [--label TEXT]  snapshot the current session (through the daemon when
                         it runs, otherwise directly)
  list                   newest first: time | messages | size | trigger | title
  show ID [--last N]     manifest and the last N messages (default 5)
  verify [ID]            check checksums of one or all checkpoints
  load ID [--yes]        save a before-load checkpoint, archive the current
                         session, and restore ID as a new session (a fork)
  prune --keep N [--max-age DUR] [--dry-run] [--yes]
                         delete all but the newest N (with --max-age, only
                         those older than DUR, e.g. 7d); the newest checkpoint
                         of each session is never deleted
  push ID                put checkpoint ID into the shared store (--store):
                         manifest, and the segments and blobs it lacks
  pull ID [--origin ID]  copy a checkpoint of any machine from the store into
                         this data dir, verified; then "load" it here
  list --store           the store's checkpoints, by origin
ID is a checkpoint id (YYYYMMDD_HHMMSS), a unique prefix of one, or "latest".

Options:
  --store URL        the shared PostgreSQL store (env SHEARWATER_STORE, config
                     key "store"), for push, pull and list --store
  --origin ID        pull or list only the checkpoints data dir ID pushed
${COMMON_HELP}

A checkpoint leaves out log lines that fail their checksum; create then says so
on stderr and exits 7, and list, show and verify mark the checkpoint incomplete.
list checks that every segment exists with the right size; verify reads and
hashes them all (list says when that was last done). Labels are printable text:
control characters are refused. Retention never deletes a damaged checkpoint.

Exit codes: 0 done, 1 verify found damage or the checkpoint is unusable,
2 bad arguments (load/prune off a terminal without --yes, a label with control
characters included), 3 the data dir stayed locked by another process,
7 create saved an incomplete checkpoint (or verify found one, and no damage),
65 push or pull found the checkpoint damaged, 69 the store cannot be reached.
`,
    load: lazyAction("./checkpoint_command.ts", "checkpointCommand"),
  },
  {
    name: "diag",
    summary: "health check: daemon, broker, log, index, disk, checkpoints, recovery",
    help: `Usage: shearwater-persist diag [options]

Checks the whole setup and says what to do about problems: daemon running
(PID, uptime, version), broker reachable on both endpoints, last message and
rate, log and index sizes, index lag, free disk, last checkpoint, damaged
checkpoints, recent recovery events and gaps, lock holder.

Options:
  --frontend ADDR    broker frontend to probe (default tcp://127.0.0.1:5559)
  --backend ADDR     broker backend to probe (default tcp://127.0.0.1:5560)
${COMMON_HELP}

Exit codes: 0 healthy (warnings allowed), 5 unhealthy, 2 bad arguments.
`,
    load: lazyAction("./diag_command.ts", "diagCommand"),
  },
  {
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
    load: lazyAction("./menu_command.ts", "menuCommand"),
  },
  {
    name: "launch",
    summary: "start the daemon when an agent connects, stop it when the last leaves",
    help: `Usage: shearwater-persist launch [options]

Watches the bus for agents without changing the broker: it sees subscriptions
travel upstream (first interest in a topic, last interest gone) and presence
messages on topic shearwater.presence ({"agent": NAME, "event": "hello"|"bye"}).
On the first agent it starts the daemon in the background if none runs (log in
<data-dir>/daemon.log) and, on a terminal, shows the recovery menu. While
agents are connected it restarts a daemon that dies (with backoff; the daemon
records the gap). When the last agent has left and the grace period passed, it
saves a session-end checkpoint and stops the daemon gracefully.

What it can and cannot see: the broker folds subscriptions, so agents sharing
a topic look like one agent, and subscribe-all ("") is ignored because the
recorder itself uses it. Give each agent a topic of its own, or have it send
presence messages (a crashed agent sends no "bye"; its subscription still
ends when its connection closes).

Options:
  --frontend ADDR      broker XSUB endpoint (default tcp://127.0.0.1:5559)
  --backend ADDR       broker XPUB endpoint (default tcp://127.0.0.1:5560)
  --grace-ms N         wait after the last agent leaves, default 5000
  --ignore-topic T     a subscription topic that is not an agent (repeatable)
  --once               exit after the first session has ended
  --no-menu            do not show the menu when the first agent arrives
  --store URL          the daemon ships to this PostgreSQL store (passed in its
                       environment; env SHEARWATER_STORE)
${COMMON_HELP}

Exit codes: 0 stopped (Ctrl+C, SIGTERM, or --once), 2 bad arguments.
`,
    load: lazyAction("./launch_command.ts", "launchCommand"),
  },
  {
    name: "context",
    summary: "the bus conversation as Markdown, sized for an agent's context",
    help: `Usage: shearwater-persist context [--session ID | --checkpoint ID] [options]

Prints a Markdown transcript of the bus conversation (default: the current
session): a header with the session, its time span, how many earlier messages
were left out and the search command that finds them; then the messages
oldest to newest, each with time, sender → recipient, topic and seq, content
as sent (code blocks intact). The newest messages are kept whole first; a
message that does not fit is trimmed with a visible marker. Daemon events,
presence messages and binary frames are summarised in one line per run.
Replayed messages (meta.replay_of) are left out.

Options:
  --session ID       a session (see "sessions"); default: the current one
  --checkpoint ID    a checkpoint's conversation (id, prefix or "latest")
  --agent NAME       NAME's view: what NAME sent, what was addressed to NAME,
                     and what was addressed to nobody (to "all" or no "to")
                     (env SHEARWATER_AGENT)
  --since TIME       from TIME: ISO (2026-11-25T13:00) or ago (30m, 2h, 7d)
  --topic PREFIX     only topics starting with PREFIX (repeatable)
  --max-chars N      longest transcript (at least 1000), default 9000
                     (Claude Code caps injected context at 10,000 characters)
  --include-replays  also show messages recorded as replays
${STORE_HELP}
                     (with --store, name the conversation with --session)
${COMMON_HELP}

Exit codes: 0 messages shown, 1 no messages, 2 bad arguments.
`,
    load: lazyAction("./context_command.ts", "contextCommand"),
  },
  {
    name: "export",
    summary: "a conversation as Markdown, the stored JSONL lines, or one HTML page",
    help: `Usage: shearwater-persist export (--session ID | --checkpoint ID |
         --search QUERY [filters]) --format md|jsonl|html [--output FILE]

Writes a conversation to stdout or FILE (mode 0600):
  md     the full transcript in "context"'s format (no size limit)
  jsonl  the stored log lines, byte for byte (every CRC still valid)
  html   one self-contained page (inline CSS, no script, no network): a
         colour per sender, times, long messages folded, code blocks kept;
         all recorded text escaped
An existing FILE is replaced only after confirmation on a terminal, or with
--yes. Replayed messages (meta.replay_of) are left out unless
--include-replays. A progress bar shows on stderr for large sessions.

Options:
  --session ID       a session (with --search: a filter)
  --checkpoint ID    a checkpoint (id, prefix or "latest")
  --search QUERY     the messages matching QUERY (full-text; "" for all),
                     oldest first, narrowed by the filters:
${FILTER_HELP.replace(/^ {2}--session.*\n/m, "").replace(/\n {2}--include-replays.*/, "")}
  --limit N          at most N search results, default 100000
  --format FORMAT    md, jsonl or html (required)
  -o, --output FILE  write to FILE instead of stdout
  -y, --yes          replace FILE without asking
  --include-replays  also export messages recorded as replays
${STORE_HELP}
                     (with --store: --session or --search, not --checkpoint)
${COMMON_HELP}

Exit codes: 0 exported, 1 nothing selected, 2 bad arguments (or FILE exists
and was not confirmed).
`,
    load: lazyAction("./export_command.ts", "exportCommand"),
  },
  {
    name: "hook",
    summary: "Claude Code / Gemini CLI hooks: session-start, session-end, pre-compact",
    help: `Usage: shearwater-persist hook claude session-start|session-end|pre-compact
       shearwater-persist hook gemini session-start|session-end|pre-compress

For agent hook settings (see README). Reads the hook's JSON from stdin.
  session-start   makes sure the daemon runs (starts it in the background if
                  not) and prints a short context block: current session, last
                  checkpoint, how to search, as strict JSON in
                  hookSpecificOutput.additionalContext (both agents). When the
                  bus session has messages, the conversation follows (as
                  "context" prints it, under 10,000 characters in all): after
                  source compact or resume always, after startup or clear when
                  the session had traffic in the last hour.
  session-end     asks the daemon for a session-end checkpoint
  pre-compact,    asks the daemon for a checkpoint before the agent compacts
  pre-compress    its context
Every action returns within about a second; a hook never fails the agent: it
exits 0 and reports problems on stderr.

Options:
  --backend ADDR     broker backend for a daemon it starts
  --agent NAME       whose view of the conversation (see "context --help";
                     env SHEARWATER_AGENT)
${COMMON_HELP}
`,
    load: lazyAction("./hook_command.ts", "hookCommand"),
  },
];

/**
 * The loader of command `name` exported by `file` (relative to this folder): its module is
 * imported on the first call, not before.
 */
function lazyAction(file: string, name: string): () => Promise<CommandAction> {
  const load = lazyModule<Record<string, CommandAction | undefined>>(
    import.meta.resolve(file),
  );
  return async () => {
    const action = (await load())[name];
    if (typeof action?.run !== "function") throw new Error(`${file} exports no command ${name}`);
    return action;
  };
}
