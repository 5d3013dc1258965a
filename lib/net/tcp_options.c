/*
 * tcp_options.c — the TCP options area: reading it (RFC 9293 section 3.1,
 * RFC 7323, RFC 2018) and writing the options doppel sends.
 *
 * Reading is strict about shape: an option whose length byte is below 2,
 * runs past the area, or does not match its kind's fixed size makes the
 * whole packet suspect, and it is refused with a reason rather than half
 * understood. Unknown kinds with a sane length are skipped.
 */
#include "lib/net/tcp_options.h"

#include <string.h>

#include "lib/net/packet_bytes.h"

#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_WSCALE 3
#define OPT_SACK_PERMITTED 4
#define OPT_SACK 5
#define OPT_TIMESTAMP 8

#define OPT_MSS_LEN 4
#define OPT_WSCALE_LEN 3
#define OPT_SACK_PERMITTED_LEN 2
#define OPT_TIMESTAMP_LEN 10
#define OPT_SACK_BLOCK_LEN 8

/* RFC 7323 section 2.3: a shift above 14 is used as 14. Clamping here keeps
 * every user from shifting a window by up to 255 bits. */
#define WSCALE_MAX 14

/* Read the option at opt (olen bytes, already checked to fit the area). */
static int read_option(const uint8_t *opt, size_t olen, struct tcp_options *o,
		       const char **why)
{
	size_t blocks;

	switch (opt[0]) {
	case OPT_MSS:
		if (olen != OPT_MSS_LEN)
			return packet_fail(why, "tcp mss option length not 4");
		o->has_mss = true;
		o->mss = load_be16(opt + 2);
		return 0;
	case OPT_WSCALE:
		if (olen != OPT_WSCALE_LEN)
			return packet_fail(why, "tcp window scale option length not 3");
		o->has_wscale = true;
		o->wscale = opt[2] > WSCALE_MAX ? WSCALE_MAX : opt[2];
		return 0;
	case OPT_SACK_PERMITTED:
		if (olen != OPT_SACK_PERMITTED_LEN)
			return packet_fail(why, "tcp sack permitted option length not 2");
		o->sack_permitted = true;
		return 0;
	case OPT_TIMESTAMP:
		if (olen != OPT_TIMESTAMP_LEN)
			return packet_fail(why, "tcp timestamp option length not 10");
		o->has_timestamp = true;
		o->tsval = load_be32(opt + 2);
		o->tsecr = load_be32(opt + 6);
		return 0;
	case OPT_SACK:
		if ((olen - 2) % OPT_SACK_BLOCK_LEN || olen == 2)
			return packet_fail(why, "tcp sack option length not 2 + 8 * blocks");
		blocks = (olen - 2) / OPT_SACK_BLOCK_LEN;
		if (blocks > TCP_MAX_SACK_BLOCKS)
			return packet_fail(why, "tcp sack option with more than 4 blocks");
		o->sack_blocks = (uint8_t)blocks;
		for (size_t i = 0; i < blocks; i++) {
			o->sack[i].left = load_be32(opt + 2 + i * OPT_SACK_BLOCK_LEN);
			o->sack[i].right = load_be32(opt + 6 + i * OPT_SACK_BLOCK_LEN);
		}
		return 0;
	default:
		return 0;
	}
}

int packet_parse_tcp_options(const uint8_t *opt, size_t len,
			     struct tcp_options *o, const char **why)
{
	size_t i = 0;

	memset(o, 0, sizeof(*o));
	while (i < len) {
		size_t olen;

		if (opt[i] == OPT_EOL)	/* the rest is padding */
			return 0;
		if (opt[i] == OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return packet_fail(why, "tcp option has no length byte");
		olen = opt[i + 1];
		if (olen < 2)
			return packet_fail(why, "tcp option length < 2");
		if (olen > len - i)
			return packet_fail(why, "tcp option runs past the header");
		if (read_option(opt + i, olen, o, why))
			return -1;
		i += olen;
	}
	return 0;
}

size_t packet_tcp_options_size(const struct tcp_options *o)
{
	size_t n = 0;

	if (o->has_mss)
		n += 4;
	if (o->has_timestamp)
		n += 12;	/* with SACK permitted or two NOPs in front */
	if (o->has_wscale)
		n += 4;		/* NOP, window scale */
	if (o->sack_permitted && !o->has_timestamp)
		n += 4;		/* NOP, NOP, SACK permitted */
	return n;
}

/*
 * Linux's layout (tcp_options_write): every option starts on a 4-byte
 * boundary, SACK permitted rides in the two bytes in front of the timestamp
 * when both are there, NOPs fill the rest. Receivers have seen this layout
 * for decades, and it never needs trailing padding.
 */
size_t packet_tcp_options_write(uint8_t *out, const struct tcp_options *o)
{
	uint8_t *p = out;

	if (o->has_mss) {
		*p++ = OPT_MSS;
		*p++ = OPT_MSS_LEN;
		store_be16(p, o->mss);
		p += 2;
	}
	if (o->has_timestamp) {
		if (o->sack_permitted) {
			*p++ = OPT_SACK_PERMITTED;
			*p++ = OPT_SACK_PERMITTED_LEN;
		} else {
			*p++ = OPT_NOP;
			*p++ = OPT_NOP;
		}
		*p++ = OPT_TIMESTAMP;
		*p++ = OPT_TIMESTAMP_LEN;
		store_be32(p, o->tsval);
		store_be32(p + 4, o->tsecr);
		p += 8;
	}
	if (o->has_wscale) {
		*p++ = OPT_NOP;
		*p++ = OPT_WSCALE;
		*p++ = OPT_WSCALE_LEN;
		*p++ = o->wscale;
	}
	if (o->sack_permitted && !o->has_timestamp) {
		*p++ = OPT_NOP;
		*p++ = OPT_NOP;
		*p++ = OPT_SACK_PERMITTED;
		*p++ = OPT_SACK_PERMITTED_LEN;
	}
	return (size_t)(p - out);
}
