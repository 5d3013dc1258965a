/*
 * copy_options.h — doppel-copy's command line and --config file
 * (the contract: man/doppel-copy.8, OPTIONS; systemd/doppel-copy.conf).
 *
 * Parsing never logs and never exits: copy_options_parse() returns what to
 * do and fills err with "-x '...': what is wrong" (the option as the user
 * wrote it on the command line, or the config key with "FILE:LINE: " in
 * front), which main prints after "doppel-copy: " before exiting 2.
 *
 * The config file is read first, then the command line overrides it. An
 * option given twice keeps its last value; for the list options (-x, -s,
 * -c) the last occurrence replaces the whole list.
 */
#ifndef DOPPEL_COPY_OPTIONS_H
#define DOPPEL_COPY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/capture/capture.h"
#include "copy/compare/compare_options.h"
#include "copy/link/intercept_link.h"
#include "lib/runtime/daemon_options.h"
#include "lib/wire/wire_tls.h"
#include "lib/net/decap.h"
#include "lib/net/encap.h"
#include "lib/net/addr.h"

#define COPY_MAX_TRANSFERS 64
#define COPY_MAX_INTERCEPTS 16
#define COPY_MAX_CLIENT_ADDRS 65536
#define COPY_MAX_COPIES 1000
#define COPY_MAX_WORKERS 64

/* One -x item: clients' packets to [online_addr:]online_port are replayed
 * to target_addr:target_port. */
struct copy_transfer {
	bool has_online_addr;
	struct dp_addr online_addr;
	uint16_t online_port;
	struct dp_addr target_addr;
	uint16_t target_port;
	bool has_src_mac;		/* port@srcmac */
	uint8_t src_mac[6];
	bool has_next_hop_mac;		/* dstIP:dport@nexthopmac */
	uint8_t next_hop_mac[6];
};

/* -f N moves client ports by N * this (TCPCopy's factor << 11). */
#define COPY_INSTANCE_SHIFT 2048

struct copy_endpoint {
	struct dp_addr addr;
	uint16_t port;
	/* -s ADDR[:PORT]=WHAT[+WHAT...]: the targets and client ranges it
	 * serves (intercept_link.h); none: every session */
	struct intercept_serve serves[INTERCEPT_MAX_SERVES];
	size_t serve_count;
};

struct copy_options {
	struct copy_transfer transfers[COPY_MAX_TRANSFERS];
	size_t transfer_count;
	struct copy_endpoint intercepts[COPY_MAX_INTERCEPTS];
	size_t intercept_count;
	uint16_t intercept_port;	/* -p */
	unsigned intercept_conns;	/* -C: connections per intercept */
	bool wire_tcpcopy1;		/* --wire tcpcopy1: stock TCPCopy 1.0 intercepts */
	struct dp_addr *client_addrs;	/* -c, expanded; NULL when not given */
	size_t client_addr_count;
	unsigned copies;		/* -n */
	uint16_t port_shift;		/* --port-shift: spacing of -n copies */
	uint16_t instance;		/* -f: every client port + instance * 2048 */
	bool full_sessions_only;	/* -O: only sessions whose SYN was captured */
	bool lonely;			/* -L: accepted, TCPCopy's; doppel always is */
	unsigned accelerate;		/* -a: offline speed factor, TCPCopy's */
	bool offline_timing_given;	/* -a or -T (checked against --offline) */
	unsigned percent;		/* -r */
	unsigned percent_before;	/* the largest -r a SIGHUP replaced (0: none):
					 * connections begun under it go on */

	char *device;			/* -i; NULL = all */
	char *filter;			/* -F; NULL = built from -x */
	enum capture_kind capture_kind;	/* --capture, or CAPTURE_OFFLINE with --offline */
	uint32_t capture_ring_bytes;	/* --capture-ring (0: CAPTURE_RING_BYTES_DEFAULT) */
	bool no_tx_ring;		/* --tx-ring no: -o sends by sendmmsg batches */
	char *offline_file;
	double speed;
	unsigned repeat;
	char *output_device;		/* -o */
	struct encap_config tunnel;	/* --tunnel; kind ENCAP_NONE without */
	struct dp_addr tunnel_src4;	/* --tunnel-source, per family; family 0 */
	struct dp_addr tunnel_src6;	/* when not given */
	bool has_mirror;		/* --mirror: capture decapsulates */
	struct decap_config mirror;

