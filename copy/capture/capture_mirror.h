/*
 * capture_mirror.h — doppel-copy on a collector of a traffic mirror
 * (--mirror): each captured frame is an encapsulated copy of another
 * host's packet (VXLAN, GENEVE, GRE, ERSPAN; lib/net/decap.h), taken out
 * of its encapsulation before it is parsed and delivered.
 *
 * Two filters: the kernel's (the backend's cfg->filter) selects the
 * encapsulation (decap_outer_filter(): "udp dst port 4789 ..."), since a
 * classic BPF program cannot follow a variable-length encapsulation to the
 * inner headers; the user's filter (built from -x, or -F) applies to the
 * inner frame, here in userspace, with libpcap's pcap_offline_filter()
 * over a program compiled for the inner frame's data-link type (Ethernet
 * or raw IP). A frame that is not an encapsulation we take is skipped,
 * one that is but is malformed is counted malformed. Encapsulations
 * nested inside (GENEVE in VXLAN, ...) are taken apart too, three levels
 * at most; each level counts in decapsulated_kind.
 */
#ifndef DOPPEL_CAPTURE_MIRROR_H
#define DOPPEL_CAPTURE_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "copy/capture/capture.h"
#include "lib/net/decap.h"

struct capture_mirror_counters {
	uint64_t decapsulated;		/* inner frames found */
	uint64_t decapsulated_kind[DECAP_KIND_COUNT];	/* each level, by enum decap_kind */
	uint64_t malformed;		/* encapsulations decap_inner() refused
					 * (also in the capture's malformed) */
	uint64_t not_encapsulated;	/* frames of another kind, skipped */
	uint64_t filtered_out;		/* inner frames the filter refused */
};

/* Compile inner_filter (NULL or "": everything) for both inner data-link
 * types and attach the mirror to c, before c->ops->open(). 0, or -1 with
 * err filled ("filter '...': syntax error"). */
int capture_mirror_open(struct capture *c, const struct decap_config *cfg,
			const char *inner_filter, char *err, size_t errlen);
/* Decapsulate one frame, filter and deliver its inner packet
 * (capture_deliver_frame() calls it when c has a mirror). */
void capture_mirror_deliver(struct capture *c, enum packet_dlt dlt, uint64_t ts_us,
			    const uint8_t *frame, size_t len);
const struct capture_mirror_counters *capture_mirror_counters(const struct capture *c);
/* After c->ops->close(). NULL mirror is fine. */
void capture_mirror_close(struct capture *c);

#endif
