#!/usr/bin/env python3
"""A stand-in for systemd's notification socket, for tests/ops/run.sh.

Binds an AF_UNIX datagram socket at PATH, prints each message received
(one line per variable, prefixed by the message's number) to stdout, and
exits 0 once every wanted variable (default READY=1 and WATCHDOG=1) has
arrived, or 1 when TIMEOUT seconds pass first. The deadline only bounds the
wait; nothing is asserted on time.

usage: notify_listener.py PATH TIMEOUT [VAR=value ...]
"""
import os
import socket
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, timeout = sys.argv[1], float(sys.argv[2])
    wanted = set(sys.argv[3:] or ["READY=1", "WATCHDOG=1"])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    # The daemon may run as another user (--user nobody): let it send.
    os.chmod(path, 0o777)
    deadline = time.monotonic() + timeout
    count = 0
    while wanted:
        left = deadline - time.monotonic()
        if left <= 0:
            print("missing: " + " ".join(sorted(wanted)), flush=True)
            return 1
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        count += 1
        for line in data.decode("utf-8", "replace").split("\n"):
            if line:
                print("%d %s" % (count, line), flush=True)
                wanted.discard(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
