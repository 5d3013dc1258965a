/*
 * capture_offline.c — replaying a pcap file with its own timing.
 *
 * Each round (--repeat N plays N rounds) starts when the previous one
 * ended; a packet is due (its stamp - the round's first stamp) / speed
 * after the round started, and a loop timer wakes us for it. A file whose
 * stamps go backwards plays those packets at once, in file order. Speed 0
 * plays as fast as possible, but at most BATCH packets per turn of the
 * loop, so the daemon still reads summaries, runs its timers and writes
 * its statistics while a large file plays.
 *
 * libpcap's packet from pcap_next_ex() stays valid until the next call,
 * so the one packet waiting for its time is kept where libpcap put it.
 *
 * A damaged file (a record cut short, a record length beyond the file's
 * snaplen) is libpcap's PCAP_ERROR from pcap_next_ex(), told apart from
 * the end of the file (PCAP_ERROR_BREAK). libpcap reads the file with
 * stdio, so ftell() before each record is that record's byte offset: the
 * error names it, the records before it are played, and no round follows.
 */
#include "copy/capture/capture.h"
#include "lib/net/packet_dlt.h"

#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 256

struct offline {
	struct loop *loop;
	pcap_t *handle;
	enum packet_dlt dlt;
	char *file;
	char *filter;
	double speed;
	unsigned repeat;	/* rounds to play */
	unsigned round;		/* rounds begun */
	uint64_t timer;		/* 0: none armed */
	bool started;		/* the current round has its start */
	uint64_t round_start_ms;
	uint64_t first_ts_us;	/* of the current round */
	/* The packet waiting for its time (valid until the next read). */
	bool pending;
	const struct pcap_pkthdr *header;
	const u_char *data;
};

