/*
 * test_intercept_source_kmod.c — the kmod source's reading of doppel.ko's
 * summary batches, fed crafted netlink datagrams: IPv4 and IPv6 summaries
 * with and without a payload prefix, the kernel's payload length winning
 * over the IP header's, DOPPEL_A_LOST counted, other families and commands
 * ignored, summaries that are not whole counted as malformed, truncated and
 * randomly corrupted datagrams survived. And the command-line checks that
 * refuse what cannot map to kernel rules, before any socket is opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <libmnl/libmnl.h>

#include <cmocka.h>

#include "lib/runtime/loop.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "intercept/source/source.h"
#include "intercept/source/source_kmod.h"
#include "include/uapi/doppel.h"

#define FAMILY 0x1d

struct seen {
	int count;
	struct dp_addr src;
	uint16_t sport;
	uint32_t seq;
	size_t payload_len, payload_present;
	uint8_t payload[64];
};

static void on_deliver(void *ctx, const struct packet *p)
{
	struct seen *seen = ctx;

	seen->count++;
	seen->src = p->src;
	seen->sport = p->sport;
	seen->seq = p->seq;
	seen->payload_len = p->payload_len;
	seen->payload_present = p->payload_present;
	memcpy(seen->payload, p->payload, p->payload_present < 64 ? p->payload_present : 64);
}

static struct nlmsghdr *batch_start(void *buf, uint16_t type, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = DOPPEL_GENL_VERSION;
	return nlh;
}

/* A packet's headers as the module sends them: IP + TCP, no payload. */
static size_t headers(uint8_t *out, int family, uint32_t seq, uint16_t ip_payload)
{
	struct packet_spec spec = { 0 };
	uint8_t payload[1500] = { 0 };
	size_t n;

	dp_addr_parse(family == AF_INET ? "198.18.0.3" : "2001:2::3", &spec.src);
	dp_addr_parse(family == AF_INET ? "198.18.0.1" : "2001:2::1", &spec.dst);
	spec.sport = 80;
	spec.dport = 40000;
	spec.seq = seq;
	spec.flags = TCPF_ACK;
	spec.opt.has_timestamp = true;
	spec.payload = payload;
	spec.payload_len = ip_payload;
	n = packet_build(out, 2048, &spec);
	assert_true(n > 0);
	return n - ip_payload;
}

static void put_summary(struct nlmsghdr *nlh, const uint8_t *hdr, size_t hdr_len,
			int with_len, uint32_t payload_len, const char *prefix)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, DOPPEL_A_SUMMARY);

	mnl_attr_put(nlh, DOPPEL_A_SUMMARY_HEADERS, hdr_len, hdr);
	if (with_len)
		mnl_attr_put_u32(nlh, DOPPEL_A_SUMMARY_PAYLOAD_LEN, payload_len);
	if (prefix)
		mnl_attr_put(nlh, DOPPEL_A_SUMMARY_PAYLOAD, strlen(prefix), prefix);
	mnl_attr_put_u32(nlh, DOPPEL_A_SUMMARY_FLAGS, 0);
	mnl_attr_nest_end(nlh, nest);
}

static void init_source(struct source *s, struct seen *seen)
{
	memset(s, 0, sizeof(*s));
	memset(seen, 0, sizeof(*seen));
	s->deliver = on_deliver;
	s->deliver_ctx = seen;
}

static void test_ipv4_batch(void **state)
{
	uint8_t buf[8192], hdr[2048];
	struct nlmsghdr *nlh = batch_start(buf, FAMILY, DOPPEL_CMD_SUMMARIES);
	struct source s;
	struct seen seen;
	size_t n;

	init_source(&s, &seen);
	mnl_attr_put_u32(nlh, DOPPEL_A_LOST, 3);
	n = headers(hdr, AF_INET, 1000, 0);
	put_summary(nlh, hdr, n, 1, 0, NULL);
	/* A GSO packet: 3000 bytes, only 16 of them copied. */
	n = headers(hdr, AF_INET, 2000, 1448);
	put_summary(nlh, hdr, n, 1, 3000, "HTTP/1.1 200 OK\r");
	source_kmod_read_batch(&s, FAMILY, buf, nlh->nlmsg_len);

	assert_int_equal(seen.count, 2);
	assert_int_equal(s.counters.packets, 2);
	assert_int_equal(s.counters.lost, 3);
	assert_int_equal(s.counters.malformed, 0);
	assert_int_equal(seen.sport, 80);
	assert_int_equal(seen.seq, 2000);
	assert_int_equal(seen.payload_len, 3000);
	assert_int_equal(seen.payload_present, 16);
	assert_memory_equal(seen.payload, "HTTP/1.1 200 OK\r", 16);
}

