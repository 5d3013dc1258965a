/*
 * test_copy_capture_filter.c — what the capture backends share
 * (capture.c): tcpdump expressions compiled into kernel BPF programs, run
 * here over real packets with libpcap's own interpreter; refused
 * expressions and their error text; the pcap data-link type mapping; frames
 * parsed into deliveries or malformed counts; the backends by kind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "copy/capture/capture.h"
#include "netns_fixture.h"
#include "lib/net/packet_dlt.h"

/* Run prog over an IP packet as the kernel runs it over a cooked socket's
 * data (or over a frame, for DLT_EN10MB): what it returns is how many
 * bytes to keep, 0 = drop. */
static unsigned run_filter(const struct sock_fprog *prog, const uint8_t *pkt, size_t len)
{
	struct bpf_insn insns[BPF_MAXINSNS];

	for (unsigned i = 0; i < prog->len; i++) {
		insns[i].code = prog->filter[i].code;
		insns[i].jt = prog->filter[i].jt;
		insns[i].jf = prog->filter[i].jf;
		insns[i].k = prog->filter[i].k;
	}
	return bpf_filter(insns, pkt, (unsigned)len, (unsigned)len);
}

static void compile_ok(const char *expr, int dlt, uint32_t snaplen, struct sock_fprog *prog)
{
	char err[256] = "";

	if (capture_compile_filter(expr, dlt, snaplen, prog, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", expr, err);
	assert_true(prog->len > 0);
	assert_non_null(prog->filter);
}

static void test_raw_filter_selects_port(void **state)
{
	struct sock_fprog prog;
	uint8_t to80[200], to81[200], udp[64], v6[200];
	size_t len80 = fixture_tcp_packet(to80, sizeof(to80), "198.18.0.2", 40000,
					  "198.18.0.1", 80, 1, 10);
	size_t len81 = fixture_tcp_packet(to81, sizeof(to81), "198.18.0.2", 40000,
					  "198.18.0.1", 81, 1, 10);
	size_t len_udp = fixture_udp_packet(udp, sizeof(udp), "198.18.0.2", "198.18.0.1", 80);
	size_t len_v6 = fixture_tcp_packet(v6, sizeof(v6), "2001:2::2", 40000, "2001:2::1", 80, 1, 0);

	compile_ok("tcp dst port 80", DLT_RAW, 4096, &prog);
	assert_int_equal(run_filter(&prog, to80, len80), 4096);
	assert_int_equal(run_filter(&prog, to81, len81), 0);
	assert_int_equal(run_filter(&prog, udp, len_udp), 0);
	/* DLT_RAW tells the versions apart by the first nibble. */
	assert_int_equal(run_filter(&prog, v6, len_v6), 4096);
	free(prog.filter);

	compile_ok("ip6 and tcp", DLT_RAW, 4096, &prog);
	assert_int_equal(run_filter(&prog, to80, len80), 0);
	assert_int_equal(run_filter(&prog, v6, len_v6), 4096);
	free(prog.filter);
}

static void test_ethernet_filter(void **state)
{
	static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 0xa }, mac_b[6] = { 2, 0, 0, 0, 0, 0xb };
	struct sock_fprog prog;
	uint8_t ip[200], frame[220];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1", 80, 1, 0);
	size_t frame_len = fixture_ethernet_frame(frame, sizeof(frame), mac_a, mac_b, ip, len);

	compile_ok("host 198.18.0.1 and tcp port 80", DLT_EN10MB, 0, &prog);
	/* snaplen 0 is the default. */
	assert_int_equal(run_filter(&prog, frame, frame_len), CAPTURE_SNAPLEN_DEFAULT);
	/* The same program over a bare IP packet reads the wrong bytes. */
	assert_int_equal(run_filter(&prog, ip, len), 0);
	free(prog.filter);
}

static void test_empty_filter_takes_all(void **state)
{
	struct sock_fprog prog;
	uint8_t udp[64];
	size_t len = fixture_udp_packet(udp, sizeof(udp), "198.18.0.2", "198.18.0.1", 53);

	compile_ok("", DLT_RAW, 1000, &prog);
	assert_int_equal(run_filter(&prog, udp, len), 1000);
	free(prog.filter);
	compile_ok(NULL, DLT_RAW, 1000, &prog);
	assert_int_equal(run_filter(&prog, udp, len), 1000);
	free(prog.filter);
}

static void expect_refused(const char *expr, int dlt, const char *text)
{
	struct sock_fprog prog = { 0, NULL };
	char err[256] = "";
	char start[128];

	assert_int_equal(capture_compile_filter(expr, dlt, 0, &prog, err, sizeof(err)), -1);
	assert_null(prog.filter);
	snprintf(start, sizeof(start), "filter '%s': ", expr);
	if (strncmp(err, start, strlen(start)) != 0 || !strstr(err, text))
		fail_msg("error for '%s' is \"%s\", wanted \"%s...%s\"", expr, err, start, text);
}

static void test_refused_expressions(void **state)
{
	expect_refused("tcp portt 80", DLT_RAW, "syntax error");
	expect_refused("tcp port 99999", DLT_RAW, "port 99999");
	expect_refused("host 198.18.0.300", DLT_RAW, "198.18.0.300");
	expect_refused("tcp and (", DLT_RAW, "syntax error");
	/* No data-link header on a cooked socket: libpcap says so. */
	expect_refused("ether host 02:00:00:00:00:01", DLT_RAW, "ethernet addresses");
}

static void test_dlt_types(void **state)
{
	enum packet_dlt dlt;

	assert_int_equal(capture_dlt_from_pcap(DLT_EN10MB, &dlt), 0);
	assert_int_equal(dlt, PACKET_DLT_ETHERNET);
	assert_int_equal(capture_dlt_from_pcap(DLT_LINUX_SLL, &dlt), 0);
	assert_int_equal(dlt, PACKET_DLT_LINUX_SLL);
	assert_int_equal(capture_dlt_from_pcap(DLT_LINUX_SLL2, &dlt), 0);
	assert_int_equal(dlt, PACKET_DLT_LINUX_SLL2);
	assert_int_equal(capture_dlt_from_pcap(DLT_RAW, &dlt), 0);
	assert_int_equal(dlt, PACKET_DLT_RAW);
	assert_int_equal(capture_dlt_from_pcap(DLT_IPV4, &dlt), 0);
	assert_int_equal(dlt, PACKET_DLT_RAW);
	assert_int_equal(capture_dlt_from_pcap(DLT_IPV6, &dlt), 0);
	assert_int_equal(dlt, PACKET_DLT_RAW);
	assert_int_equal(capture_dlt_from_pcap(DLT_NULL, &dlt), -1);
	assert_int_equal(capture_dlt_from_pcap(DLT_IEEE802_11, &dlt), -1);
}

struct delivered {
	int count;
	uint64_t ts_us;
	uint16_t dport;
	size_t payload_len, payload_present;
};

static void record(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct delivered *d = ctx;

	d->count++;
	d->ts_us = ts_us;
	d->dport = p->dport;
	d->payload_len = p->payload_len;
	d->payload_present = p->payload_present;
}

static void test_deliver_frame(void **state)
{
	struct delivered d = { 0 };
	struct capture c = { .deliver = record, .ctx = &d };
	uint8_t ip[200], udp[64];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1", 80, 1, 50);
	size_t udp_len = fixture_udp_packet(udp, sizeof(udp), "198.18.0.2", "198.18.0.1", 80);

	capture_deliver_frame(&c, PACKET_DLT_RAW, 42, ip, len);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.ts_us, 42);
	assert_int_equal(d.dport, 80);
	assert_int_equal(c.counters.packets, 1);
	assert_int_equal(c.counters.bytes, len);
	/* Cut by a snaplen: delivered, the engine sees what is missing. */
	capture_deliver_frame(&c, PACKET_DLT_RAW, 43, ip, len - 20);
	assert_int_equal(d.count, 2);
	assert_int_equal(d.payload_len, 50);
	assert_int_equal(d.payload_present, 30);
	/* Not TCP, not IP, nothing at all: counted, not delivered. */
	capture_deliver_frame(&c, PACKET_DLT_RAW, 44, udp, udp_len);
	capture_deliver_frame(&c, PACKET_DLT_ETHERNET, 45, ip, len);
	capture_deliver_frame(&c, PACKET_DLT_RAW, 46, ip, 0);
	assert_int_equal(d.count, 2);
	assert_int_equal(c.counters.malformed, 3);
	assert_int_equal(c.counters.packets, 2);
}

static void test_ops_for(void **state)
{
	assert_string_equal(capture_ops_for(CAPTURE_AFPACKET)->name, "afpacket");
	assert_string_equal(capture_ops_for(CAPTURE_PCAP)->name, "pcap");
	assert_string_equal(capture_ops_for(CAPTURE_OFFLINE)->name, "offline");
	assert_null(capture_ops_for((enum capture_kind)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_filter_selects_port),
		cmocka_unit_test(test_ethernet_filter),
		cmocka_unit_test(test_empty_filter_takes_all),
		cmocka_unit_test(test_refused_expressions),
		cmocka_unit_test(test_dlt_types),
		cmocka_unit_test(test_deliver_frame),
		cmocka_unit_test(test_ops_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
