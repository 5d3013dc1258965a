/*
 * pcap_live.h — a live libpcap handle opened the way both daemons want it
 * (doppel-copy's pcap capture backend, doppel-intercept's pcap source).
 *
 * Opened in immediate mode (each packet as it comes, not when a kernel
 * buffer fills: both sides drive a TCP conversation from what they read),
 * not promiscuous, non-blocking, with a selectable descriptor for the
 * loop, direction "in" where the kernel takes it, and the data-link type mapped
 * to packet.h's enum packet_dlt. What is read, counted and delivered stays
 * with the caller. Nothing here logs: errors are written into the caller's
 * buffer and name the device or the filter.
 */
#ifndef DOPPEL_PCAP_LIVE_H
#define DOPPEL_PCAP_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pcap/pcap.h>

#include "lib/net/packet_dlt.h"

struct pcap_live_config {
	const char *device;	/* NULL or "": "any" (every interface) */
	uint32_t snaplen;	/* bytes kept per packet */
	uint32_t buffer_bytes;	/* the kernel's buffer (ring) for the handle */
	const char *filter;	/* tcpdump expression; NULL or "": every packet */
	/* Both directions (doppel-copy --compare: the online server's answers
	 * leave this host): no direction "in"; what this host sends is told
	 * apart by pcap_live_is_outgoing(), from the Ethernet source address
	 * (the device's own) or the cooked header's packet type. Refused on
	 * data links that carry neither (raw IP). */
	bool both_directions;
};

struct pcap_live {
	pcap_t *handle;		/* NULL when not open */
	int fd;			/* selectable, non-blocking; -1 when not open */
	enum packet_dlt dlt;
	/* pcap_setdirection(PCAP_D_IN) was refused: what this host sends
	 * still arrives, and only the cooked header's packet type (on "any"
	 * or another cooked data link) can tell it apart; pcap_live_is_outgoing(). */
	bool check_direction;
	bool own_mac_known;	/* both_directions on Ethernet: */
	uint8_t own_mac[6];	/* the device's address, the source of what it sends */
};

/* Create, configure, activate and filter a live handle. 0, or -1 with err
 * naming what was refused: "nosuchdev0: no such device", "eth0:
 * permission denied (...)", "eth0: data-link type X not supported (...)",
 * "filter 'tcp portt 80': syntax error". On -1 nothing is left open. */
int pcap_live_open(struct pcap_live *live, const struct pcap_live_config *cfg,
		   char *err, size_t errlen);

/* Close the handle (if open); live can be opened again. */
void pcap_live_close(struct pcap_live *live);

/* The data-link type packet_parse_dlt() knows for a pcap DLT_* value: 0, or -1
 * when it is not one of EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6. */
int pcap_live_dlt_from_pcap(int pcap_dlt, enum packet_dlt *out);

/* Whether a frame read from live is one this host sent, to be left out.
 * Always false when the kernel filters the direction itself
 * (check_direction unset) and on raw IP; on Linux cooked v1/v2 frames, true
 * when the header says PACKET_OUTGOING; on Ethernet, true when the source
 * address is the device's own (own_mac_known: opened with both_directions).
 * A frame too short to carry the field is not outgoing. */
bool pcap_live_is_outgoing(const struct pcap_live *live, const uint8_t *frame, size_t len);

#endif
