/*
 * addr.c — struct dp_addr: comparing, making, parsing and printing the
 * IPv4 and IPv6 addresses the rest of doppel passes around.
 */
#include "lib/net/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static size_t addr_bytes(const struct dp_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

bool dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, addr_bytes(a)) == 0;
}

void dp_addr_from_v4(struct dp_addr *a, uint32_t v4_network_order)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(a->bytes, &v4_network_order, 4);
}

void dp_addr_from_v6(struct dp_addr *a, const void *bytes16)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	memcpy(a->bytes, bytes16, 16);
}

bool dp_addr_is_loopback(const struct dp_addr *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	if (a->family != AF_INET6)
		return false;
	return memcmp(a->bytes, v6_loopback, 16) == 0 ||
	       (memcmp(a->bytes, v4_mapped, 12) == 0 && a->bytes[12] == 127);
}

int dp_addr_parse(const char *s, struct dp_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->bytes) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	memset(a, 0, sizeof(*a));
	return -1;
}

const char *dp_addr_str(const struct dp_addr *a, char *buf, size_t len)
{
	const char *fallback = a->family == AF_INET || a->family == AF_INET6 ? "?" : "(no address)";

	if (len == 0)
		return buf;
	if ((a->family == AF_INET || a->family == AF_INET6) &&
	    inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		return buf;
	snprintf(buf, len, "%s", fallback);
	return buf;
}
