/*
 * intercept_options.h — doppel-intercept's command line and config file
 * (the contract: man/doppel-intercept.8, OPTIONS): parsed and checked in
 * full before anything is opened, so every bad value is refused at start.
 */
#ifndef DOPPEL_INTERCEPT_OPTIONS_H
#define DOPPEL_INTERCEPT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/daemon_options.h"
#include "intercept/server.h"
#include "intercept/source/source.h"
#include "lib/wire/wire_tls.h"

#define INTERCEPT_DEFAULT_QUEUE_MAXLEN 65536
#define INTERCEPT_MAX_PAYLOAD_PREFIX 16384
/* --queue-threads: reader threads for the nfqueue queues (at most one per
 * queue, checked by the source). */
#define INTERCEPT_MAX_QUEUE_THREADS 64
/* --route-payload: up to a whole packet, GRO/TSO packets of 64 KiB too
 * (only the compared or logged-in sessions ask for it, not every summary
 * as --payload-prefix); a record holds at most a frame's max body. */
#define INTERCEPT_MAX_ROUTE_PAYLOAD 65535
/* --route-payload: what a route may ask (ROUTE_PAYLOAD) by default; 256
 * is doppel.ko's default max_payload_prefix, and holds the greetings and
 * challenges of docs/stateful.md's protocols. */
#define INTERCEPT_DEFAULT_ROUTE_PAYLOAD 256
/* --hold-unrouted: long enough for a ROUTE_ADD that lost the race with its
 * SYN-ACK; the ceiling is the copy daemon's first SYN retransmission,
 * which recovers the session anyway. */
#define INTERCEPT_DEFAULT_HOLD_UNROUTED_MS 250
#define INTERCEPT_MAX_HOLD_UNROUTED_MS 1000

struct intercept_options {
	const char *source;		/* --source: "nfqueue", "pcap" or "kmod" */
	struct source_config source_cfg;
	struct server_config server_cfg;	/* port, bind, allow, payload_prefix */
	/* -d, -l, -P, --log-level, --stats-file, --stats-interval, --user,
	 * --config: as doppel-copy's */
	struct daemon_options common;
	/* storage for source_cfg's strings */
	char *device, *filter;
	bool matches_from_command_line;
	/* --tls-cert, --tls-key, --tls-ca, --tls-psk-file: TLS 1.3 with the
	 * copy daemons (docs/protocol.md section 2.1); read at start only. */
	struct wire_tls_paths tls;
	/* --insecure-plaintext: the operator's explicit yes to plain text on
	 * a non-loopback address to anyone (intercept_options_check_channel). */
	bool insecure_plaintext;
};

enum intercept_options_result {
	INTERCEPT_OPTIONS_RUN = 0,	/* go on */
	INTERCEPT_OPTIONS_EXIT = 1,	/* -h or -v was printed: exit 0 */
	INTERCEPT_OPTIONS_LIST_STATS = 2, /* --list-stats: print the list, exit 0 */
	INTERCEPT_OPTIONS_ERROR = -1,	/* err says what was wrong: exit 2 */
};

/* Defaults, then --config FILE's lines, then the command line over them.
 * err gets e.g. "-p '0': 0 is out of range 1..65535". */
enum intercept_options_result intercept_options_parse(struct intercept_options *o,
						      int argc, char **argv,
						      char *err, size_t errlen);
/* The channel's default (docs/protocol.md section 2.1): plain text only on
 * loopback. Listening on every address or on a non-loopback -b without
 * --tls-*, without a -x allowlist and without --insecure-plaintext is
 * refused: 0, or -1 with err saying how to set up each way. Checked at
 * start (exit 2) and on SIGHUP, apart from the parse, so that the option
 * tests may name any address. */
int intercept_options_check_channel(const struct intercept_options *o, char *err, size_t errlen);
void intercept_options_free(struct intercept_options *o);

#endif