static void test_ipv6_summary(void **state)
{
	uint8_t buf[8192], hdr[2048];
	struct nlmsghdr *nlh = batch_start(buf, FAMILY, DOPPEL_CMD_SUMMARIES);
	struct dp_addr want;
	struct source s;
	struct seen seen;
	size_t n;

	init_source(&s, &seen);
	n = headers(hdr, AF_INET6, 77, 5);
	put_summary(nlh, hdr, n, 1, 5, "hello");
	source_kmod_read_batch(&s, FAMILY, buf, nlh->nlmsg_len);
	dp_addr_parse("2001:2::3", &want);
	assert_int_equal(seen.count, 1);
	assert_true(dp_addr_equal(&seen.src, &want));
	assert_int_equal(seen.payload_len, 5);
	assert_memory_equal(seen.payload, "hello", 5);
}

static void test_other_messages_ignored(void **state)
{
	uint8_t buf[8192], hdr[2048];
	struct nlmsghdr *nlh;
	struct source s;
	struct seen seen;
	size_t n = headers(hdr, AF_INET, 1, 0);

	init_source(&s, &seen);
	nlh = batch_start(buf, FAMILY + 1, DOPPEL_CMD_SUMMARIES);
	put_summary(nlh, hdr, n, 1, 0, NULL);
	source_kmod_read_batch(&s, FAMILY, buf, nlh->nlmsg_len);
	nlh = batch_start(buf, FAMILY, DOPPEL_CMD_GET_STATS);
	put_summary(nlh, hdr, n, 1, 0, NULL);
	source_kmod_read_batch(&s, FAMILY, buf, nlh->nlmsg_len);
	assert_int_equal(seen.count, 0);
	assert_int_equal(s.counters.malformed, 0);
}

static void test_bad_summaries_counted(void **state)
{
	uint8_t buf[16384], hdr[2048], big[DOPPEL_HEADERS_MAX + 8] = { 0 };
	struct nlmsghdr *nlh = batch_start(buf, FAMILY, DOPPEL_CMD_SUMMARIES);
	struct source s;
	struct seen seen;
	size_t n = headers(hdr, AF_INET, 1, 0);

	init_source(&s, &seen);
	put_summary(nlh, hdr, n, 0, 0, NULL);		/* no payload length */
	put_summary(nlh, (const uint8_t *)"garbage-not-ip!!", 16, 1, 0, NULL);
	put_summary(nlh, hdr, n, 1, 2, "three");	/* prefix past the payload */
	put_summary(nlh, big, sizeof(big), 1, 0, NULL);	/* headers too long */
	put_summary(nlh, hdr, 10, 1, 0, NULL);		/* cut inside the IP header */
	put_summary(nlh, hdr, n, 1, 0, NULL);		/* and one good one */
	source_kmod_read_batch(&s, FAMILY, buf, nlh->nlmsg_len);
	assert_int_equal(seen.count, 1);
	assert_int_equal(s.counters.malformed, 5);
}

/* Payload bytes inside the headers attribute would be delivered as more
 * payload present than the packet's payload length (found by
 * tests/fuzz/fuzz_kmod). */
static void test_headers_attribute_with_payload(void **state)
{
	uint8_t buf[8192], hdr[2048];
	struct nlmsghdr *nlh = batch_start(buf, FAMILY, DOPPEL_CMD_SUMMARIES);
	struct source s;
	struct seen seen;
	size_t n = headers(hdr, AF_INET, 1, 5);

	init_source(&s, &seen);
	put_summary(nlh, hdr, n + 5, 1, 0, NULL);
	put_summary(nlh, hdr, n + 5, 1, 5, NULL);
	source_kmod_read_batch(&s, FAMILY, buf, nlh->nlmsg_len);
	assert_int_equal(seen.count, 0);
	assert_int_equal(s.counters.malformed, 2);
}

