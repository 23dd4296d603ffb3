"""The Python client against the real daemon, driven from Python: refill after kill -9, late join.

Usage: check_daemon_refill.py FRONTEND BACKEND DIR CLI_JSON
  CLI_JSON: the command that runs shearwater-persist, as a JSON list (deno run ... main.ts).
The broker runs in the caller. This script starts and kills its daemons itself (data dirs under
DIR), reads figures with `status --json` / `stats --json` and checks every line of the log (its
CRC-32 too). Prints "ok" last when every check passed.

1. A publisher streams 1,000 messages; once the daemon has 100, it is killed with -9, at least
   100 more are sent, the daemon is restarted: every (pub, seq) must be stored exactly once, the
   missed ones refilled (meta.refilled) in order, no publisher_gap (all within the outbox).
2. A publisher with outbox=40 sends 60 messages with no daemon running; a daemon started then
   refills 21..60 and writes 1..20 off as one explained publisher_gap.
"""

import json
import os
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "clients", "python"))
sys.dont_write_bytecode = True

from shearwater_client import ENVELOPE_FIELD, Publisher  # noqa: E402

FRONTEND, BACKEND, DIR = sys.argv[1], sys.argv[2], sys.argv[3]
CLI = json.loads(sys.argv[4])
CRC_SUFFIX_LENGTH = len(b',"crc":"00000000"}')


