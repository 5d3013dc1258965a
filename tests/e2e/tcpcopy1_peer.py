#!/usr/bin/env python3
"""A peer that speaks only TCPCopy 1.0's wire dialect, written from
docs/protocol.md section 15, for the tcpcopy-dialect scenario.

  tcpcopy INTERCEPT_ADDR PORT CLIENT TARGET TPORT
      A stand-in for a stock tcpcopy: connect to doppel-intercept, send the
      version message, add a route for CLIENT:cport -> TARGET:TPORT, send the
      target a SYN from CLIENT:cport (raw IP, so the target's SYN-ACK goes to
      the assistant), and check that the SYN-ACK comes back as a combined
      batch: u16 count, 64-byte records. Then RST the half-open connection
      and delete the route. Prints "ok ..." or exits 1 saying what was wrong.

  intercept LISTEN_PORT DEVICE SECONDS
      A stand-in for a stock intercept: accept one tcpcopy (doppel-copy
      --wire tcpcopy1), read its version message and 14-byte route messages,
      capture the target's answers on DEVICE (AF_PACKET) and send those of
      routed clients back as batches of at most 16 records. Runs SECONDS at
      most; prints what it saw on exit (SIGTERM).

Every loop is bounded in count or time; packets go only to the lab's
addresses given on the command line.
"""
import os
import random
import select
import signal
import socket
import struct
import sys
import time

MSG = struct.Struct(">4sHH4sH")  # 14 bytes
ADD, DEL = 1, 2
VERSION = 0x8005
RECORD = 64


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_packet(src, dst, sport, dport, seq, ack, flags):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack(">H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.randrange(65536), 0x4000,
                     64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack(">H", csum(ip)) + ip[12:]
    return ip + tcp


def record_of(pkt):
    """The 64-byte record of an IPv4 + TCP packet: 20 bytes of IP header,
    the TCP header with at most 24 bytes of options, zeros after."""
    ihl = (pkt[0] & 0xF) * 4
    doff = (pkt[ihl + 12] >> 4) * 4
    return (pkt[:20] + pkt[ihl:ihl + min(doff, 44)]).ljust(RECORD, b"\0")


def read_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise SystemExit("timed out waiting for %d bytes (have %d)" % (n, len(buf)))
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SystemExit("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def as_tcpcopy(icpt, port, client, target, tport):
    cport = random.randrange(20000, 30000)
    s = socket.create_connection((icpt, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(MSG.pack(b"\0" * 4, 0, VERSION, b"\0" * 4, 0))
    s.sendall(MSG.pack(socket.inet_aton(client), cport, ADD, socket.inet_aton(target), tport))
    time.sleep(0.3)  # the route first (doppel-intercept also holds early answers)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    isn = random.randrange(1 << 32)
    raw.sendto(tcp_packet(client, target, cport, tport, isn, 0, 0x02), (target, 0))
    deadline = time.monotonic() + 10
    count = struct.unpack(">H", read_exact(s, 2, deadline))[0]
    if not 1 <= count <= 16:
        raise SystemExit("batch count %d not in 1..16" % count)
    records = read_exact(s, count * RECORD, deadline)
    rec = records[:RECORD]
    ver_ihl, total, proto = rec[0], struct.unpack(">H", rec[2:4])[0], rec[9]
    src, dst = socket.inet_ntoa(rec[12:16]), socket.inet_ntoa(rec[16:20])
    sport, dport, seq, ack, off, flags = struct.unpack(">HHIIBB", rec[20:34])
    problems = []
    if ver_ihl >> 4 != 4 or proto != 6:
        problems.append("not IPv4 + TCP")
    if (src, sport, dst, dport) != (target, tport, client, cport):
        problems.append("record %s:%d > %s:%d" % (src, sport, dst, dport))
    if flags & 0x12 != 0x12:
        problems.append("flags 0x%02x, not SYN|ACK" % flags)
    if ack != (isn + 1) & 0xFFFFFFFF:
        problems.append("ack %d, not our ISN + 1" % ack)
    if total != 20 + (off >> 4) * 4:
        problems.append("total length %d for a header-only SYN-ACK" % total)
    doff = (off >> 4) * 4
    if any(rec[20 + min(doff, 44):]):
        problems.append("bytes after the TCP header are not zero")
    # Leave the target nothing half-open, and the route table clean.
    raw.sendto(tcp_packet(client, target, cport, tport, (isn + 1) & 0xFFFFFFFF, 0, 0x04),
               (target, 0))
    s.sendall(MSG.pack(socket.inet_aton(client), cport, DEL, socket.inet_aton(target), tport))
    time.sleep(0.2)
    s.close()
    if problems:
        raise SystemExit("; ".join(problems))
    print("ok: version message and route sent; %d record(s) back, the first the SYN-ACK "
          "%s:%d > %s:%d seq %d ack %d" % (count, src, sport, dst, dport, seq, ack))


def as_intercept(port, device, seconds):
    end = time.monotonic() + float(seconds)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(4)
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    cap.bind((device, 0))
    routes, conn, pending = set(), None, b""
    seen = {"version": None, "adds": 0, "dels": 0, "records": 0, "batches": 0}
    while not stop and time.monotonic() < end:
        socks = [ls, cap] + ([conn] if conn else [])
        ready = select.select(socks, [], [], 0.2)[0]
        if ls in ready:
            c, _ = ls.accept()
            if conn:
                conn.close()  # the newest connection owns the routes
            conn, pending = c, b""
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if conn and conn in ready:
            data = conn.recv(4096)
            if not data:
                conn.close()
                conn = None
                continue
            pending += data
            while len(pending) >= MSG.size:
                caddr, cport, mtype, taddr, tport = MSG.unpack(pending[:MSG.size])
                pending = pending[MSG.size:]
                if seen["version"] is None:
                    seen["version"] = mtype
                    if caddr != b"\0" * 4 or cport:
                        raise SystemExit("the first message is not a version message")
                elif mtype == ADD:
                    routes.add((caddr, cport))
                    seen["adds"] += 1
                elif mtype == DEL:
                    seen["dels"] += 1  # TCPCopy's intercept only logs it
                else:
                    raise SystemExit("message type %d" % mtype)
        if cap in ready:
            batch = []
            for _ in range(16):  # one batch at most per round
                try:
                    pkt = cap.recv(65535, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
                    continue
                ihl = (pkt[0] & 0xF) * 4
                dport = struct.unpack(">H", pkt[ihl + 2:ihl + 4])[0]
                if (pkt[16:20], dport) in routes:
                    batch.append(record_of(pkt))
            if batch and conn:
                conn.sendall(struct.pack(">H", len(batch)) + b"".join(batch))
                seen["records"] += len(batch)
                seen["batches"] += 1
    print("version %s, %d adds, %d deletes, %d records in %d batches" % (
        seen["version"], seen["adds"], seen["dels"], seen["records"], seen["batches"]))
    sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "tcpcopy":
        as_tcpcopy(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif len(sys.argv) == 5 and sys.argv[1] == "intercept":
        as_intercept(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
