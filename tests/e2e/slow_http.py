#!/usr/bin/env python3
"""A slow backend for the e2e lab: answers every GET with FILE's bytes as
text/html after DELAY_MS, on 127.0.0.1:PORT, for at most SECONDS (then it
exits by itself). Used behind the target's nginx to make one path slower.

usage: slow_http.py PORT FILE DELAY_MS SECONDS
"""
import http.server
import sys
import threading
import time

port, path, delay_ms, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = open(path, "rb").read()


class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(delay_ms / 1000.0)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Slow)
threading.Timer(seconds, server.shutdown).start()
server.serve_forever()
