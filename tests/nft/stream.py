#!/usr/bin/env python3
"""stream.py - one TCP stream for tests/nft/run.sh's GSO test.

  stream.py server ADDR PORT BYTES TIMEOUT
      accept one connection, wait for "go", send BYTES bytes, close.
  stream.py client ADDR PORT TIMEOUT
      connect, print "connected", wait for a line on stdin, send "go",
      read until the server closes or TIMEOUT seconds pass.

Every wait is bounded by TIMEOUT seconds; one connection, then exit.
"""
import socket
import sys


def server(addr, port, count, timeout):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((addr, port))
    listener.listen(1)
    listener.settimeout(timeout)
    connection, _ = listener.accept()
    connection.settimeout(timeout)
    connection.recv(2)
    try:
        connection.sendall(b"x" * count)
    except OSError:
        pass  # the test ends before the stream does: fine
    connection.close()


def client(addr, port, timeout):
    connection = socket.create_connection((addr, port), timeout=timeout)
    print("connected", flush=True)
    sys.stdin.readline()
    connection.sendall(b"go")
    try:
        while connection.recv(65536):
            pass
    except OSError:
        pass
    connection.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
