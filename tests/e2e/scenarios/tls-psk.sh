#!/usr/bin/env bash
# The channel on TLS 1.3 with a pre-shared key file (docs/protocol.md 2.1):
# the HTTP replay of tls-certs, every request arrives, and the key appears
# in no log.
. "$(dirname "$0")/../lib.sh"
scenario_begin tls-psk "$1"
# shellcheck source=../tls.sh
. "$E2E_DIR/tls.sh"
tls_make
tls_http_replay psk
