#!/usr/bin/env python3
"""Write the seed corpora of fuzz_nfqueue and fuzz_kmod
(tests/fuzz/corpus/fuzz_nfqueue/, tests/fuzz/corpus/fuzz_kmod/).

The datagrams are laid out here from the kernel's headers alone
(linux/netfilter/nfnetlink_queue.h, include/uapi/doppel.h), the way
nfnetlink_queue and doppel.ko fill them, not with our parsers' code, so a
seed also checks that the two agree. The packets inside are real IPv4 and
IPv6 TCP headers with options and valid checksums.
Run: tests/fuzz/netlink_seeds.py (from anywhere).
"""
import ipaddress
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the seeds
from seed_corpus import write  # noqa: E402


# netlink / nfnetlink_queue
NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET = 3, 0
NFQA_PACKET_HDR, NFQA_MARK, NFQA_IFINDEX_INDEV = 1, 3, 5
NFQA_HWADDR, NFQA_PAYLOAD, NFQA_CAP_LEN, NFQA_SKB_INFO = 9, 10, 13, 14
NFQA_SKB_CSUMNOTREADY, NFQA_SKB_GSO = 1, 2
NF_INET_PRE_ROUTING, NF_INET_LOCAL_OUT = 0, 3
AF_INET, AF_INET6 = 2, 10
NLA_F_NESTED = 0x8000

# doppel.ko (include/uapi/doppel.h)
FAMILY = 0x1D  # fuzz_kmod.c's FUZZ_FAMILY
DOPPEL_CMD_SUMMARIES, DOPPEL_CMD_GET_STATS = 6, 5
DOPPEL_A_LOST, DOPPEL_A_SUMMARY, DOPPEL_A_LISTENER = 6, 7, 5
SUMMARY_HEADERS, SUMMARY_PAYLOAD_LEN, SUMMARY_PAYLOAD, SUMMARY_FLAGS = 1, 2, 3, 4
F_LOCAL_OUT = 0x2


def align(n):
    return (n + 3) & ~3


def attr(atype, payload):
    return (struct.pack("=HH", 4 + len(payload), atype) + payload).ljust(align(4 + len(payload)), b"\0")


def nlmsg(mtype, body, flags=0, seq=0, pid=0, length=None):
    n = 16 + len(body) if length is None else length
    return struct.pack("=IHHII", n, mtype, flags, seq, pid) + body


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp(src, dst, sport, dport, seq, ack, flags, options, payload, pseudo_len=None):
    hlen = 20 + len(options)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hlen // 4) << 4, flags, 65535, 0, 0)
    seg = head + options + payload
    length = len(seg) if pseudo_len is None else pseudo_len
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 6, length)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", length, 6)
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4(src, dst, segment, total=None, ident=1):
    src, dst = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    total = 20 + len(segment) if total is None else total
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0x4000, 64, 6, 0, src.packed, dst.packed)
    return head[:10] + struct.pack("!H", csum(head)) + head[12:] + segment


def ipv6(src, dst, segment, ext=b"", next_header=6, payload_length=None):
    src, dst = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    plen = len(ext) + len(segment) if payload_length is None else payload_length
    return struct.pack("!IHBB16s16s", 6 << 28, plen, next_header, 64, src.packed, dst.packed) + ext + segment


SYNACK_OPTIONS = bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10]) + struct.pack("!II", 7, 9) + bytes([1, 3, 3, 7])
TS_OPTIONS = bytes([1, 1, 8, 10]) + struct.pack("!II", 1000, 2000)
SACK_OPTIONS = bytes([1, 1, 5, 18]) + struct.pack("!IIII", 100, 200, 300, 400)
HTTP = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

V4S, V4C = "198.18.0.3", "198.18.0.1"
V6S, V6C = "2001:2::3", "2001:2::1"


def v4_packet(flags, options, payload, seq=1000):
    a, b = ipaddress.ip_address(V4S), ipaddress.ip_address(V4C)
    return ipv4(V4S, V4C, tcp(a, b, 8080, 40000, seq, 5000, flags, options, payload))


def v6_packet(flags, options, payload, ext=b""):
    a, b = ipaddress.ip_address(V6S), ipaddress.ip_address(V6C)
    seg = tcp(a, b, 8080, 40001, 3000, 6000, flags, options, payload)
    return ipv6(V6S, V6C, seg, ext, next_header=0 if ext else 6)


SYNACK4 = v4_packet(0x12, SYNACK_OPTIONS, b"")
DATA4 = v4_packet(0x18, TS_OPTIONS, HTTP)
SACK4 = v4_packet(0x10, SACK_OPTIONS, b"")
FIN4 = v4_packet(0x11, TS_OPTIONS, b"")
SYNACK6 = v6_packet(0x12, SYNACK_OPTIONS, b"")
DATA6 = v6_packet(0x18, TS_OPTIONS, HTTP)
# hop-by-hop header: next header TCP, 8 bytes, PadN
HOPBYHOP6 = v6_packet(0x10, TS_OPTIONS, b"x" * 10, ext=bytes([6, 0, 1, 4, 0, 0, 0, 0]))


