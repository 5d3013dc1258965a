/*
 * checksum.c — the Internet checksum (RFC 1071), the TCP pseudo-header, and
 * RFC 1624 incremental updates.
 *
 * Sums are kept in "memory order": 16-bit words are loaded in the host's
 * byte order, which RFC 1071 (section 2, byte order independence) shows
 * gives the checksum's bytes in network order when the folded result is
 * stored back the same way. So nothing here swaps bytes except the few
 * pseudo-header numbers, which are converted to network order first.
 */
#include "lib/net/checksum.h"

#include <arpa/inet.h>
#include <string.h>

/* Add two 32-bit one's-complement partial sums with the end-around carry. */
static uint32_t add_carry32(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;

	return s + (s < a);
}

/* Reduce a 64-bit accumulator to 32 bits. 2^32 is 1 modulo 0xffff, so the
 * halves add up to the same one's-complement sum. */
static uint32_t fold64(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

/*
 * Sum 32-bit words into a 64-bit accumulator: each addend is below 2^32, so
 * the accumulator cannot overflow before 2^32 words (16 GiB), and the loop
 * has no carry to propagate. Loads go through memcpy, which compiles to
 * plain loads and keeps unaligned buffers legal.
 */
uint32_t checksum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;
	uint64_t acc2 = 0;

	while (len >= 16) {
		uint64_t a, b;

		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		acc += (a & 0xffffffffu) + (a >> 32);
		acc2 += (b & 0xffffffffu) + (b >> 32);
		p += 16;
		len -= 16;
	}
	acc += acc2;
	if (len >= 8) {
		uint64_t a;

		memcpy(&a, p, 8);
		acc += (a & 0xffffffffu) + (a >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* An odd last byte is padded with a zero byte after it. */
		uint8_t pad[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, pad, 2);
		acc += w;
	}
	return fold64(acc);
}

uint16_t checksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t checksum_ipv4_header(const void *hdr, size_t hlen)
{
	return checksum_fold(checksum_partial(hdr, hlen, 0));
}

/* The pseudo-header's sum: addresses, protocol and TCP length. IPv4 carries
 * the length in 16 bits, IPv6 in 32 (RFC 8200 section 8.1); either way the
 * sum is taken over the big-endian bytes. */
static uint32_t pseudo_header_sum(const struct dp_addr *src, const struct dp_addr *dst,
				  size_t len, uint8_t protocol)
{
	size_t alen = src->family == AF_INET6 ? 16 : 4;
	uint32_t sum = checksum_partial(src->bytes, alen, 0);
	uint32_t len32 = (uint32_t)len;

	sum = checksum_partial(dst->bytes, alen, sum);
	sum = add_carry32(sum, htons(protocol));
	sum = add_carry32(sum, htons((uint16_t)(len32 >> 16)));
	sum = add_carry32(sum, htons((uint16_t)len32));
	return sum;
}

uint16_t checksum_tcp(const struct dp_addr *src, const struct dp_addr *dst,
		      const void *segment, size_t len)
{
	return checksum_fold(checksum_partial(segment, len,
					      pseudo_header_sum(src, dst, len, IPPROTO_TCP)));
}

/* RFC 768: a computed 0 is sent as all ones (0 means "no checksum"). */
uint16_t checksum_udp(const struct dp_addr *src, const struct dp_addr *dst,
		      const void *datagram, size_t len)
{
	uint16_t check = checksum_fold(checksum_partial(datagram, len,
						pseudo_header_sum(src, dst, len, IPPROTO_UDP)));

	return check ? check : 0xffff;
}

/* RFC 1624 equation 3: HC' = ~(~HC + ~m + m'). One's-complement addition
 * does not care about byte order, so the values are used as stored. */
uint16_t checksum_update16(uint16_t check, uint16_t old, uint16_t new_value)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old;
	sum += new_value;
	return checksum_fold(sum);
}

/* The two 16-bit halves of a 32-bit word are two words of the sum, whichever
 * order they sit in memory. */
uint16_t checksum_update32(uint16_t check, uint32_t old, uint32_t new_value)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~(old & 0xffff);
	sum += (uint16_t)~(old >> 16);
	sum += new_value & 0xffff;
	sum += new_value >> 16;
	return checksum_fold(sum);
}
