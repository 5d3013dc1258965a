# shellcheck shell=bash
# tls.sh — TLS material for the channel scenarios (tls-certs, tls-psk),
# made with the openssl command into $LAB_DIR/tls: a CA, the intercept's
# certificate naming $ADDR_ASSIST (what doppel-copy connects to and checks),
# doppel-copy's certificate, and a pre-shared key file. Keys and the PSK
# file are mode 0600, as the daemons demand. Sourced by those scenarios
# after scenario_begin.

TLS_DIR=
# These scenarios give the daemons their own TLS options (daemons.sh).
LAB_CHANNEL=none

# tls_make: everything above into $LAB_DIR/tls; TLS_DIR names it.
tls_make() {
	TLS_DIR=$LAB_DIR/tls
	mkdir -p "$TLS_DIR"
	(
		cd "$TLS_DIR" || exit 1
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -days 2 -subj /CN=doppel-e2e-ca || exit 1
		for who in intercept copy; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout $who.key -out $who.csr -subj "/CN=doppel-e2e-$who" || exit 1
		done
		printf 'subjectAltName=IP:%s\n' "$ADDR_ASSIST" >intercept.ext
		printf 'extendedKeyUsage=clientAuth\n' >copy.ext
		for who in intercept copy; do
			openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-days 2 -extfile $who.ext -out $who.pem || exit 1
		done
		printf 'doppel-e2e:%s\n' "$(openssl rand -hex 32)" >channel.psk
	) >>"$LAB_DIR/tls.log" 2>&1 || fail "openssl could not make the TLS files: $(tail -n 3 "$LAB_DIR/tls.log")"
}

# The options of each daemon for certificates, or for the PSK.
tls_cert_args() { echo --tls-cert "$TLS_DIR/$1.pem" --tls-key "$TLS_DIR/$1.key" --tls-ca "$TLS_DIR/ca.pem"; }
tls_psk_args() { echo --tls-psk-file "$TLS_DIR/channel.psk"; }

# tls_http_replay MODE: the HTTP replay with both daemons on TLS (MODE
# certificates or psk), judged request for request. Prints the verdict.
tls_http_replay() {
	local mode=$1 copy_args
	if [ "$mode" = psk ]; then
		read -ra INTERCEPT_EXTRA_ARGS <<<"$(tls_psk_args)"
		read -ra copy_args <<<"$(tls_psk_args)"
	else
		read -ra INTERCEPT_EXTRA_ARGS <<<"$(tls_cert_args intercept)"
		read -ra copy_args <<<"$(tls_cert_args copy)"
	fi
	http_lab 8080
	http_copy copy "$NS_ONLINE" 8080 "${copy_args[@]}"
	wait_until 15 stats_is copy intercept_connected 1 ||
		fail "doppel-copy did not get through the TLS handshake: $(grep -i tls "$LAB_DIR/copy.log" | tail -n 3)"
	grep -q "TLS established ($( [ "$mode" = psk ] && echo pre-shared key || echo certificates))" \
		"$LAB_DIR/intercept.log" || fail "intercept logged no TLS session with $mode"

	curl_each 100 "http://$HOST_ONLINE/each"
	curl_keepalive 100 "http://$HOST_ONLINE/kept"
	http_settle 60 copy
	http_judge
	[ "$(stats_get intercept tls_handshake_failures)" = 0 ] ||
		fail "intercept counted $(stats_get intercept tls_handshake_failures) failed handshakes"
	[ "$(stats_get copy intercept_tls_handshake_failures)" = 0 ] ||
		fail "doppel-copy counted failed handshakes"
	copy_stopped_clean copy
	lab_stop intercept || fail "doppel-intercept exited with status $? on SIGTERM"
	# Nothing secret in the logs.
	if [ "$mode" = psk ]; then
		! grep -qF "$(cut -d: -f2 "$TLS_DIR/channel.psk")" "$LAB_DIR"/*.log ||
			fail "the pre-shared key appears in a log"
	fi
	pass "$JUDGED requests arrived through a TLS 1.3 channel with $mode; $(copy_summary copy); intercept: $(stats_get intercept bytes_out) bytes out"
}
