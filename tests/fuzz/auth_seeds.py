#!/usr/bin/env python3
"""Write the seed corpus of fuzz_auth (tests/fuzz/corpus/fuzz_auth/).

Whole logins built here from the protocols' documentation (PostgreSQL's
frontend/backend protocol, RFC 7677's SCRAM example; MySQL's protocol 10
handshake), in fuzz_auth's input format: a control byte (bit 0: MySQL,
bit 1: the password callback knows the user), then records of
u8 side (0 client, 1 target) | u8 length | bytes, long messages split.
Run: tests/fuzz/auth_seeds.py (from anywhere).
"""
import struct

from seed_corpus import write

CLIENT, TARGET = 0, 1


def records(control, steps):
    out = bytes([control])
    for side, data in steps:
        for i in range(0, len(data), 255):
            chunk = data[i:i + 255]
            out += bytes([side, len(chunk)]) + chunk
    return out


def pg_msg(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def pg_auth(code, data=b""):
    return pg_msg(b"R", struct.pack("!I", code) + data)


def pg_startup(user):
    body = struct.pack("!I", 196608) + b"user\0" + user + b"\0database\0db\0\0"
    return struct.pack("!I", len(body) + 4) + body


FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
FINAL = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"

pg_scram = [
    (CLIENT, pg_startup(b"user")),
    (TARGET, pg_auth(10, b"SCRAM-SHA-256\0\0")),
    (CLIENT, pg_msg(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(FIRST)) + FIRST)),
    (TARGET, pg_auth(11, SERVER_FIRST)),
    (CLIENT, pg_msg(b"p", FINAL)),
    (TARGET, pg_auth(12, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") + pg_auth(0)),
    (CLIENT, pg_msg(b"Q", b"SELECT 1;\0")),
]
pg_md5 = [
    (CLIENT, pg_startup(b"user")),
    (TARGET, pg_auth(5, b"\1\2\3\4")),
    (CLIENT, pg_msg(b"p", b"md5" + b"0" * 32 + b"\0")),
    (TARGET, pg_msg(b"E", b"SFATAL\0C28P01\0Mpassword authentication failed\0\0")),
]
pg_ssl = [
    (CLIENT, struct.pack("!II", 8, 80877103)),
    (TARGET, b"N"),
    (CLIENT, pg_startup(b"user")),
    (TARGET, pg_auth(3)),
    (CLIENT, pg_msg(b"p", b"secret\0")),
    (TARGET, pg_auth(0)),
]


def my_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


SCRAMBLE = bytes(range(0x30, 0x44))


def my_greeting(plugin):
    p = b"\x0a10.11.6-MariaDB\0" + b"\7\7\7\7" + SCRAMBLE[:8] + b"\0"
    p += b"\xfe\xf7\x08\x02\x00\xff\x81\x15" + b"\0" * 10 + SCRAMBLE[8:] + b"\0" + plugin + b"\0"
    return my_packet(0, p)


def my_response(caps, user, plugin):
    p = struct.pack("<IIB", caps, 1 << 24, 8) + b"\0" * 23 + user + b"\0"
    p += bytes([20]) + b"\xaa" * 20 + b"sbtest\0" + plugin + b"\0"
    return my_packet(1, p)


CAPS = 0x8 | 0x200 | 0x8000 | 0x80000
my_native = [
    (TARGET, my_greeting(b"mysql_native_password")),
    (CLIENT, my_response(CAPS, b"sbtest", b"mysql_native_password")),
    (TARGET, my_packet(2, b"\x00\x00\x00\x02\x00\x00\x00")),
    (CLIENT, my_packet(0, b"\x03SELECT 1")),
]
my_switch = [
    (TARGET, my_greeting(b"mysql_native_password")),
    (CLIENT, my_response(CAPS, b"sbtest", b"mysql_native_password")),
    (TARGET, my_packet(2, b"\xfecaching_sha2_password\0" + SCRAMBLE + b"\0")),
    (CLIENT, my_packet(3, b"\xbb" * 32)),
    (TARGET, my_packet(4, b"\x01\x03")),
    (TARGET, my_packet(5, b"\x00\x00\x00\x02\x00\x00\x00")),
]
my_full = [
    (TARGET, my_greeting(b"caching_sha2_password")),
    (CLIENT, my_response(CAPS, b"sbtest", b"caching_sha2_password")),
    (TARGET, my_packet(2, b"\x01\x04")),
    (TARGET, my_packet(4, b"\x01-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n")),
]
my_denied = [
    (TARGET, my_greeting(b"mysql_native_password")),
    (CLIENT, my_response(CAPS, b"sbtest", b"mysql_native_password")),
    (TARGET, my_packet(2, b"\xff\x15\x04#28000Access denied")),
]
my_ssl = [
    (TARGET, my_greeting(b"mysql_native_password")),
    (CLIENT, my_packet(1, struct.pack("<IIB", CAPS | 0x800, 1 << 24, 8) + b"\0" * 23)),
]

write("fuzz_auth", {
    "pg_scram": records(2, pg_scram),
    "pg_md5_wrong": records(2, pg_md5),
    "pg_ssl_refused": records(2, pg_ssl),
    "pg_unknown_user": records(0, pg_scram),
    "my_native": records(3, my_native),
    "my_switch": records(3, my_switch),
    "my_full_auth": records(3, my_full),
    "my_denied": records(3, my_denied),
    "my_ssl": records(3, my_ssl),
})