def wait_for(what, condition, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def cli_json(*args):
    result = subprocess.run(CLI + list(args) + ["--json"], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=60)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


class Daemon:
    """A daemon process on ``data_dir``, started at once; waits until `status` says running."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self._log = open(data_dir + ".daemon.log", "ab")
        self.process = subprocess.Popen(
            CLI + ["daemon", "--data-dir", data_dir, "--backend", BACKEND],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        wait_for("the daemon on %s to answer" % data_dir, self._running)

    def _running(self):
        if self.process.poll() is not None:
            with open(self.data_dir + ".daemon.log", "rb") as log:
                raise AssertionError("the daemon exited early: %s" % log.read().decode())
        return self.status() is not None

    def status(self):
        code, status = cli_json("status", "--data-dir", self.data_dir)
        return status if code == 0 and status and status.get("running") else None

    def figures(self, pub):
        status = self.status()
        for figures in (status or {}).get("publishers", []):
            if figures["pub"] == pub:
                return figures, status
        return None, status

    def wait_settled(self, pub, last_seq):
        """Every seq up to last_seq stored or written off, nothing pending, all durable."""
        def settled():
            figures, status = self.figures(pub)
            return figures if (figures and figures["highest_seq"] == last_seq
                               and figures["pending"] == 0
                               and figures["received"] + figures["missing"] == last_seq
                               and status["durable_seq"] == status["seq"]) else None
        return wait_for("the daemon to account for %s up to %d" % (pub, last_seq), settled, 90)

    def kill(self):
        self.process.kill()  # SIGKILL
        self.process.wait()
        self._log.close()


def read_log(data_dir):
    """Every record of the current log; a line whose checksum does not verify fails."""
    records = []
    with open(os.path.join(data_dir, "current_session.jsonl"), "rb") as log:
        for number, line in enumerate(log.read().split(b"\n")[:-1], 1):
            body = line[:-CRC_SUFFIX_LENGTH] + b"}"
            record = json.loads(line)
            if record["crc"] != "%08x" % zlib.crc32(body):
                raise AssertionError("line %d does not verify" % number)
            records.append(record)
    return records


def check_accounted(records, pub, last):
    """Each seq 1..last stored once or in one publisher_gap; live and refilled each in order."""
    live, refilled = [], []
    for record in records:
        meta = record.get("meta") or {}
        if record["type"] != "message" or meta.get("pub") != pub:
            continue
        payload = json.loads(record["frames"][1])
        if payload[ENVELOPE_FIELD] != {"pub": pub, "seq": meta["pub_seq"]}:
            raise AssertionError("meta and envelope disagree: %r" % record)
        (refilled if meta.get("refilled") is True else live).append(meta["pub_seq"])
    for name, seqs in (("live", live), ("refilled", refilled)):
        if seqs != sorted(set(seqs)):
            raise AssertionError("%s records out of order or repeated: %r" % (name, seqs))
    gaps = [r for r in records if r["type"] == "publisher_gap" and r["publisher"] == pub]
    covered = live + refilled
    for gap in gaps:
        covered += range(gap["first_missing"], gap["last_missing"] + 1)
    if sorted(covered) != list(range(1, last + 1)):
        missing = sorted(set(range(1, last + 1)) - set(covered))
        raise AssertionError("not accounted for exactly once (missing %r...)" % missing[:10])
    return refilled, gaps


def stream(publisher, count, interval):
    for n in range(1, count + 1):
        publisher.send("agent.pystream", {"from": "pystream", "n": n, "content": "python %d" % n})
        time.sleep(interval)


def refill_after_kill():
    daemon = Daemon(os.path.join(DIR, "restart"))
    try:
        with Publisher(FRONTEND, "pyrefill", wait_for_subscriber=15.0) as publisher:
            sender = threading.Thread(target=stream, args=(publisher, 1000, 0.004))
            sender.start()
            wait_for("the daemon to record 100 messages",
                     lambda: (daemon.figures(publisher.pub)[0] or {}).get("received", 0) >= 100)
            daemon.kill()
            killed_at = publisher.last_seq
            wait_for("100 more messages sent", lambda: publisher.last_seq >= killed_at + 100,
                     interval=0.01)
            daemon = Daemon(daemon.data_dir)
            sender.join()
            sent = publisher.last_seq
            figures = daemon.wait_settled(publisher.pub, sent)
            refilled, gaps = check_accounted(read_log(daemon.data_dir), publisher.pub, sent)
            if gaps:
                raise AssertionError("lost within the outbox: %r" % gaps)
            if len(refilled) < 100:
                raise AssertionError("only %d refilled" % len(refilled))
            if [figures["received"], figures["missing"], figures["refilled"]] != \
                    [sent, 0, len(refilled)]:
                raise AssertionError(figures)
        code, stats = cli_json("stats", "--data-dir", daemon.data_dir)
        mine = [p for p in stats["publishers"] if p["pub"] == publisher.pub]
        if code != 0 or mine != [{"pub": publisher.pub, "received": sent, "refilled": len(refilled),
                                  "missing": 0, "duplicates": 0}]:
            raise AssertionError((code, stats))
        print("after kill -9: %d sent, %d refilled, 0 lost" % (sent, len(refilled)), flush=True)
    finally:
        daemon.kill()


def late_joiner():
    data_dir = os.path.join(DIR, "late")
    with Publisher(FRONTEND, "pylate", outbox=40) as publisher:
        for n in range(1, 61):
            publisher.send("agent.pylate", {"n": n})  # nobody subscribes: lost on the bus
        daemon = Daemon(data_dir)
        try:
            # The daemon's subscription reaches the publisher, which says hello with last_seq 60.
            figures = daemon.wait_settled(publisher.pub, 60)
            refilled, gaps = check_accounted(read_log(data_dir), publisher.pub, 60)
            if refilled != list(range(21, 61)):
                raise AssertionError(refilled)
            explained = [[g["first_missing"], g["last_missing"], g["count"], g["reason"]]
                         for g in gaps]
            if explained != [[1, 20, 20, "outbox no longer holds it (oldest held: 21)"]]:
                raise AssertionError(explained)
            if [figures["received"], figures["missing"], figures["refilled"]] != [40, 20, 40]:
                raise AssertionError(figures)
        finally:
            daemon.kill()
    print("late joiner: 40 refilled, 20 explained", flush=True)


refill_after_kill()
late_joiner()
print("ok", flush=True)