	uint64_t session_timeout_ms;	/* -t */
	uint64_t keepalive_timeout_ms;	/* -k */
	uint64_t memory_bytes;		/* -m (split between --workers) */
	unsigned workers;		/* --workers: replaying processes (copy_workers.h) */
	/* Not options: set in each worker by copy_workers_start(). */
	unsigned worker_index;		/* 0 .. workers - 1 */
	uint16_t fanout_group;		/* the workers' PACKET_FANOUT group */
	uint16_t mtu;			/* -M */
	uint16_t mss;			/* -D; 0 = none */
	bool no_wait;			/* -W */
	unsigned pace_quiet_ms;		/* --pace-quiet D: the quiet period's floor */
	unsigned pace_quiet_rtts;	/* --pace-quiet D,N: its length in smoothed RTTs */
	struct compare_options compare;	/* --compare* (docs/compare.md) */

	/* -d, -l, -P, --log-level, --stats-file, --stats-interval, --user,
	 * --config: as doppel-intercept's */
	struct daemon_options common;

	/* --protocol PORT=NAME[,...]: sessions to these target ports have
	 * their login replayed by a protocol module (docs/stateful.md), with
	 * the passwords of --credentials. */
	struct engine_auth_port protocols[ENGINE_MAX_AUTH_PORTS];
	size_t protocol_count;
	char *credentials_file;

	/* The raw -s value, resolved against -p once everything is read. */
	char *intercept_list;

	/* --tls-cert, --tls-key, --tls-ca, --tls-psk-file: TLS 1.3 to the
	 * intercepts (docs/protocol.md section 2.1). */
	struct wire_tls_paths tls;
	/* --insecure-plaintext: the operator's explicit yes to a plain-text
	 * channel to a non-loopback intercept (copy_options_check_channel). */
	bool insecure_plaintext;
};

enum copy_options_result {
	COPY_OPTIONS_RUN,	/* options are valid: run */
	COPY_OPTIONS_HELP,	/* -h: print copy_options_usage() and exit 0 */
	COPY_OPTIONS_VERSION,	/* -v */
	COPY_OPTIONS_LIST_STATS, /* --list-stats: print the statistics' list, exit 0 */
	COPY_OPTIONS_ERROR,	/* err says what; exit 2 */
};

/* Parse argv (and the --config file it names) into *o, which this
 * initialises; free with copy_options_free() whatever the result. */
enum copy_options_result copy_options_parse(struct copy_options *o, int argc, char **argv,
					    char *err, size_t errlen);
void copy_options_free(struct copy_options *o);
const char *copy_options_usage(void);

/* The channel's default (docs/protocol.md section 2.1): plain text only to
 * loopback intercepts. Without --tls-* or --insecure-plaintext, an -s
 * address that is not loopback is refused: 0, or -1 with err saying how
 * to set up each way. Checked at start (exit 2), apart from the parse, so
 * that the option tests may name any address. */
int copy_options_check_channel(const struct copy_options *o, char *err, size_t errlen);

/* The tcpdump expression that captures the clients' packets of every -x
 * transfer. 0, or -1 when buf is too small. */
int copy_options_build_filter(const struct copy_options *o, char *buf, size_t len);

/* Parsers of the list options, exposed for the tests. Each fills err with
 * what is wrong, without the option's name. */
int copy_parse_protocols(const char *s, struct engine_auth_port *out, size_t max, size_t *count,
			 char *err, size_t errlen);
int copy_parse_transfers(const char *s, struct copy_transfer *out, size_t max, size_t *count,
			 char *err, size_t errlen);
int copy_parse_client_addrs(const char *s, struct dp_addr **out, size_t *count,
			    char *err, size_t errlen);
int copy_parse_intercepts(const char *s, uint16_t default_port, struct copy_endpoint *out,
			  size_t max, size_t *count, char *err, size_t errlen);

#endif
