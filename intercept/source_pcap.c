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

#include "source.h"

/* Link header (Ethernet with two VLAN tags: 22, Linux cooked v2: 20), an
 * IPv4 header with options (60) or IPv6 with ordinary extension headers,
 * and a TCP header with options (60): 256 leaves room for all of it. */
#define PCAP_HEADERS_SNAPLEN 256
#define PCAP_BUFFER_SIZE (8 * 1024 * 1024)
/* Packets per readable event, so the server's connections get a turn. */
#define PCAP_DISPATCH_BUDGET 512
#define PCAP_STATS_EVERY_MS 1000
#define SLL_PACKET_OUTGOING 4	/* the cooked headers' packet type (pcap-linktype(7)) */

struct pcap_source {
	struct source *source;
	struct loop *loop;
	pcap_t *pcap;
	int fd;
	enum link_type link;
	/* pcap_setdirection() was refused: the cooked header's packet type
	 * is the only way left to skip what this host sends. */
	bool check_direction;
	bool watching;		/* fd in the loop */
	uint64_t stats_read_ms;
};

static bool is_outgoing(const struct pcap_source *ps, const uint8_t *frame, size_t len)
{
	if (!ps->check_direction)
		return false;
	if (ps->link == LINK_LINUX_SLL && len >= 2)
		return (frame[0] << 8 | frame[1]) == SLL_PACKET_OUTGOING;
	if (ps->link == LINK_LINUX_SLL2 && len >= 11)
		return frame[10] == SLL_PACKET_OUTGOING;
	return false;
}

static int link_from_dlt(int dlt, enum link_type *link)
{
	switch (dlt) {
	case DLT_EN10MB:
		*link = LINK_ETHERNET;
		return 0;
	case DLT_LINUX_SLL:
		*link = LINK_LINUX_SLL;
		return 0;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		*link = LINK_LINUX_SLL2;
		return 0;
#endif
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		*link = LINK_RAW;
		return 0;
	default:
		return -1;
	}
}

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pcap_source *ps = (struct pcap_source *)arg;
	struct source *s = ps->source;
	struct packet p;
	const char *why;

	if (is_outgoing(ps, bytes, h->caplen))
		return;
	if (packet_parse_link(ps->link, bytes, h->caplen, PACKET_TRUNCATED_OK, &p, &why) < 0) {
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
	if (pcap_dispatch(ps->pcap, PCAP_DISPATCH_BUDGET, on_packet, (u_char *)ps) != PCAP_ERROR)
		return;
	snprintf(why, sizeof(why), "capture failed: %s", pcap_geterr(ps->pcap));
	loop_del_fd(l, fd);
	ps->watching = false;
	if (ps->source->fail)
		ps->source->fail(ps->source->fail_ctx, why);
}

static int fail(char *err, size_t errlen, pcap_t *pcap, const char *what, const char *detail)
{
	snprintf(err, errlen, "pcap: %s: %s", what, detail ? detail : pcap_geterr(pcap));
	return -1;
}

static int pcap_setup(struct pcap_source *ps, const struct source_config *cfg,
		      char *err, size_t errlen)
{
	pcap_t *pcap = ps->pcap;
	const char *filter = cfg->filter ? cfg->filter : "tcp";
	struct bpf_program program;
	int r;

	pcap_set_snaplen(pcap, PCAP_HEADERS_SNAPLEN + cfg->payload_prefix);
	pcap_set_promisc(pcap, 0);
	/* Every response drives the copy side's TCP emulation: deliver it
	 * as it comes, not when a ring block fills. */
	pcap_set_immediate_mode(pcap, 1);
	pcap_set_buffer_size(pcap, PCAP_BUFFER_SIZE);
	r = pcap_activate(pcap);
	if (r < 0) {
		/* PCAP_ERROR carries its text in pcap_geterr; the others are codes */
		snprintf(err, errlen, "-i %s: %s", cfg->device ? cfg->device : "any",
			 r == PCAP_ERROR ? pcap_geterr(pcap) : pcap_statustostr(r));
		return -1;
	}
	if (link_from_dlt(pcap_datalink(pcap), &ps->link) < 0) {
		snprintf(err, errlen, "pcap: link type %s is not supported",
			 pcap_datalink_val_to_name(pcap_datalink(pcap)) ?: "(unknown)");
		return -1;
	}
	ps->check_direction = pcap_setdirection(pcap, PCAP_D_IN) != 0;
	if (pcap_compile(pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "-F '%s': %s", filter, pcap_geterr(pcap));
		return -1;
	}
	r = pcap_setfilter(pcap, &program);
	pcap_freecode(&program);
	if (r < 0)
		return fail(err, errlen, pcap, "set filter", NULL);
	if (pcap_setnonblock(pcap, 1, pcap_geterr(pcap)) < 0)
		return fail(err, errlen, pcap, "non-blocking", NULL);
	ps->fd = pcap_get_selectable_fd(pcap);
	if (ps->fd < 0) {
		snprintf(err, errlen, "pcap: no selectable file descriptor");
		return -1;
	}
	return 0;
}

static int pcap_source_open(struct source *s, struct loop *l, const struct source_config *cfg,
			    char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_source *ps = calloc(1, sizeof(*ps));
	const char *device = cfg->device ? cfg->device : "any";

	if (!ps) {
		snprintf(err, errlen, "pcap: out of memory");
		return -1;
	}
	ps->source = s;
	ps->loop = l;
	ps->pcap = pcap_create(device, pcap_err);
	if (!ps->pcap) {
		snprintf(err, errlen, "pcap: -i %s: %s", device, pcap_err);
		free(ps);
		return -1;
	}
	if (pcap_setup(ps, cfg, err, errlen) < 0)
		goto fail;
	if (loop_add_fd(l, ps->fd, LOOP_READ, on_readable, ps) < 0) {
		snprintf(err, errlen, "pcap: watch the capture: %s", strerror(errno));
		goto fail;
	}
	ps->watching = true;
	s->priv = ps;
	return 0;
fail:
	pcap_close(ps->pcap);
	free(ps);
	return -1;
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
	if (pcap_stats(ps->pcap, &st) == 0)
		s->counters.lost = (uint64_t)st.ps_drop + st.ps_ifdrop;
}

static void pcap_source_close(struct source *s)
{
	struct pcap_source *ps = s->priv;

	if (!ps)
		return;
	if (ps->watching)
		loop_del_fd(ps->loop, ps->fd);
	pcap_close(ps->pcap);
	free(ps);
	s->priv = NULL;
}

const struct source_ops source_pcap_ops = {
	.name = "pcap",
	.open = pcap_source_open,
	.flush = pcap_source_flush,
	.close = pcap_source_close,
};