/* A summary reaching into the padding past an unaligned nlmsg_len, at
 * the end of the datagram: libmnl's walk allows it, the bytes are not
 * the datagram's (read from a copy of exactly its size, for ASan). */
static void test_summary_past_message_end(void **state)
{
	uint8_t buf[8192], hdr[2048], *exact;
	struct nlmsghdr *nlh = batch_start(buf, FAMILY, DOPPEL_CMD_SUMMARIES);
	struct source s;
	struct seen seen;
	size_t n = headers(hdr, AF_INET, 1, 0);

	init_source(&s, &seen);
	put_summary(nlh, hdr, n, 1, 0, NULL);
	put_summary(nlh, hdr, n, 1, 0, NULL);
	nlh->nlmsg_len -= 2;
	exact = malloc(nlh->nlmsg_len);
	assert_non_null(exact);
	memcpy(exact, buf, nlh->nlmsg_len);
	source_kmod_read_batch(&s, FAMILY, exact, nlh->nlmsg_len);
	free(exact);
	assert_int_equal(seen.count, 1);
	assert_int_equal(s.counters.malformed, 1);
}

/* Cut anywhere and corrupted anyhow, a batch never crashes the reader
 * (ASan and UBSan watch) and never delivers more than it holds. */
static void test_truncated_and_random(void **state)
{
	uint8_t buf[8192], copy[8192], hdr[2048];
	struct nlmsghdr *nlh = batch_start(buf, FAMILY, DOPPEL_CMD_SUMMARIES);
	struct source s;
	struct seen seen;
	size_t n, len;

	mnl_attr_put_u32(nlh, DOPPEL_A_LOST, 1);
	for (int i = 0; i < 4; i++) {
		n = headers(hdr, i & 1 ? AF_INET6 : AF_INET, (uint32_t)i, 4);
		put_summary(nlh, hdr, n, 1, 4, "abcd");
	}
	len = nlh->nlmsg_len;
	for (size_t cut = 0; cut <= len; cut++) {
		init_source(&s, &seen);
		memcpy(copy, buf, cut);
		source_kmod_read_batch(&s, FAMILY, copy, cut);
		assert_true(seen.count <= 4);
	}
	srand(7);
	for (int round = 0; round < 5000; round++) {
		init_source(&s, &seen);
		memcpy(copy, buf, len);
		for (int k = 0; k < 1 + round % 8; k++)
			copy[rand() % len] = (uint8_t)rand();
		source_kmod_read_batch(&s, FAMILY, copy, len);
		assert_true(seen.count <= 4);
	}
}

static int open_with(const struct source_config *cfg, char *err, size_t errlen)
{
	struct source s = { 0 };

	s.ops = &source_kmod_ops;
	return s.ops->open(&s, NULL, cfg, err, errlen);
}

static void test_config_refusals(void **state)
{
	struct source_config cfg = { 0 };
	char err[512];

	assert_int_equal(open_with(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no --match"));

	cfg.match_count = 1;
	cfg.matches[0].port = 80;
	cfg.filter = "tcp port 80";
	assert_int_equal(open_with(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-F 'tcp port 80'"));
	assert_non_null(strstr(err, "cannot be applied in the kernel"));

	cfg.filter = NULL;
	cfg.device = "eth0";
	assert_int_equal(open_with(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-i eth0"));

	cfg.device = NULL;
	cfg.match_count = 2;
	memset(&cfg.matches[1], 0, sizeof(cfg.matches[1]));
	assert_int_equal(open_with(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--match number 2 has neither address nor port"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_batch),
		cmocka_unit_test(test_ipv6_summary),
		cmocka_unit_test(test_other_messages_ignored),
		cmocka_unit_test(test_bad_summaries_counted),
		cmocka_unit_test(test_headers_attribute_with_payload),
		cmocka_unit_test(test_summary_past_message_end),
		cmocka_unit_test(test_truncated_and_random),
		cmocka_unit_test(test_config_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
