"""The Python client across a broker restart: publishes, announces and answers afterwards.

Usage: check_broker_restart.py FRONTEND BACKEND. Prints "restart me" once the first messages are
through, waits for a line on stdin (the broker has been restarted), checks, prints "ok".
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "clients", "python"))
sys.dont_write_bytecode = True

import zmq  # noqa: E402
from shearwater_client import ENVELOPE_FIELD, Publisher  # noqa: E402

FRONTEND, BACKEND = sys.argv[1], sys.argv[2]
context = zmq.Context()


def subscriber():
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(BACKEND)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    return sub


def receive(sub):
    if not sub.poll(15000):
        raise AssertionError("nothing arrived")
    return sub.recv_multipart()


before = subscriber()
with Publisher(FRONTEND, "pyrestart", presence_interval=600, wait_for_subscriber=15.0) as pub:
    receive(before)  # hello: the subscription is through
    for n in range(1, 4):
        pub.send("agent.restart", {"n": n})
    print("restart me", flush=True)
    sys.stdin.readline()
    after = subscriber()  # a fresh subscriber on the new broker
    alive = json.loads(receive(after)[1])
    if [alive["type"], alive["last_seq"]] != ["alive", 3]:
        raise AssertionError(alive)
    pub.send("agent.restart", {"n": 4})
    got = json.loads(receive(after)[1])
    if got[ENVELOPE_FIELD]["seq"] != 4:
        raise AssertionError(got)
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(pub.resend_endpoint)
    dealer.send(json.dumps({"cmd": "resend", "pub": pub.pub, "from": 1, "to": 4}).encode())
    kinds = []
    while not kinds or kinds[-1] != b"done":
        if not dealer.poll(15000):
            raise AssertionError("no resend answer")
        frames = dealer.recv_multipart()
        kinds.append(frames[0] if frames[0] == b"done" else frames[1])
    if kinds != [b"1", b"2", b"3", b"4", b"done"]:
        raise AssertionError(kinds)
    for sock in (before, after, dealer):
        sock.close()
context.term()
print("ok", flush=True)
