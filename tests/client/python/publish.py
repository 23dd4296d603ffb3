"""Publishes COUNT dict messages on TOPIC through FRONTEND with the Python client, then closes.

Usage: publish.py FRONTEND TOPIC COUNT   (prints the publisher id)
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "clients", "python"))
sys.dont_write_bytecode = True

from shearwater_client import Publisher  # noqa: E402

frontend, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Publisher(frontend, "pyagent", wait_for_subscriber=15.0) as publisher:
    for n in range(1, count + 1):
        publisher.send(topic, {"from": "pyagent", "n": n, "content": "python %d" % n})
    print(publisher.pub)
