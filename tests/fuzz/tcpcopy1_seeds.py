#!/usr/bin/env python3
"""Write the seed corpus of fuzz_tcpcopy1 (tests/fuzz/corpus/fuzz_tcpcopy1/):
TCPCopy 1.0's dialect as docs/protocol.md section 15 has it. The first byte
picks the reader: 0 intercept's (version message, client messages), 1 the
copy daemon's (combined batches of 64-byte records)."""
import struct

from seed_corpus import write


def client(caddr, cport, mtype, taddr, tport):
    return bytes(caddr) + struct.pack(">HH", cport, mtype) + bytes(taddr) + struct.pack(">H", tport)


def record(flags=0x12, doff=6, total=44, options=b"\x02\x04\x05\xb4"):
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0,
                     bytes([198, 19, 0, 10]), bytes([198, 18, 0, 1]))
    tcp = struct.pack(">HHIIBBHHH", 80, 40000, 0x1a2b3c4d, 0x101, doff << 4, flags, 65160, 0, 0)
    return (ip + tcp + options).ljust(64, b"\0")


version = client([0] * 4, 0, 0x8005, [0] * 4, 0)
add = client([198, 18, 0, 1], 40000, 1, [198, 19, 0, 10], 80)
delete = client([198, 18, 0, 1], 40000, 2, [198, 19, 0, 10], 80)
seeds = {
    "intercept-version-add-del": b"\0" + version + add + delete,
    "intercept-doppel-hello": b"\0" + bytes.fromhex("0000001001000000"),
    "intercept-bad-type": b"\0" + version + client([198, 18, 0, 1], 1, 9, [198, 19, 0, 10], 80),
    "copy-one-synack": b"\1" + struct.pack(">H", 1) + record(),
    "copy-data-and-cut-option": b"\1" + struct.pack(">H", 2) + record(0x18, 5, 552, b"") +
    record(0x10, 15, 60, b"\x01" * 20 + b"\x1e\x08\xaa\xbb"),
    "copy-sixteen": b"\1" + struct.pack(">H", 16) + record() * 16,
    "copy-count-17": b"\1" + struct.pack(">H", 17),
}
write("fuzz_tcpcopy1", seeds)
