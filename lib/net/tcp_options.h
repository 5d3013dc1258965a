/*
 * tcp_options.h — the TCP options doppel understands, read from and
 * written to a TCP header's options area (tcp_options.c).
 */
#ifndef DOPPEL_TCP_OPTIONS_H
#define DOPPEL_TCP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_MAX_SACK_BLOCKS 4

/* The TCP options doppel understands; the rest are skipped. */
struct tcp_options {
	bool has_mss, has_wscale, sack_permitted, has_timestamp;
	uint16_t mss;
	uint8_t wscale;		/* parsing clamps it to 14 (RFC 7323 section 2.3) */
	uint32_t tsval, tsecr;
	uint8_t sack_blocks;	/* number of valid entries in sack[] */
	struct { uint32_t left, right; } sack[TCP_MAX_SACK_BLOCKS];
};

/* Parse only the TCP options area (len bytes). Returns 0 or -1 with *why.
 * Unknown kinds are skipped; a length byte below 2 or past the area, or a
 * known kind of the wrong size, is refused. */
int packet_parse_tcp_options(const uint8_t *opt, size_t len,
			     struct tcp_options *o, const char **why);

/* The bytes packet_build() writes for o's options: 0 to 20, a multiple of 4. */
size_t packet_tcp_options_size(const struct tcp_options *o);
/* Write o's options as packet_build() does (see struct packet_spec) into
 * out, which has room for packet_tcp_options_size(o) bytes; returns that. */
size_t packet_tcp_options_write(uint8_t *out, const struct tcp_options *o);

#endif
