#!/usr/bin/env python3
"""syn_flood.py COUNT DST DPORT [RATE] - the flood of tests/soak/flood.sh.

Sends COUNT TCP SYNs to DST:DPORT, each from its own address and port in
198.18.0.0/15 (198.18.1.0 up, leaving out the lab's 198.18.0.0/24 and the
-c range 198.19.200.0/24; the 128,768 addresses are reused with the next
source port when COUNT is larger), at most RATE a second (default: as fast
as it can). Raw IPv4 with the header built here (IPPROTO_RAW); the TCP
checksum is computed from precomputed sums. Refuses any destination outside
198.18.0.0/15. Bounded: COUNT packets, one pass. Prints how many it sent
and how long it took.
"""
import ipaddress
import socket
import struct
import sys
import time

count, dst, dport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
if ipaddress.ip_address(dst) not in ipaddress.ip_network("198.18.0.0/15"):
    sys.exit("syn_flood.py: %s is outside 198.18.0.0/15" % dst)

first = int(ipaddress.ip_address("198.18.1.0"))
last = int(ipaddress.ip_address("198.19.255.255"))
skip_lo = int(ipaddress.ip_address("198.19.200.0"))
skip_hi = int(ipaddress.ip_address("198.19.200.255"))
dst_bytes = socket.inet_aton(dst)


def fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


# The TCP header's constant words, and the pseudo header's: a SYN with
# seq 1, window 64240, an MSS option of 1460 (24 bytes of TCP header).
tcp_len = 24
base = fold(sum(struct.unpack("!2H", dst_bytes)) + 6 + tcp_len + dport + 0 + 1 +
            ((6 << 12) | 0x02) + 64240 + 0x0204 + 1460)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = 0
addr = first
sport = 10000
start = time.monotonic()
while sent < count:
    src = struct.pack("!I", addr)
    hi, lo = addr >> 16, addr & 0xFFFF
    csum = ~fold(base + hi + lo + sport) & 0xFFFF
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, 0, 0, 64, 6, 0, src, dst_bytes)
    tcp = struct.pack("!HHIIBBHHHBBH", sport, dport, 1, 0, 6 << 4, 0x02, 64240, csum, 0,
                      2, 4, 1460)
    try:
        s.sendto(ip + tcp, (dst, 0))
    except OSError:
        time.sleep(0.001)	# a full send buffer: try the next one later
        continue
    sent += 1
    addr += 1
    if addr == skip_lo:
        addr = skip_hi + 1
    if addr > last:
        addr = first
        sport += 1
    if rate and sent % 1000 == 0:
        ahead = sent / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
print("sent %d SYNs in %.1f s" % (sent, time.monotonic() - start))
