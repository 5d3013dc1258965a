#!/usr/bin/env python3
"""Listen on an sd_notify socket (the path in argv[1]) until a daemon sends
READY=1, at most argv[2] seconds. Prints every message; exit 0 on READY=1,
1 on timeout. The e2e lab starts a daemon with NOTIFY_SOCKET pointing here to
know when it is up, instead of sleeping."""
import os
import socket
import sys
import time

path, limit = sys.argv[1], float(sys.argv[2])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # appears only once bound
deadline = time.monotonic() + limit
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        print("notify_wait: no READY=1 within %g s" % limit, flush=True)
        sys.exit(1)
    sock.settimeout(left)
    try:
        message = sock.recv(4096).decode("utf-8", "replace")
    except socket.timeout:
        continue
    print("notify: " + message.replace("\n", " "), flush=True)
    if "READY=1" in message.split("\n"):
        sys.exit(0)
