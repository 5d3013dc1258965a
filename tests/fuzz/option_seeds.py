#!/usr/bin/env python3
"""Write the seed corpora of fuzz_config, fuzz_copy_options and
fuzz_intercept_options (tests/fuzz/corpus/<harness>/).

Config seeds are the shipped config files (systemd/*.conf) as they are and
with every option line switched on, plus the grammar's corner cases. The
option seeds are command lines of the kind the lab, the units and the
man pages' EXAMPLES use, in the form argv_input.h reads: a byte with the
number of arguments, the arguments each ending in NUL, then the config file.
Run: tests/fuzz/option_seeds.py (from anywhere).
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the seeds
from seed_corpus import write  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIG_LINE_MAX = 4096


def shipped(name):
    with open(os.path.join(ROOT, "systemd", name), "rb") as f:
        return f.read()


def switched_on(text):
    """Every '#key = value' line of a shipped file, uncommented."""
    return re.sub(rb"(?m)^#([a-z][a-z-]* = )", rb"\1", text)


def argv_input(args, config=b""):
    return bytes([len(args)]) + b"".join(a.encode() + b"\0" for a in args) + config


COPY_CONF = shipped("doppel-copy.conf")
INTERCEPT_CONF = shipped("doppel-intercept.conf")

CONFIG_SEEDS = {
    "doppel-copy.conf": COPY_CONF,
    "doppel-copy.conf-on": switched_on(COPY_CONF),
    "doppel-intercept.conf": INTERCEPT_CONF,
    "doppel-intercept.conf-on": switched_on(INTERCEPT_CONF),
    "forms": b"a = 1\nb=2\nc 3\n\td\t=\t4 # four\n  # indented comment\n\ne = x#not-a-comment\n"
             b"f = inner  spaces kept\r\ng.h_i-j = =\n",
    "crlf-no-final-newline": b"transfer = 80-198.18.0.3:8080\r\nintercept = 198.18.0.4\r\nmtu = 1500",
    "reject": b"ok = 1\nreject = this line\nnever = reached\n",
    "reject-silently": b"# first\nreject-silently = yes\n",
    "no-value": b"key =   \n",
    "bad-key": b"k\xc3\xa9y = v\n",
    "nul-byte": b"key = va\0lue\n",
    "long-line": b"short = 1\nlong = " + b"y" * (CONFIG_LINE_MAX + 10) + b"\nafter = 2\n",
    "line-at-limit": b"k = " + b"z" * (CONFIG_LINE_MAX - 4) + b"\r\n",
}

COPY_SEEDS = {
    "lab": argv_input(["-x", "80-198.18.0.3:80", "-s", "198.18.0.4", "-P", "/tmp/r_copy.pid",
                       "--stats-file", "/tmp/stats.json", "--stats-interval", "1s"]),
    "long-names": argv_input(["--transfer=198.18.0.2:80-198.18.0.3:8080,443-198.18.0.3:8443",
                              "--intercept", "198.18.0.4:36524,[2001:2::4]:9000",
                              "--copies", "2", "--port-shift", "2048", "--percent", "50",
                              "--session-timeout", "2m", "--memory", "64m", "--mtu", "9000",
                              "--mss", "1400", "--no-wait", "--log-level", "debug"]),
    "ipv6": argv_input(["-x", "[2001:2::2]:80-[2001:2::3]:80", "-s", "2001:2::4",
                        "-c", "2001:2::10,2001:2::11"]),
    "client-ranges": argv_input(["-x", "80-198.18.0.3:80", "-s", "198.18.0.4",
                                 "-c", "198.18.10.x,198.18.11.5-9,198.18.12.1"]),
    "link-layer": argv_input(["-x", "80@02:00:00:00:00:01-198.18.0.3:80@02:00:00:00:00:02",
                              "-o", "veth0", "-s", "198.18.0.4", "-i", "eth0"]),
    "offline": argv_input(["-x", "80-198.18.0.3:80", "-s", "198.18.0.4",
                           "--offline", "/tmp/sample.pcap", "--speed", "2.5", "--repeat", "3",
                           "--capture", "pcap", "-F", "tcp dst port 80"]),
    "config": argv_input(["--config", "/etc/doppel/doppel-copy.conf", "-n", "3"],
                         switched_on(COPY_CONF)),
    "config-only": argv_input(["--config=x"],
                              b"transfer = 80-198.18.0.3:8080\nintercept = 198.18.0.4\n"
                              b"daemon = no\nno-wait = yes\n"),
    "help": argv_input(["-h"]),
    "version": argv_input(["--version"]),
    "clustered": argv_input(["-dWx80-198.18.0.3:80", "-s198.18.0.4", "-k0", "-t1000ms"]),
    "tcpcopy-habits": argv_input(["-x", "80-198.18.0.3:80", "-s", "198.18.0.4=198.18.0.3:80",
                                  "-m", "512", "-f", "3", "-O", "-L", "-C", "4",
                                  "--offline", "/tmp/d.pcap", "-a", "2", "-T", "3"]),
    "tcpcopy-refused": argv_input(["-x", "80-198.18.0.3:80", "-s", "198.18.0.4", "-g", "-R",
                                   "50", "-U", "4", "-H", "198.18.0.9"]),
    "wire-tcpcopy1": argv_input(["-x", "80-198.18.0.3:80", "-s",
                                 "198.18.0.4=198.18.1.0/24+198.18.0.3,198.18.0.5:36600",
                                 "--wire", "tcpcopy1", "--port-shift", "100"]),
}

INTERCEPT_SEEDS = {
    "nfqueue": argv_input(["--source", "nfqueue", "--queues", "0-3", "-q", "1024", "-p", "36524",
                           "-b", "198.18.0.4", "-x", "198.18.0.1,2001:2::1"]),
    "pcap": argv_input(["--source", "pcap", "-i", "eth0", "-F",
                        "tcp and src host 198.18.0.3 and src port 8080"]),
    "kmod": argv_input(["--source", "kmod", "--match", "198.18.0.3:8080", "--match", "443",
                        "--match", "[2001:2::3]:80", "--local-out", "--payload-prefix", "64"]),
    "lab": argv_input(["-P", "/tmp/r_icpt.pid", "--stats-file", "/tmp/s.json",
                       "--stats-interval", "500ms", "--log-level", "debug", "-l", "/tmp/i.log"]),
    "config": argv_input(["--config", "/etc/doppel/doppel-intercept.conf"],
                         switched_on(INTERCEPT_CONF)),
    "config-match-override": argv_input(["--config=x", "--match=8080"],
                                        b"source = kmod\nmatch = 198.18.0.3:80\nlocal-out = no\n"),
    "help": argv_input(["--help"]),
    "version": argv_input(["-v"]),
    "bad-filter": argv_input(["-F", "tcp and and"]),
    "tcpcopy-refused": argv_input(["-n", "8", "-s", "65536", "-D", "172.17.0.2-198.18.0.3", "-c"]),
}




def main():
    write("fuzz_config", CONFIG_SEEDS)
    write("fuzz_copy_options", COPY_SEEDS)
    write("fuzz_intercept_options", INTERCEPT_SEEDS)


if __name__ == "__main__":
    main()
