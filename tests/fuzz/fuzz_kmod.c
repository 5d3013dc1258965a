/*
 * fuzz_kmod.c — libFuzzer harness for the kmod source's batch reader,
 * source_kmod_read_batch() (intercept/source/source_kmod.c): one datagram of
 * generic netlink messages as doppel.ko sends them to its listener
 * (include/uapi/doppel.h, DOPPEL_CMD_SUMMARIES), read without a socket.
 *
 * The input is the datagram, copied to an aligned heap buffer of exactly
 * its size (recvmsg() fills an aligned one; ASan sees a read past it). The
 * family id is FUZZ_FAMILY, as the seeds (tests/fuzz/netlink_seeds.py)
 * have it. Every summary delivered must keep the promise of
 * source_deliver_fn (source.h): a parsed TCP packet whose headers and
 * payload_present bytes are readable, no more payload present than the
 * packet has, and the counters must account for every delivery.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "lib/net/packet.h"
#include "lib/net/tcp_options.h"
#include "intercept/source/source.h"
#include "intercept/source/source_kmod.h"
#include "include/uapi/doppel.h"

#define FUZZ_FAMILY 0x1d

struct delivered {
	uint64_t count;
	uint64_t checksum;	/* keeps the reads of every byte from being optimised away */
};

static void on_deliver(void *ctx, const struct packet *p)
{
	struct delivered *d = ctx;
	size_t readable = p->ip_header_len + p->tcp_header_len + p->payload_present;

	d->count++;
	REQUIRE(p->family == AF_INET || p->family == AF_INET6);
	REQUIRE(p->src.family == p->family && p->dst.family == p->family);
	REQUIRE(p->tcp == p->l3 + p->ip_header_len);
	REQUIRE(p->tcp_header_len >= 20 && p->tcp_header_len <= 60 && p->tcp_header_len % 4 == 0);
	REQUIRE(p->payload == p->tcp + p->tcp_header_len);
	/* At most the headers attribute plus the prefix the module may copy. */
	REQUIRE(readable <= DOPPEL_HEADERS_MAX + DOPPEL_PAYLOAD_PREFIX_MAX);
	/* The payload length is the kernel's; the prefix is part of it. */
	REQUIRE(p->payload_present <= p->payload_len);
	REQUIRE(p->opt.sack_blocks <= TCP_MAX_SACK_BLOCKS);
	for (size_t i = 0; i < readable; i++)
		d->checksum += p->l3[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct delivered d = { 0, 0 };
	struct source s;
	uint8_t *buf = malloc(size ? size : 1);
	struct source_counters first;

	REQUIRE(buf != NULL);
	memcpy(buf, data, size);
	memset(&s, 0, sizeof(s));
	s.deliver = on_deliver;
	s.deliver_ctx = &d;
	source_kmod_read_batch(&s, FUZZ_FAMILY, buf, size);
	REQUIRE(s.counters.packets == d.count);
	/* At most one summary (or one bad datagram) per 4 bytes read. */
	REQUIRE(d.count + s.counters.malformed <= size / 4 + 1);
	REQUIRE(s.counters.verdicts == 0);

	/* The same datagram again reads the same way: no state carried over. */
	first = s.counters;
	memset(&s.counters, 0, sizeof(s.counters));
	d.count = 0;
	source_kmod_read_batch(&s, FUZZ_FAMILY, buf, size);
	REQUIRE(memcmp(&s.counters, &first, sizeof(first)) == 0 && d.count == first.packets);
	free(buf);
	return 0;
}
