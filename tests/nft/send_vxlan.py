#!/usr/bin/env python3
"""send_vxlan.py COUNT VNI MAC - VXLAN-encapsulated TCP SYNs, for doppel-tunnel.

From the "assistant" of tests/nft/run.sh (198.18.5.1) to the target's VXLAN
port (198.18.5.2:4789): COUNT frames, each a VXLAN header with VNI (RFC
7348), an Ethernet header to MAC, and an IPv4 TCP SYN 198.18.77.1:(40000+i)
-> 198.18.5.2:8081 with valid checksums: a replayed client's packet as
doppel-copy --tunnel vxlan sends it. One pass over a bounded count; only to
198.18.5.2.
"""
import socket
import struct
import sys

count, vni, mac = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(":", ""))
src, dst = "198.18.77.1", "198.18.5.2"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    tcp = struct.pack("!HHIIBBHHH", 40000 + i, 8081, 1000, 0, 5 << 4, 0x02, 512, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    frame = mac + bytes.fromhex("02646f700002") + b"\x08\x00" + ip + tcp
    vxlan = struct.pack("!BBHI", 0x08, 0, 0, vni << 8)
    s.sendto(vxlan + frame, (dst, 4789))
