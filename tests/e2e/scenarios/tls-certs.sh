#!/usr/bin/env bash
# The channel on TLS 1.3 with mutual certificates (docs/protocol.md 2.1):
# made with openssl, the intercept's naming the assistant's address; 100
# one-shot requests and 100 on one kept-alive connection, replayed from port
# 80 to 8080, every one arrives; no handshake fails.
. "$(dirname "$0")/../lib.sh"
scenario_begin tls-certs "$1"
# shellcheck source=../tls.sh
. "$E2E_DIR/tls.sh"
tls_make
tls_http_replay certificates
