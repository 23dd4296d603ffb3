"""Publish on a shearwater bus with accounting: envelope, outbox, presence, resend.

One file, no dependency but pyzmq (Debian: python3-zmq). Copy it next to your agent.

    from shearwater_client import Publisher

    with Publisher("tcp://127.0.0.1:5559", "alice", wait_for_subscriber=2.0) as pub:
        pub.send("agent.alice", {"text": "hello"})   # JSON + "_shearwater": {"pub", "seq"}
        pub.send("agent.alice", "plain text")        # str/bytes go as they are, no seq

Every dict payload gets one top-level field ``"_shearwater": {"pub": id, "seq": n}``
(n = 1, 2, 3, ...; ``id`` = name + "/" + 6 random hex digits, new per Publisher). The last
``outbox`` enveloped messages are kept byte for byte; a recorder that missed some asks for them on
the publisher's ROUTER socket (``resend``, an ephemeral port on 127.0.0.1 by default), whose
address it learns from the presence messages on ``shearwater.presence`` (``hello`` when the first
subscription covering that topic arrives, ``alive`` every ``presence_interval`` seconds and when
another such subscription appears, ``bye`` on close). The protocol is described in the project's README ("Client libraries").

Threads: ``send`` may be called from any thread. A background thread answers resend requests and
sends ``alive``; every use of the publishing socket holds one lock.
"""

import binascii
import collections
import datetime
import json
import os
import sys
import threading
import time

import zmq

PRESENCE_TOPIC = "shearwater.presence"
ENVELOPE_FIELD = "_shearwater"
_POLL_MS = 50


