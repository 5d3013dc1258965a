/*
 * packet_dlt.h — parsing a captured frame: skip its data-link header (a
 * pcap DLT), then packet_parse() (packet_dlt.c).
 */
#ifndef DOPPEL_PACKET_DLT_H
#define DOPPEL_PACKET_DLT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/net/packet.h"

/* Data-link types understood by packet_parse_dlt(). */
enum packet_dlt {
	PACKET_DLT_ETHERNET,	/* DLT_EN10MB: 14 bytes, 802.1Q/802.1ad tags skipped */
	PACKET_DLT_LINUX_SLL,	/* DLT_LINUX_SLL: 16 bytes */
	PACKET_DLT_LINUX_SLL2,	/* DLT_LINUX_SLL2: 20 bytes */
	PACKET_DLT_RAW,		/* DLT_RAW / no data-link header */
};

/* Skip the data-link header then packet_parse(). Non-IP frames are
 * rejected with a reason like the rest (and leave p unspecified); an
 * ethertype that disagrees with the IP version is refused too. */
int packet_parse_dlt(enum packet_dlt dlt, const uint8_t *buf, size_t len,
		     unsigned flags, struct packet *p, const char **why);

/* Where the frame's IP header starts, past the data-link header and any
 * VLAN tags, checked as packet_parse_dlt() checks it (an IP ethertype whose
 * version matches). 0 with *ip_off set, or -1 with why. */
int packet_dlt_ip_offset(enum packet_dlt dlt, const uint8_t *buf, size_t len, size_t *ip_off,
			 const char **why);

#endif