# --- NFQUEUE ---------------------------------------------------------------

def queued(packet, family=AF_INET, queue=0, packet_id=1, hook=NF_INET_PRE_ROUTING, copy=None,
           cap_len=None, skb_info=0, with_header=True, with_payload=True):
    copied = packet if copy is None else packet[:copy]
    body = struct.pack("!BBH", family, 0, queue)
    if with_header:
        proto = 0x0800 if family == AF_INET else 0x86DD
        body += attr(NFQA_PACKET_HDR, struct.pack("!IHB", packet_id, proto, hook))
    body += attr(NFQA_MARK, struct.pack("!I", 0))
    body += attr(NFQA_IFINDEX_INDEV, struct.pack("!I", 7))
    body += attr(NFQA_HWADDR, struct.pack("!HH", 6, 0) + bytes.fromhex("020000000003") + b"\0\0")
    if skb_info:
        body += attr(NFQA_SKB_INFO, struct.pack("!I", skb_info))
    if cap_len is not None:
        body += attr(NFQA_CAP_LEN, struct.pack("!I", cap_len))
    if with_payload:
        body += attr(NFQA_PAYLOAD, copied)
    return nlmsg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET, body)


def gso_v4(total_payload):
    """A GSO packet past 64 KiB (BIG TCP): IP total length 0, headers copied."""
    a, b = ipaddress.ip_address(V4S), ipaddress.ip_address(V4C)
    seg = tcp(a, b, 8080, 40000, 1, 2, 0x10, TS_OPTIONS, b"", pseudo_len=0)
    return ipv4(V4S, V4C, seg, total=0)


def payload_into_padding():
    """The kernel leaves NFQA_PAYLOAD unpadded (nlmsg_len unaligned); this one's
    attribute claims one byte more than the message holds."""
    msg = bytearray(queued(DATA4, packet_id=14, copy=59, cap_len=len(DATA4))[:-1])
    struct.pack_into("=I", msg, 0, len(msg))
    payload_at = len(msg) - (4 + 59)
    struct.pack_into("=H", msg, payload_at, 4 + 60)
    return bytes(msg)


def attr_header_past_end():
    msg = queued(FIN4, packet_id=15, with_payload=False) + struct.pack("=HH", 4, NFQA_PAYLOAD)
    msg = bytearray(msg[:-3])
    struct.pack_into("=I", msg, 0, len(msg))
    return bytes(msg)


# copy range 128 + 60 + prefix, the payload prefix index picks 64 (control 0x0c)
NFQ_PREFIX64 = 3 << 2
NFQ_PREFIX0 = 0
NFQUEUE_SEEDS = {
    "synack-ipv4": bytes([NFQ_PREFIX0]) + queued(SYNACK4, packet_id=1),
    "data-ipv4-prefix": bytes([NFQ_PREFIX64]) + queued(DATA4, packet_id=2, copy=40 + 12 + 64,
                                                      cap_len=len(DATA4)),
    "sack-ipv4": bytes([NFQ_PREFIX0]) + queued(SACK4, packet_id=3),
    "synack-ipv6": bytes([NFQ_PREFIX0]) + queued(SYNACK6, family=AF_INET6, packet_id=4, queue=2),
    "data-ipv6-local-out": bytes([NFQ_PREFIX64]) + queued(DATA6, family=AF_INET6, packet_id=5,
                                                          hook=NF_INET_LOCAL_OUT,
                                                          skb_info=NFQA_SKB_CSUMNOTREADY),
    "hop-by-hop-ipv6": bytes([NFQ_PREFIX0]) + queued(HOPBYHOP6, family=AF_INET6, packet_id=6),
    "gso-big-tcp": bytes([NFQ_PREFIX0]) + queued(gso_v4(0), packet_id=7, cap_len=100000,
                                                skb_info=NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY),
    "two-packets": bytes([NFQ_PREFIX64]) + queued(FIN4, packet_id=8) + queued(DATA4, packet_id=9),
    "no-packet-header": bytes([NFQ_PREFIX0]) + queued(SYNACK4, with_header=False),
    "no-payload": bytes([NFQ_PREFIX0]) + queued(SYNACK4, packet_id=10, with_payload=False),
    "cut-in-headers": bytes([NFQ_PREFIX0]) + queued(SYNACK4, packet_id=11, copy=30,
                                                   cap_len=len(SYNACK4)),
    "truncated-second": bytes([NFQ_PREFIX0]) + queued(FIN4, packet_id=12) + queued(FIN4)[:40],
    # nlmsg_len past INT_MAX: libmnl's walk took it for a short one
    "length-past-int-max": bytes([NFQ_PREFIX0]) + queued(FIN4, packet_id=13)
    + nlmsg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET, b"\0" * 16, length=0x80000010),
    # found by this harness: NFQA_PAYLOAD claiming the padding past an unaligned nlmsg_len
    "payload-into-padding": bytes([NFQ_PREFIX0]) + payload_into_padding(),
    # found by this harness: an empty NFQA_PAYLOAD whose header ends past nlmsg_len
    "attr-header-past-end": bytes([NFQ_PREFIX0]) + attr_header_past_end(),
    "proc-line": bytes([2]) + b"    0  31337     0 2   252     0     0       14  1\n",
    "proc-line-big": bytes([2]) + b"65535 4294967295 65536 2 65535 12 3456 4294967295  1\n",
    "builders": bytes([3]) + struct.pack("=HHIIII", 5, 64, 65536, 42, 0xFFFFFFF0, 0x20),
}


