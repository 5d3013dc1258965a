/*
 * source.h — where doppel-intercept gets the target's responses from.
 *
 * A source swallows matched responses (they must never travel on toward
 * the real clients) and hands each one, parsed, to the router through
 * source_deliver_fn. Three sources implement it: nfqueue (source_nfqueue.c),
 * pcap (source_pcap.c) and the kernel module (source_kmod.c).
 */
#ifndef DOPPEL_SOURCE_H
#define DOPPEL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/loop.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"

struct source;

/* Called once per response. p->l3 points at the IP header; at least
 * p->ip_header_len + p->tcp_header_len bytes are readable there, followed
 * by p->payload_present bytes of payload (the prefix, if one was copied).
 * p->payload_len is the original payload length. Valid only during the call. */
typedef void (*source_deliver_fn)(void *ctx, const struct packet *p);

/* Called (at most once) when the source can deliver nothing more — its
 * device went away, its socket broke — with why as one line. The daemon
 * logs it and stops (a supervisor restarts it). The source stops watching
 * its fds before calling, so the loop does not spin on a dead one. */
typedef void (*source_fail_fn)(void *ctx, const char *why);

/* A kernel-side match: responses from addr:port (addr family 0 = any
 * address, port 0 = any port). */
struct source_match {
	struct dp_addr addr;
	uint16_t port;
};

#define SOURCE_MAX_MATCHES 64

struct source_config {
	/* nfqueue */
	uint16_t queue_first, queue_last;	/* --queues A-B */
	uint32_t queue_maxlen;			/* -q */
	uint16_t queue_threads;			/* --queue-threads: 0 = in the event loop */
	/* pcap */
	const char *device;			/* -i, NULL = any */
	const char *filter;			/* -F, tcpdump syntax */
	/* all: bytes of payload to keep after the TCP header (0 = headers only) */
	uint16_t payload_prefix;
	/* kmod: rules from the command line */
	struct source_match matches[SOURCE_MAX_MATCHES];
	size_t match_count;
	bool local_out;				/* kmod: hook LOCAL_OUT (on the target) */
};

/* Per-source counters, read for the daemon's statistics. */
struct source_counters {
	uint64_t packets;	/* responses delivered */
	uint64_t malformed;	/* rejected by the parser (and still dropped) */
	uint64_t lost;		/* known lost before we saw them (ENOBUFS, queue full, ring drops) */
	uint64_t verdicts;	/* verdicts sent (nfqueue) */
};

struct source_ops {
	const char *name;
	/* Open and register fds with l. 0, or -1 with err filled. */
	int (*open)(struct source *s, struct loop *l, const struct source_config *cfg,
		    char *err, size_t errlen);
	/* May be NULL. The options alone, checked before anything opens (a
	 * conflict is a bad option, exit 2): 0, or -1 with err filled. open()
	 * checks them again. */
	int (*check)(const struct source_config *cfg, char *err, size_t errlen);
	/* May be NULL. Called once, after open() and after privileges are
	 * dropped (a thread started then has the capabilities the daemon
	 * kept, and no more): start reader threads. 0, or -1 with err. */
	int (*start)(struct source *s, char *err, size_t errlen);
	/* Called before the loop sleeps: send batched verdicts and the like,
	 * and bring counters up to date. */
	void (*flush)(struct source *s);
	void (*close)(struct source *s);
	/* May be NULL. Each queue's own counters (nfqueue), for the metrics'
	 * per-queue labels. */
	void (*each_queue)(struct source *s,
			   void (*fn)(void *ctx, uint16_t queue, const struct source_counters *c),
			   void *ctx);
};

struct source {
	const struct source_ops *ops;
	source_deliver_fn deliver;
	void *deliver_ctx;
	source_fail_fn fail;	/* may be NULL */
	void *fail_ctx;
	struct source_counters counters;
	void *priv;	/* the implementation's state */
};

extern const struct source_ops source_nfqueue_ops;
extern const struct source_ops source_pcap_ops;
extern const struct source_ops source_kmod_ops;

/* Look up a source by name ("nfqueue", "pcap", "kmod"); NULL if unknown. */
const struct source_ops *source_find(const char *name);

#endif
