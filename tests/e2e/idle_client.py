#!/usr/bin/env python3
"""A client with a long-lived connection: GET PATH?step=1 on one HTTP/1.1
connection, read the answer, stay silent IDLE seconds, then GET PATH?step=2
on the same connection. Usage: idle_client.py HOST PORT PATH IDLE."""
import http.client
import sys
import time

host, port, path, idle = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
conn = http.client.HTTPConnection(host, port, timeout=10)
for step in (1, 2):
    if step == 2:
        time.sleep(idle)
    conn.request("GET", "%s?step=%d" % (path, step))
    answer = conn.getresponse()
    body = answer.read()
    print("step %d: %d, %d bytes" % (step, answer.status, len(body)), flush=True)
    if answer.status != 200:
        sys.exit(1)
conn.close()