# --- doppel.ko ---------------------------------------------------------------

def headers_of(packet):
    """IP and TCP headers of a packet, as DOPPEL_A_SUMMARY_HEADERS holds them."""
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 15) * 4
    else:
        ihl = 40
    return packet[:ihl + (packet[ihl + 12] >> 4) * 4]


def summary(packet, payload_len=None, prefix=b"", flags=0, headers=None):
    h = headers_of(packet) if headers is None else headers
    if payload_len is None:
        payload_len = len(packet) - len(h)
    body = attr(SUMMARY_HEADERS, h) + attr(SUMMARY_PAYLOAD_LEN, struct.pack("=I", payload_len))
    if prefix:
        body += attr(SUMMARY_PAYLOAD, prefix)
    body += attr(SUMMARY_FLAGS, struct.pack("=I", flags))
    return attr(DOPPEL_A_SUMMARY | NLA_F_NESTED, body)


def genl(cmd, attrs, family=FAMILY):
    return nlmsg(family, struct.pack("=BBH", cmd, 1, 0) + attrs)


def ipv6_headers_only(packet):
    """IPv6 as the module sends it: 40 bytes, next header TCP, extension headers left out."""
    ext_len = (packet[41] + 1) * 8
    seg = packet[40 + ext_len:]
    fixed = bytearray(packet[:40])
    fixed[6] = 6
    struct.pack_into("!H", fixed, 4, len(seg))
    return bytes(fixed) + seg


def summary_past_end():
    msg = bytearray(genl(DOPPEL_CMD_SUMMARIES, summary(FIN4) + summary(SYNACK4)))
    struct.pack_into("=I", msg, 0, len(msg) - 2)
    return bytes(msg[:-2])


KMOD_SEEDS = {
    "ipv4-batch": genl(DOPPEL_CMD_SUMMARIES, attr(DOPPEL_A_LOST, struct.pack("=I", 0))
                       + summary(SYNACK4) + summary(SACK4) + summary(FIN4)),
    "ipv4-prefix": genl(DOPPEL_CMD_SUMMARIES, attr(DOPPEL_A_LOST, struct.pack("=I", 3))
                        + summary(DATA4, prefix=HTTP[:16])),
    "ipv6-batch": genl(DOPPEL_CMD_SUMMARIES, summary(SYNACK6) + summary(DATA6, prefix=HTTP[:8])
                       + summary(ipv6_headers_only(HOPBYHOP6))),
    "gso-local-out": genl(DOPPEL_CMD_SUMMARIES, summary(gso_v4(0), payload_len=100000,
                                                        flags=F_LOCAL_OUT)),
    "two-messages": genl(DOPPEL_CMD_SUMMARIES, summary(FIN4))
    + genl(DOPPEL_CMD_SUMMARIES, attr(DOPPEL_A_LOST, struct.pack("=I", 1)) + summary(SYNACK6)),
    "stats-reply-ignored": genl(DOPPEL_CMD_GET_STATS, attr(DOPPEL_A_LISTENER, struct.pack("=I", 1))),
    "other-family-ignored": genl(DOPPEL_CMD_SUMMARIES, summary(FIN4), family=0x1E),
    "no-payload-len": genl(DOPPEL_CMD_SUMMARIES, attr(DOPPEL_A_SUMMARY | NLA_F_NESTED,
                                                      attr(SUMMARY_HEADERS, headers_of(FIN4)))),
    "truncated": genl(DOPPEL_CMD_SUMMARIES, summary(SYNACK4) + summary(FIN4))[:-10],
    "length-past-int-max": genl(DOPPEL_CMD_SUMMARIES, summary(FIN4))
    + nlmsg(FAMILY, b"\0" * 16, length=0x80000010),
    # found by this harness: payload bytes inside the headers attribute, and a
    # summary reaching past an unaligned nlmsg_len at the end of the datagram
    "headers-with-payload": genl(DOPPEL_CMD_SUMMARIES, summary(DATA4, headers=DATA4[:60],
                                                               payload_len=0)),
    "summary-past-end": summary_past_end(),
    "attr-header-past-end": nlmsg(FAMILY, struct.pack("=BBH", DOPPEL_CMD_SUMMARIES, 1, 0) + b"\x04"),
}




def main():
    write("fuzz_nfqueue", NFQUEUE_SEEDS)
    write("fuzz_kmod", KMOD_SEEDS)


if __name__ == "__main__":
    main()