static uint64_t stamp_us(const struct pcap_pkthdr *h)
{
	return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

/* Open file, check its header and data-link type, and set the filter. The
 * handle, or NULL with err filled. */
static pcap_t *open_pcap(const char *file, const char *filter, enum packet_dlt *dlt,
			 char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct bpf_program bpf;
	pcap_t *h;
	int r;

	h = pcap_open_offline(file, errbuf);
	if (!h) {
		/* libpcap names the file only when it cannot open it. */
		if (strstr(errbuf, file))
			snprintf(err, errlen, "%s", errbuf);
		else
			snprintf(err, errlen, "%s: %s", file, errbuf);
		return NULL;
	}
	if (capture_dlt_from_pcap(pcap_datalink(h), dlt) != 0) {
		const char *name = pcap_datalink_val_to_name(pcap_datalink(h));

		snprintf(err, errlen, "%s: data-link type %s not supported (Ethernet, Linux cooked, raw IP)",
			 file, name ? name : "unknown");
		pcap_close(h);
		return NULL;
	}
	if (!filter)
		return h;
	if (pcap_compile(h, &bpf, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter '%s': %s", filter, pcap_geterr(h));
		pcap_close(h);
		return NULL;
	}
	r = pcap_setfilter(h, &bpf);
	pcap_freecode(&bpf);
	if (r != 0) {
		snprintf(err, errlen, "filter '%s': %s", filter, pcap_geterr(h));
		pcap_close(h);
		return NULL;
	}
	return h;
}

static int open_file(struct offline *o, char *err, size_t errlen)
{
	o->handle = open_pcap(o->file, o->filter, &o->dlt, err, errlen);
	return o->handle ? 0 : -1;
}

int capture_offline_check(const char *file, const char *filter, char *err, size_t errlen)
{
	enum packet_dlt dlt;
	pcap_t *h;

	if (!file || !*file) {
		snprintf(err, errlen, "offline: no file given");
		return -1;
	}
	h = open_pcap(file, filter && *filter ? filter : NULL, &dlt, err, errlen);
	if (!h)
		return -1;
	pcap_close(h);
	return 0;
}

static void offline_free(struct offline *o)
{
	if (o->handle)
		pcap_close(o->handle);
	free(o->file);
	free(o->filter);
	free(o);
}

/* Read the next packet of the file, starting the next round at its end.
 * false when the last round is over, or the file is damaged or cannot be
 * read again (then c->error says why). */
static bool read_next(struct capture *c, struct offline *o)
{
	char err[PCAP_ERRBUF_SIZE + 64];

	for (;;) {
		long offset = ftell(pcap_file(o->handle));
		int r = pcap_next_ex(o->handle, (struct pcap_pkthdr **)&o->header, &o->data);

		if (r == 1) {
			o->pending = true;
			return true;
		}
		if (r != PCAP_ERROR_BREAK) {
			snprintf(c->error, sizeof(c->error),
				 "%s: damaged at byte offset %ld (round %u): %s", o->file, offset,
				 o->round, pcap_geterr(o->handle));
			return false;
		}
		if (o->round >= o->repeat)
			return false;
		pcap_close(o->handle);
		o->handle = NULL;
		if (open_file(o, err, sizeof(err)) != 0) {
			snprintf(c->error, sizeof(c->error), "round %u: %s", o->round + 1, err);
			return false;
		}
		o->round++;
		o->started = false;
	}
}

/* When the pending packet is due, in loop milliseconds. */
static uint64_t due_ms(struct offline *o, uint64_t now_ms)
{
	uint64_t ts = stamp_us(o->header);
	double delay_ms;

	if (!o->started) {
		o->started = true;
		o->round_start_ms = now_ms;
		o->first_ts_us = ts;
	}
	if (o->speed <= 0 || ts <= o->first_ts_us)
		return o->round_start_ms;
	delay_ms = (double)(ts - o->first_ts_us) / 1000.0 / o->speed;
	if (delay_ms > 1e15)	/* far beyond any run; keeps the sum finite */
		delay_ms = 1e15;
	return o->round_start_ms + (uint64_t)delay_ms;
}

static void play(struct loop *l, uint64_t timer_id, void *arg);

static void arm(struct capture *c, struct offline *o, uint64_t delay_ms)
{
	o->timer = loop_timer_add(o->loop, delay_ms, play, c);
}

/* Deliver what is due, at most BATCH packets, then wait for the next. */
static void play(struct loop *l, uint64_t timer_id, void *arg)
{
	struct capture *c = arg;
	struct offline *o = c->priv;
	uint64_t now = loop_now_ms(l);

	o->timer = 0;
	for (unsigned n = 0; n < BATCH; n++) {
		uint64_t due;

		if (!o->pending && !read_next(c, o)) {
			if (c->done)
				c->done(c->ctx);	/* may close c: touch nothing after */
			return;
		}
		due = due_ms(o, now);
		if (due > now) {
			arm(c, o, due - now);
			return;
		}
		o->pending = false;
		capture_deliver_frame(c, o->dlt, stamp_us(o->header), o->data, o->header->caplen);
	}
	arm(c, o, 0);
}

static int offline_open(struct capture *c, struct loop *l, const struct capture_config *cfg,
			char *err, size_t errlen)
{
	struct offline *o;

	if (!cfg->file || !*cfg->file) {
		snprintf(err, errlen, "offline: no file given");
		return -1;
	}
	if (!(cfg->speed >= 0) || isinf(cfg->speed)) {
		snprintf(err, errlen, "offline: speed %g: must be a finite number >= 0", cfg->speed);
		return -1;
	}
	o = calloc(1, sizeof(*o));
	if (!o || !(o->file = strdup(cfg->file)) ||
	    (cfg->filter && *cfg->filter && !(o->filter = strdup(cfg->filter)))) {
		snprintf(err, errlen, "offline: out of memory");
		if (o)
			offline_free(o);
		return -1;
	}
	o->loop = l;
	o->speed = cfg->speed;
	o->repeat = cfg->repeat ? cfg->repeat : 1;
	o->round = 1;
	if (open_file(o, err, errlen) != 0) {
		offline_free(o);
		return -1;
	}
	c->priv = o;
	/* Start from the loop, so done() never runs inside open(). */
	arm(c, o, 0);
	if (!o->timer) {
		snprintf(err, errlen, "offline: out of memory");
		c->priv = NULL;
		offline_free(o);
		return -1;
	}
	return 0;
}

static void offline_update_stats(struct capture *c)
{
	/* A file drops nothing. */
}

static void offline_close(struct capture *c)
{
	struct offline *o = c->priv;

	if (!o)
		return;
	if (o->timer)
		loop_timer_cancel(o->loop, o->timer);
	offline_free(o);
	c->priv = NULL;
}

const struct capture_ops capture_offline_ops = {
	.name = "offline",
	.open = offline_open,
	.update_stats = offline_update_stats,
	.close = offline_close,
};
