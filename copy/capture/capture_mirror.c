/*
 * capture_mirror.c — decapsulating a traffic mirror in the capture path
 * (see capture_mirror.h).
 */
#include "copy/capture/capture_mirror.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net/packet.h"

struct capture_mirror {
	struct decap_config cfg;
	bool filtered;			/* an inner filter was given */
	struct bpf_program ether;	/* the inner filter for Ethernet frames */
	struct bpf_program raw;		/* ... and for IP packets */
	struct capture_mirror_counters counters;
};

/* Encapsulations inside encapsulations: at most this many levels. */
#define MIRROR_DEPTH_MAX 3

static void count_kind(struct capture_mirror *m, enum decap_kind kind)
{
	if (kind > 0 && kind < DECAP_KIND_COUNT)
		m->counters.decapsulated_kind[kind]++;
}

static int compile(const char *expr, int dlt, struct bpf_program *prog, char *err, size_t errlen)
{
	pcap_t *dead = pcap_open_dead(dlt, (int)CAPTURE_SNAPLEN_DEFAULT);

	if (!dead) {
		snprintf(err, errlen, "filter: libpcap cannot open a handle for data-link type %d", dlt);
		return -1;
	}
	if (pcap_compile(dead, prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter '%s' (for the mirrored packets): %s", expr,
			 pcap_geterr(dead));
		pcap_close(dead);
		return -1;
	}
	pcap_close(dead);
	return 0;
}

int capture_mirror_open(struct capture *c, const struct decap_config *cfg,
			const char *inner_filter, char *err, size_t errlen)
{
	struct capture_mirror *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "mirror: out of memory");
		return -1;
	}
	m->cfg = *cfg;
	if (inner_filter && *inner_filter) {
		if (compile(inner_filter, DLT_EN10MB, &m->ether, err, errlen) != 0) {
			free(m);
			return -1;
		}
		if (compile(inner_filter, DLT_RAW, &m->raw, err, errlen) != 0) {
			pcap_freecode(&m->ether);
			free(m);
			return -1;
		}
		m->filtered = true;
	}
	c->mirror = m;
	return 0;
}

void capture_mirror_deliver(struct capture *c, enum packet_dlt dlt, uint64_t ts_us,
			    const uint8_t *frame, size_t len)
{
	struct capture_mirror *m = c->mirror;
	struct decap_result r;
	struct packet p;
	const char *why;
	size_t ip_off;
	int rc;

	if (packet_dlt_ip_offset(dlt, frame, len, &ip_off, &why) != 0) {
		m->counters.not_encapsulated++;
		return;
	}
	rc = decap_inner(&m->cfg, frame + ip_off, len - ip_off, &r, &why);
	if (rc > 0) {
		m->counters.not_encapsulated++;
		return;
	}
	if (rc < 0) {
		m->counters.malformed++;
		c->counters.malformed++;
		return;
	}
	m->counters.decapsulated++;
	count_kind(m, r.kind);
	/* Nested: what came out may itself be an encapsulation --mirror takes,
	 * as AWS Traffic Mirroring through a Gateway Load Balancer sends it
	 * (outer GENEVE, inner VXLAN). doppel replays only TCP, so an inner
	 * UDP or GRE packet is never the payload: take it apart too, up to
	 * MIRROR_DEPTH_MAX levels in all. An inner one that does not parse as
	 * its encapsulation is left as it is (the filter or the parser says
	 * what becomes of it). */
	for (int depth = 1; depth < MIRROR_DEPTH_MAX; depth++) {
		struct decap_result nested;

		if (packet_dlt_ip_offset(r.dlt, r.inner, r.inner_len, &ip_off, &why) != 0 ||
		    decap_inner(&m->cfg, r.inner + ip_off, r.inner_len - ip_off, &nested, &why) != 0)
			break;
		count_kind(m, nested.kind);
		r = nested;
	}
	if (m->filtered) {
		struct pcap_pkthdr h;

		memset(&h, 0, sizeof(h));
		h.caplen = h.len = (bpf_u_int32)r.inner_len;
		if (!pcap_offline_filter(r.dlt == PACKET_DLT_ETHERNET ? &m->ether : &m->raw, &h,
					 r.inner)) {
			m->counters.filtered_out++;
			return;
		}
	}
	if (packet_parse_dlt(r.dlt, r.inner, r.inner_len, PACKET_TRUNCATED_OK, &p, &why) != 0) {
		c->counters.malformed++;
		return;
	}
	c->counters.packets++;
	c->counters.bytes += p.ip_total_len ? p.ip_total_len : r.inner_len;
	c->deliver(c->ctx, ts_us, &p);
}

const struct capture_mirror_counters *capture_mirror_counters(const struct capture *c)
{
	return c->mirror ? &((const struct capture_mirror *)c->mirror)->counters : NULL;
}

void capture_mirror_close(struct capture *c)
{
	struct capture_mirror *m = c->mirror;

	if (!m)
		return;
	if (m->filtered) {
		pcap_freecode(&m->ether);
		pcap_freecode(&m->raw);
	}
	free(m);
	c->mirror = NULL;
}