class Publisher:
    """A publisher with envelope, outbox, presence and a resend endpoint.

    ``frontend``: the broker's frontend (XSUB side), e.g. ``tcp://127.0.0.1:5559``.
    ``name``: who publishes; the publisher id is ``name/`` + 6 random hex digits.
    ``outbox``: how many enveloped messages are kept for resend (default 10,000).
    ``presence_interval``: seconds between ``alive`` messages (default 5).
    ``resend``: where the ROUTER binds (default ``tcp://127.0.0.1:*``).
    ``wait_for_subscriber``: seconds to wait in the constructor until the broker reports a
    subscriber (ZeroMQ drops what is published before that: the slow joiner); 0 does not wait.
    """

    def __init__(self, frontend, name, outbox=10000, presence_interval=5.0,
                 resend="tcp://127.0.0.1:*", wait_for_subscriber=0.0, send_hwm=100000):
        if not isinstance(name, str) or not name:
            raise TypeError("Cannot open a publisher: name must be a non-empty string")
        if not isinstance(outbox, int) or outbox < 1:
            raise ValueError("Cannot keep an outbox of %r: it must be an integer >= 1" % (outbox,))
        self.name = name
        self.pub = "%s/%s" % (name, binascii.hexlify(os.urandom(3)).decode("ascii"))
        self.outbox_capacity = outbox
        self._outbox = collections.deque(maxlen=outbox)  # (seq, [frames]) oldest first
        self._last_seq = 0
        self._lock = threading.Lock()  # guards the XPUB socket, the outbox and the seq
        self._subscribed = threading.Condition(self._lock)
        self._subscriptions = set()
        self._hello_sent = False
        self._closed = False
        self._stop = threading.Event()
        self._presence_interval = float(presence_interval)
        self._context = zmq.Context()
        self._router = self._context.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a vanished requester raises
        self._router.setsockopt(zmq.SNDHWM, outbox * 2 + 100)  # a whole answer fits
        self._router.bind(resend)
        self.resend_endpoint = self._router.getsockopt(zmq.LAST_ENDPOINT).decode("ascii")
        self._xpub = self._context.socket(zmq.XPUB)
        self._xpub.setsockopt(zmq.LINGER, 2000)
        self._xpub.setsockopt(zmq.SNDHWM, send_hwm)
        # Every subscription, repeats included: after a broker restart the proxy subscribes
        # again on the same pipe (it lives across reconnects), and that repeat is what tells us
        # to announce ourselves to the new broker's subscribers.
        self._xpub.setsockopt(zmq.XPUB_VERBOSE, 1)
        self._xpub.connect(frontend)
        self._thread = threading.Thread(target=self._run, name="shearwater-publisher", daemon=True)
        self._thread.start()
        if wait_for_subscriber > 0:
            self.wait_for_subscriber(wait_for_subscriber)

    @property
    def last_seq(self):
        """Highest seq sent so far (0 when none)."""
        return self._last_seq

    def send(self, topic, payload):
        """Publish [topic, payload]; returns the seq of a dict payload, None for str/bytes.

        A dict is sent as JSON with the envelope added and kept in the outbox; str (UTF-8) and
        bytes are sent as they are, without envelope or seq.
        """
        topic_bytes = topic.encode("utf-8") if isinstance(topic, str) else bytes(topic)
        if topic_bytes == PRESENCE_TOPIC.encode("ascii"):
            raise ValueError('Cannot send on "%s": the publisher announces there' % PRESENCE_TOPIC)
        if isinstance(payload, str):
            body, enveloped = payload.encode("utf-8"), False
        elif isinstance(payload, (bytes, bytearray, memoryview)):
            body, enveloped = bytes(payload), False
        elif isinstance(payload, dict):
            if ENVELOPE_FIELD in payload:
                raise ValueError('Cannot send a payload with a "%s" field: it is added'
                                 % ENVELOPE_FIELD)
            enveloped = True
        else:
            raise TypeError("Cannot send this payload: it must be a dict, a str or bytes")
        with self._lock:
            if self._closed:
                raise RuntimeError("Cannot send on publisher %s: it is closed" % self.pub)
            if not enveloped:
                self._xpub.send_multipart([topic_bytes, body])
                return None
            seq = self._last_seq + 1
            message = dict(payload)
            message[ENVELOPE_FIELD] = {"pub": self.pub, "seq": seq}
            frames = [topic_bytes, json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")]
            self._outbox.append((seq, frames))
            self._last_seq = seq
            self._xpub.send_multipart(frames)
            return seq

    def wait_for_subscriber(self, timeout):
        """Wait up to ``timeout`` seconds until the broker reports a subscriber; True if one."""
        with self._subscribed:
            return self._subscribed.wait_for(lambda: self._subscriptions, timeout)

    def close(self):
        """Announce ``bye``, stop the background thread, close the sockets. Safe to repeat."""
        with self._lock:
            if self._closed:
                return
            self._send_presence_locked("bye")
            self._closed = True
        self._stop.set()
        self._thread.join()
        self._router.close()
        self._xpub.close()  # linger: queued messages get 2 s to leave
        self._context.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- background thread: resend answers, subscriptions, alive ------------------------------

    def _run(self):
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        next_alive = _now() + self._presence_interval
        while not self._stop.is_set():
            for _socket, _event in poller.poll(_POLL_MS):
                self._answer(self._router.recv_multipart())
            with self._lock:
                if self._closed:
                    break
                self._read_subscriptions_locked()
                if _now() >= next_alive:
                    next_alive = _now() + self._presence_interval
                    if self._hello_sent:
                        self._send_presence_locked("alive")

    def _read_subscriptions_locked(self):
        while self._xpub.poll(0, zmq.POLLIN):
            message = self._xpub.recv()
            if not message or message[0] not in (0, 1):
                continue
            topic = message[1:]
            if message[0] == 0:
                self._subscriptions.discard(topic)
                continue
            self._subscriptions.add(topic)
            self._subscribed.notify_all()
            if not PRESENCE_TOPIC.encode("ascii").startswith(topic):
                continue
            # Somebody new hears presence: tell them where to ask for what they missed.
            self._send_presence_locked("alive" if self._hello_sent else "hello")
            self._hello_sent = True

    def _send_presence_locked(self, kind):
        body = {
            "type": kind,
            "pub": self.pub,
            "name": self.name,
            "resend": self.resend_endpoint,
            "last_seq": self._last_seq,
            "outbox": self.outbox_capacity,
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        self._xpub.send_multipart([PRESENCE_TOPIC.encode("ascii"), json.dumps(body).encode("utf-8")])

    def _answer(self, frames):
        # [routing id(s)..., request]: a DEALER sends one frame, a REQ adds an empty delimiter.
        if len(frames) < 2:
            return
        route, request = frames[:-1], frames[-1]
        with self._lock:
            replies = answer_resend(request, self.pub, list(self._outbox), self._last_seq)
        try:
            for reply in replies:
                self._router.send_multipart(route + reply)
        except zmq.ZMQError as error:
            if error.errno != zmq.EHOSTUNREACH:  # "the requester is gone" needs no word
                sys.stderr.write("shearwater publisher %s: cannot answer a resend request: %s\n"
                                 % (self.pub, error))


def answer_resend(request, pub, outbox, newest):
    """The reply messages (lists of frames) to one resend request, ``done`` last.

    ``outbox`` is a list of (seq, frames), oldest first; ``newest`` the highest seq sent.
    """
    oldest = outbox[0][0] if outbox else None
    parsed = _parse_request(request)
    if isinstance(parsed, str):
        return [_done({"error": parsed})]
    first, last = parsed["from"], parsed["to"]
    summary = {"pub": parsed["pub"], "from": first, "to": last, "oldest": oldest,
               "newest": newest}
    if parsed["pub"] != pub:
        summary.update(sent=0, error="unknown pub")
        return [_done(summary)]
    replies = []
    if oldest is not None:
        for seq in range(max(first, oldest), min(last, newest) + 1):
            kept_seq, frames = outbox[seq - oldest]
            assert kept_seq == seq, "outbox seqs are consecutive"
            replies.append([b"msg", str(seq).encode("ascii")] + list(frames))
    summary["sent"] = len(replies)
    replies.append(_done(summary))
    return replies


def _parse_request(request):
    try:
        value = json.loads(request.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "request is not a JSON object"
    if not isinstance(value, dict):
        return "request is not a JSON object"
    if value.get("cmd") != "resend":
        return "unknown cmd %s" % json.dumps(value.get("cmd"))
    if not isinstance(value.get("pub"), str):
        return "pub must be a string"
    first, last = value.get("from"), value.get("to")
    if not _is_int(first) or not _is_int(last):
        return "from and to must be integers"
    if first < 1 or first > last:
        return "range must have 1 <= from <= to"
    return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _done(body):
    return [b"done", json.dumps(body).encode("utf-8")]


def _now():
    return time.monotonic()
