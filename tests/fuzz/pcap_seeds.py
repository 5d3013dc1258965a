#!/usr/bin/env python3
"""Write the seed corpus of fuzz_pcap (tests/fuzz/corpus/fuzz_pcap/).

Whole pcap and pcapng files, built here from the formats' public
descriptions (not with libpcap): raw IP, Ethernet and Linux cooked, both
byte orders and the nanosecond magic, and the damaged forms the daemon must
name the byte offset of (a record cut short, a record length of 0x7fffffff).
Run: tests/fuzz/pcap_seeds.py (from anywhere).
"""
import struct

import seed_corpus

RAW, EN10MB, SLL = 101, 1, 113


def tcp4(sport=40000, dport=80, payload=b"GET / HTTP/1.1\r\n\r\n"):
    total = 20 + 20 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, 6, 0,
                     bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1]))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x18, 65535, 0, 0)
    return ip + tcp + payload


def tcp6(payload=b"x"):
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    src = bytes([0x20, 0x01, 0, 2] + [0] * 11 + [2])
    dst = bytes([0x20, 0x01, 0, 2] + [0] * 11 + [1])
    return struct.pack("!IHBB", 6 << 28, 20 + len(payload), 6, 64) + src + dst + tcp + payload


def header(link, endian="<", magic=0xA1B2C3D4, snaplen=65535):
    return struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)


def record(data, sec=1, endian="<", caplen=None):
    n = len(data) if caplen is None else caplen
    return struct.pack(endian + "IIII", sec, 0, n, len(data)) + data


def ethernet(ip, ethertype=0x0800):
    return b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a" + struct.pack("!H", ethertype) + ip


def cooked(ip):
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\x00\x00\x00\x00\x0a\x00\x00", 0x0800) + ip


def pcapng(ip):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", RAW, 0, 65535))
    epb = block(6, struct.pack("<IIIII", 0, 0, 1, len(ip), len(ip)) + ip)
    return shb + idb + epb


ip = tcp4()
seeds = {
    "raw-two": header(RAW) + record(ip, 1) + record(tcp4(payload=b""), 2),
    "raw-ipv6": header(RAW) + record(tcp6(), 1),
    "ethernet": header(EN10MB) + record(ethernet(ip), 1),
    "cooked": header(SLL) + record(cooked(ip), 1),
    "big-endian": header(RAW, ">") + record(ip, 1, ">"),
    "nanoseconds": header(RAW, magic=0xA1B23C4D) + record(ip, 1),
    "pcapng": pcapng(ip),
    "truncated-data": header(RAW) + record(ip, 1) + record(ip, 2)[:30],
    "truncated-header": header(RAW) + record(ip, 1) + record(ip, 2)[:10],
    "length-7fffffff": header(RAW) + record(ip, 1) + record(ip, 2, caplen=0x7FFFFFFF),
    "snaplen-cut": header(RAW, snaplen=40) + record(ip[:40], 1, caplen=40),
    "header-only": header(RAW),
}
seed_corpus.write("fuzz_pcap", seeds)
