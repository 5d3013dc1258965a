/*
 * source_pcap.c — responses read with libpcap live capture (-i, -F).
 *
 * For the set-up where the target routes its responses to the assistant
 * and the assistant's IP stack drops them (ip_forward off, no local
 * socket): capture does not swallow anything itself, it only watches. So
 * only packets coming in are taken (a response is never something the
 * assistant sends), and only the headers plus the payload prefix are
 * copied out of the kernel.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/pcap_live.h"
#include "intercept/source/source.h"
#include "lib/net/packet_dlt.h"

/* Data-link header (Ethernet with two VLAN tags: 22, Linux cooked v2: 20), an
 * IPv4 header with options (60) or IPv6 with ordinary extension headers,
 * and a TCP header with options (60): 256 leaves room for all of it. */
#define PCAP_HEADERS_SNAPLEN 256
#define PCAP_BUFFER_SIZE (8 * 1024 * 1024)
/* Packets per readable event, so the server's connections get a turn. */
#define PCAP_DISPATCH_BUDGET 512
#define PCAP_STATS_EVERY_MS 1000

struct pcap_source {
	struct source *source;
	struct loop *loop;
	/* Opened by lib/runtime/pcap_live.c: immediate mode (every response drives
	 * the copy side's TCP emulation: deliver it as it comes, not when a
	 * ring block fills), direction "in" where the kernel takes it. */
	struct pcap_live live;
	bool watching;		/* fd in the loop */
	uint64_t stats_read_ms;
};

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pcap_source *ps = (struct pcap_source *)arg;
	struct source *s = ps->source;
	struct packet p;
	const char *why;

	/* What this host sends is never a response. */
	if (pcap_live_is_outgoing(&ps->live, bytes, h->caplen))
		return;
	if (packet_parse_dlt(ps->live.dlt, bytes, h->caplen, PACKET_TRUNCATED_OK, &p, &why) < 0) {
		s->counters.malformed++;
		return;
	}
	s->counters.packets++;
	s->deliver(s->deliver_ctx, &p);
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct pcap_source *ps = arg;
	char why[PCAP_ERRBUF_SIZE + 32];

	/* Non-blocking: returns 0 when nothing is left. An error (the
	 * interface went away) would keep the fd ready forever: stop watching
	 * it and say so. */
	if (pcap_dispatch(ps->live.handle, PCAP_DISPATCH_BUDGET, on_packet, (u_char *)ps) != PCAP_ERROR)
		return;
	snprintf(why, sizeof(why), "capture failed: %s", pcap_geterr(ps->live.handle));
	loop_del_fd(l, fd);
	ps->watching = false;
	if (ps->source->fail)
		ps->source->fail(ps->source->fail_ctx, why);
}

static int pcap_source_open(struct source *s, struct loop *l, const struct source_config *cfg,
			    char *err, size_t errlen)
{
	struct pcap_live_config live_cfg = {
		.device = cfg->device,
		.snaplen = PCAP_HEADERS_SNAPLEN + cfg->payload_prefix,
		.buffer_bytes = PCAP_BUFFER_SIZE,
		.filter = cfg->filter ? cfg->filter : "tcp",
	};
	struct pcap_source *ps = calloc(1, sizeof(*ps));

	if (!ps) {
		snprintf(err, errlen, "pcap: out of memory");
		return -1;
	}
	ps->source = s;
	ps->loop = l;
	if (pcap_live_open(&ps->live, &live_cfg, err, errlen) < 0) {
		free(ps);
		return -1;
	}
	if (loop_add_fd(l, ps->live.fd, LOOP_READ, on_readable, ps) < 0) {
		snprintf(err, errlen, "pcap: watch the capture: %s", strerror(errno));
		pcap_live_close(&ps->live);
		free(ps);
		return -1;
	}
	ps->watching = true;
	s->priv = ps;
	return 0;
}

/* Kernel drops, read at most once a second: pcap_stats is a system call,
 * and the before-sleep hook runs every iteration. */
static void pcap_source_flush(struct source *s)
{
	struct pcap_source *ps = s->priv;
	struct pcap_stat st;
	uint64_t now = loop_now_ms(ps->loop);

	if (now - ps->stats_read_ms < PCAP_STATS_EVERY_MS)
		return;
	ps->stats_read_ms = now;
	if (pcap_stats(ps->live.handle, &st) == 0)
		s->counters.lost = (uint64_t)st.ps_drop + st.ps_ifdrop;
}

static void pcap_source_close(struct source *s)
{
	struct pcap_source *ps = s->priv;

	if (!ps)
		return;
	if (ps->watching)
		loop_del_fd(ps->loop, ps->live.fd);
	pcap_live_close(&ps->live);
	free(ps);
	s->priv = NULL;
}

const struct source_ops source_pcap_ops = {
	.name = "pcap",
	.open = pcap_source_open,
	.flush = pcap_source_flush,
	.close = pcap_source_close,
};
