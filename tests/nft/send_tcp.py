#!/usr/bin/env python3
"""send_tcp.py COUNT [FIRST [baddoff]] - the "target" of tests/nft/run.sh.

Sends COUNT TCP PSH|ACK segments 198.18.5.2:8080 -> 198.18.5.1:9 with a raw
socket, seq 1000 + 10 * i for i from FIRST (default 0), payload "doppel-NNN"
(10 bytes), valid checksums. "baddoff": a data offset of 15 (a 60-byte
header in a 30-byte segment), malformed for doppel's parser but still
matched by the rule. One pass over a bounded count; never another address.
"""
import socket
import struct
import sys

src, dst, sport, dport, count = "198.18.5.2", "198.18.5.1", 8080, 9, int(sys.argv[1])
first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
offset = 15 if len(sys.argv) > 3 and sys.argv[3] == "baddoff" else 5
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.bind((src, 0))
for i in range(first, first + count):
    payload = b"doppel-%03d" % (i % 1000)
    header = struct.pack("!HHIIBBHHH", sport, dport, 1000 + 10 * i, 1, offset << 4, 0x18, 512, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    header = header[:16] + struct.pack("!H", checksum(pseudo + header + payload)) + header[18:]
    try:
        s.sendto(header + payload, (dst, 0))
    except OSError as e:  # dropped at the target's own output hook: EPERM
        print("send_tcp: segment %d: %s" % (i, e), file=sys.stderr)
