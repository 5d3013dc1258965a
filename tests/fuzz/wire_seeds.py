#!/usr/bin/env python3
"""Write the seed corpus of fuzz_wire (tests/fuzz/corpus/fuzz_wire/).

The frames are built here from docs/protocol.md alone, not with lib/wire's
encoders, so the seeds double as a check that the two agree. Each seed is
fuzz_wire's input: a control byte, chunk sizes, then the stream.
Run: tests/fuzz/wire_seeds.py (from anywhere).
"""
import ipaddress
import os
import struct

HELLO, ROUTE_ADD, ROUTE_DEL, SUMMARIES, HEARTBEAT, ERROR = range(1, 7)
COPY, INTERCEPT = 1, 2


def frame(ftype, body):
    return struct.pack("!IBBH", len(body), ftype, 0, 0) + body


def hello(role, features=3, max_body=65536):
    return frame(HELLO, b"DPPL" + struct.pack("!HHII", 1, role, features, max_body))


def routes(ftype, *items):
    body = b""
    for client, cport, target, tport in items:
        c, t = ipaddress.ip_address(client), ipaddress.ip_address(target)
        assert c.version == t.version
        body += struct.pack("!BBHHH", c.version, 0, cport, tport, 0)
        body += c.packed.ljust(16, b"\0") + t.packed.ljust(16, b"\0")
    return frame(ftype, body)


def heartbeat(clock_ms):
    return frame(HEARTBEAT, struct.pack("!Q", clock_ms))


def error(code, msg):
    return frame(ERROR, struct.pack("!HH", code, 0) + msg.encode())


def tcp_header(sport, dport, seq, ack, flags):
    # 20 bytes + NOP NOP timestamp(10) = 32 bytes, data offset 8
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 8 << 4, flags, 65535, 0, 0) + \
        bytes([1, 1, 8, 10]) + struct.pack("!II", 1000, 2000)


def ipv4_summary(payload_len, prefix=b""):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 32 + payload_len, 1, 0x4000, 64, 6, 0,
                     bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    data = ip + tcp_header(80, 40000, 1, 2, 0x18) + prefix
    return struct.pack("!BBHI", 1 if prefix else 0, 0, len(data), payload_len) + data


def ipv6_summary(payload_len):
    ip = struct.pack("!IHBB16s16s", 6 << 28, 32 + payload_len, 6, 64,
                     ipaddress.ip_address("2001:db8::1").packed,
                     ipaddress.ip_address("2001:db8::2").packed)
    data = ip + tcp_header(443, 5555, 7, 8, 0x10)
    return struct.pack("!BBHI", 0, 0, len(data), payload_len) + data


def summaries(*records):
    return frame(SUMMARIES, struct.pack("!HH", len(records), 0) + b"".join(records))


def seed(stream, control=0, sizes=b""):
    assert len(sizes) == control >> 3
    return bytes([control]) + sizes + stream


copy_stream = (hello(COPY)
               + routes(ROUTE_ADD, ("198.18.0.1", 40000, "198.19.0.10", 80),
                        ("2001:db8::1", 5555, "2001:db8::2", 443))
               + heartbeat(123456789)
               + routes(ROUTE_DEL, ("198.18.0.1", 40000, "198.19.0.10", 80))
               + error(5, "doppel-copy stopping"))
intercept_stream = (hello(INTERCEPT)
                    + summaries(ipv4_summary(0), ipv6_summary(1200), ipv4_summary(300, b"HTTP/1.1 200"))
                    + heartbeat(42))
seeds = {
    "copy_stream": seed(copy_stream),
    "copy_stream_split": seed(copy_stream, (3 << 3) | 4 | COPY, bytes([0, 6, 12])),
    "intercept_stream": seed(intercept_stream),
    "intercept_stream_split": seed(intercept_stream, (2 << 3) | INTERCEPT, bytes([2, 254])),
    "error_first": seed(error(6, "too many connections") + hello(INTERCEPT) + heartbeat(1)),
}
where = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_wire")
os.makedirs(where, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(where, name), "wb") as f:
        f.write(data)
