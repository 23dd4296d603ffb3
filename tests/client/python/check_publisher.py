"""Checks of clients/python/shearwater_client.py against a real broker, from Python.

Usage: check_publisher.py FRONTEND BACKEND   (run by tests/client/python_client_test.ts)
Real pyzmq SUB and DEALER sockets; prints "ok N" and exits 0, or fails with a traceback.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "clients", "python"))
sys.dont_write_bytecode = True

import zmq  # noqa: E402
from shearwater_client import ENVELOPE_FIELD, PRESENCE_TOPIC, Publisher  # noqa: E402

FRONTEND, BACKEND = sys.argv[1], sys.argv[2]
CONTEXT = zmq.Context()
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def subscriber(*topics):
    sub = CONTEXT.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(BACKEND)
    for topic in topics:
        sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
    return sub


def receive(sub, count, timeout=15.0):
    messages = []
    deadline = time.monotonic() + timeout
    while len(messages) < count:
        left = deadline - time.monotonic()
        check(left > 0, "only %d of %d messages arrived" % (len(messages), count))
        if sub.poll(int(left * 1000)):
            messages.append(sub.recv_multipart())
    return messages


def ask(endpoint, request):
    dealer = CONTEXT.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(endpoint)
    dealer.send(request.encode() if isinstance(request, str) else request)
    replies = []
    while True:
        check(dealer.poll(15000), "no answer to %r" % (request,))
        frames = dealer.recv_multipart()
        if frames[0] == b"done":
            replies.append(("done", json.loads(frames[1])))
            break
        check(frames[0] == b"msg", "unexpected reply %r" % frames[0])
        replies.append((int(frames[1]), frames[2:]))
    dealer.close()
    return replies


def resend(pub, first, last):
    return json.dumps({"cmd": "resend", "pub": pub.pub, "from": first, "to": last})


def envelope_and_presence():
    sub = subscriber("agent.", PRESENCE_TOPIC)
    with Publisher(FRONTEND, "py", outbox=50, presence_interval=0.1,
                   wait_for_subscriber=15.0) as pub:
        check(re.fullmatch(r"py/[0-9a-f]{6}", pub.pub), pub.pub)
        check(re.fullmatch(r"tcp://127\.0\.0\.1:\d+", pub.resend_endpoint), pub.resend_endpoint)
        seqs = [pub.send("agent.py", {"i": i, "text": "ünï"}) for i in range(1, 6)]
        check(seqs == [1, 2, 3, 4, 5], seqs)
        check(pub.send("agent.raw", "plain") is None, "str has no seq")
        check(pub.send(b"agent.raw", b"\x00\xff") is None, "bytes have no seq")
        for bad, error in (({ENVELOPE_FIELD: 1}, ValueError), ([1], TypeError)):
            try:
                pub.send("agent.py", bad)
                check(False, "accepted %r" % (bad,))
            except error:
                check(True, "")
        time.sleep(0.3)  # some alives
        sent = pub
    messages = receive(sub, 1)
    deadline = time.monotonic() + 15
    while not any(json.loads(m[1]).get("type") == "bye" for m in messages
                  if m[0] == PRESENCE_TOPIC.encode()):
        check(time.monotonic() < deadline, "no bye")
        if sub.poll(100):
            messages.append(sub.recv_multipart())
    sub.close()
    agent = [m for m in messages if m[0] != PRESENCE_TOPIC.encode()]
    bodies = [json.loads(m[1]) for m in agent[:5]]
    check(bodies == [{"i": i, "text": "ünï", ENVELOPE_FIELD: {"pub": sent.pub, "seq": i}}
                     for i in range(1, 6)], bodies)
    check(agent[5] == [b"agent.raw", b"plain"], agent[5])
    check(agent[6] == [b"agent.raw", b"\x00\xff"], agent[6])
    presences = [json.loads(m[1]) for m in messages if m[0] == PRESENCE_TOPIC.encode()]
    kinds = [p["type"] for p in presences]
    check(kinds[0] == "hello" and kinds[-1] == "bye" and "alive" in kinds, kinds)
    for presence in presences:
        check(presence["pub"] == sent.pub and presence["name"] == "py", presence)
        check(presence["resend"] == sent.resend_endpoint and presence["outbox"] == 50, presence)
        check(ENVELOPE_FIELD not in presence and presence["at"].endswith("Z"), presence)
    check(presences[-1]["last_seq"] == 5, presences[-1])


def resend_and_overflow():
    with Publisher("tcp://127.0.0.1:1", "solo", outbox=5) as pub:
        for i in range(1, 13):
            pub.send("agent.solo", {"i": i})
        everything = ask(pub.resend_endpoint, resend(pub, 1, 12))
        check([r[0] for r in everything] == [8, 9, 10, 11, 12, "done"], everything)
        for seq, frames in everything[:-1]:
            expected = json.dumps({"i": seq, ENVELOPE_FIELD: {"pub": pub.pub, "seq": seq}},
                                  separators=(",", ":")).encode()
            check(frames == [b"agent.solo", expected], frames)
        check(everything[-1][1] == {"pub": pub.pub, "from": 1, "to": 12, "oldest": 8,
                                    "newest": 12, "sent": 5}, everything[-1])
        part = ask(pub.resend_endpoint, resend(pub, 9, 10))
        check(part[:2] == everything[1:3], part)
        check(part[2][1]["sent"] == 2, part)
        gone = ask(pub.resend_endpoint, resend(pub, 2, 4))
        check(gone == [("done", {"pub": pub.pub, "from": 2, "to": 4, "oldest": 8,
                                 "newest": 12, "sent": 0})], gone)
        unknown = ask(pub.resend_endpoint,
                      json.dumps({"cmd": "resend", "pub": "x/000000", "from": 1, "to": 1}))
        check(unknown == [("done", {"pub": "x/000000", "from": 1, "to": 1, "oldest": 8,
                                    "newest": 12, "sent": 0, "error": "unknown pub"})], unknown)
        for bad in (b"\xff not json", "[1]", json.dumps({"cmd": "resend", "pub": pub.pub,
                                                          "from": 3, "to": 2}),
                    json.dumps({"cmd": "resend", "pub": pub.pub, "from": True, "to": 2}),
                    json.dumps({"cmd": "other", "pub": pub.pub, "from": 1, "to": 2})):
            answer = ask(pub.resend_endpoint, bad)
            check(len(answer) == 1 and isinstance(answer[0][1].get("error"), str), answer)
        check(len(ask(pub.resend_endpoint, resend(pub, 12, 12))) == 2, "still answering")
    pub.close()  # a second close is harmless
    try:
        pub.send("agent.solo", {"i": 13})
        check(False, "sent after close")
    except RuntimeError:
        check(True, "")


def late_joiner():
    agents = subscriber("agent.")
    with Publisher(FRONTEND, "late", presence_interval=600, wait_for_subscriber=15.0) as pub:
        first = subscriber(PRESENCE_TOPIC)
        pub.send("agent.late", {"n": 1})
        hello = json.loads(receive(first, 1)[0][1])
        check([hello["type"], hello["pub"]] == ["hello", pub.pub], hello)
        later = subscriber("")  # a recorder that joins late
        alive = json.loads(receive(later, 1)[0][1])
        check([alive["type"], alive["last_seq"], alive["resend"]]
              == ["alive", 1, pub.resend_endpoint], alive)
    for sub in (agents, first, later):
        sub.close()


envelope_and_presence()
resend_and_overflow()
late_joiner()
CONTEXT.term()
print("ok %d" % checks)
