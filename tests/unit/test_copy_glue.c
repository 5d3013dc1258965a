/*
 * test_copy_glue.c — how doppel-copy turns a captured client packet into
 * the keys of the sessions it replays (copy_map.c): which -x transfer and
 * target, the -c rewrite, -n copies on -f shifted ports, the -r share; the
 * guard that refuses any packet not addressed to a configured target; the
 * engine configuration from the options; and the statistics: the one list
 * of keys and the JSON file that carries exactly it.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "copy/copy.h"
#include "copy/copy_map.h"
#include "copy/copy_options.h"
#include "copy/copy_stats.h"
#include "stats_check.h"
#include "unit_files.h"
#include "lib/net/packet_build.h"

static char err[512];

static void options(struct copy_options *o, const char *transfers, const char *extra_name,
		    const char *extra_value)
{
	char *argv[] = { (char *)"doppel-copy", (char *)"-x", (char *)transfers, (char *)"-s",
			 (char *)"198.18.0.4", (char *)extra_name, (char *)extra_value, NULL };
	int argc = extra_name ? (extra_value ? 7 : 6) : 5;

	assert_int_equal(copy_options_parse(o, argc, argv, err, sizeof(err)), COPY_OPTIONS_RUN);
}

/* A captured client packet src:sport > dst:dport, parsed from buf. */
static void client_packet(struct packet *p, uint8_t *buf, size_t cap, const char *src,
			  uint16_t sport, const char *dst, uint16_t dport)
{
	struct packet_spec s;
	const char *why;
	size_t len;

	memset(&s, 0, sizeof(s));
	assert_int_equal(dp_addr_parse(src, &s.src), 0);
	assert_int_equal(dp_addr_parse(dst, &s.dst), 0);
	s.sport = sport;
	s.dport = dport;
	s.seq = 1000;
	s.flags = TCPF_SYN;
	s.window = 65535;
	len = packet_build(buf, cap, &s);
	assert_true(len > 0);
	assert_int_equal(packet_parse(buf, len, 0, p, &why), 0);
}

static void assert_addr(const struct dp_addr *a, const char *text)
{
	char buf[INET6_ADDRSTRLEN];

	assert_string_equal(dp_addr_str(a, buf, sizeof(buf)), text);
}

static void test_transfer_matching(void **state)
{
	struct copy_options o;
	struct session_key keys[1];
	struct packet p;
	uint8_t buf[128];

	options(&o, "80-198.18.0.3:8080,198.18.0.2:80-198.18.0.30:9090,6379-198.18.0.3:6380",
		NULL, NULL);
	/* The transfer naming the online address wins over the port alone ... */
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.2", 80);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 1);
	assert_addr(&keys[0].target, "198.18.0.30");
	assert_int_equal(keys[0].target_port, 9090);
	assert_addr(&keys[0].client, "198.18.0.1");
	assert_int_equal(keys[0].client_port, 40000);
	/* ... which takes any other address. */
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.9", 80);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 1);
	assert_addr(&keys[0].target, "198.18.0.3");
	assert_int_equal(keys[0].target_port, 8080);
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.2", 6379);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 1);
	assert_int_equal(keys[0].target_port, 6380);
	/* Not a captured port; and an IPv6 packet for an IPv4 target. */
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.2", 81);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 0);
	assert_null(copy_map_transfer(&o, &p));
	client_packet(&p, buf, sizeof(buf), "2001:db8::1", 40000, "2001:db8::2", 80);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 0);
	copy_options_free(&o);
}

/* With the target on the online port, our own replayed packets match -x:
 * captured back, they must not be replayed again. */
static void test_own_output_not_replayed(void **state)
{
	struct copy_options o;
	struct session_key keys[1];
	struct packet p;
	uint8_t buf[128];

	options(&o, "80-198.18.0.3:80", NULL, NULL);
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.3", 80);
	assert_non_null(copy_map_transfer(&o, &p));
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 0);
	/* The same client to the online host is replayed. */
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.2", 80);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 1);
	copy_options_free(&o);
}

static void test_client_rewrite(void **state)
{
	struct copy_options o;
	struct session_key keys[1], again[1];
	struct packet p;
	uint8_t buf[128];
	bool used[255] = { false };
	unsigned distinct = 0;

	options(&o, "80-198.18.0.3:80", "-c", "198.19.200.x");
	for (unsigned i = 0; i < 2000; i++) {
		char client[32];
		uint8_t last;

		snprintf(client, sizeof(client), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		client_packet(&p, buf, sizeof(buf), client, (uint16_t)(1024 + i), "198.18.0.2", 80);
		assert_int_equal(copy_map_keys(&o, 42, &p, keys), 1);
		/* Always an address of the list, the port kept. */
		assert_int_equal(keys[0].client.bytes[0], 198);
		assert_int_equal(keys[0].client.bytes[1], 19);
		assert_int_equal(keys[0].client.bytes[2], 200);
		last = keys[0].client.bytes[3];
		assert_true(last >= 1 && last <= 254);
		assert_int_equal(keys[0].client_port, 1024 + i);
		distinct += !used[last];
		used[last] = true;
		/* Stable: the same client maps the same way (any port). */
		client_packet(&p, buf, sizeof(buf), client, 5555, "198.18.0.2", 80);
		assert_int_equal(copy_map_keys(&o, 42, &p, again), 1);
		assert_memory_equal(&again[0].client, &keys[0].client, sizeof(keys[0].client));
	}
	/* 2000 clients over 254 addresses by hash: nearly all are used. */
	assert_true(distinct > 240);
	copy_options_free(&o);
}

static void test_copies_on_shifted_ports(void **state)
{
	struct copy_options o;
	char *argv[] = { (char *)"doppel-copy", (char *)"-x", (char *)"80-198.18.0.3:80",
			 (char *)"-s", (char *)"198.18.0.4", (char *)"-n", (char *)"3",
			 (char *)"--port-shift", (char *)"100", NULL };
	struct session_key keys[3];
	struct packet p;
	uint8_t buf[128];

	assert_int_equal(copy_options_parse(&o, 9, argv, err, sizeof(err)), COPY_OPTIONS_RUN);
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.2", 80);
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 3);
	assert_int_equal(keys[0].client_port, 40000);
	assert_int_equal(keys[1].client_port, 40100);
	assert_int_equal(keys[2].client_port, 40200);
	for (int i = 0; i < 3; i++) {
		assert_addr(&keys[i].client, "198.18.0.1");
		assert_addr(&keys[i].target, "198.18.0.3");
	}
	/* -f 2 (TCPCopy's instance offset): every copy 2 * 2048 further. */
	o.instance = 2;
	assert_int_equal(copy_map_keys(&o, 1, &p, keys), 3);
	assert_int_equal(keys[0].client_port, 40000 + 4096);
	assert_int_equal(keys[2].client_port, 40000 + 4096 + 200);
	/* Wrapping stays within 1..65535. */
	assert_int_equal(copy_map_port(65500, 1, 100), 65);
	assert_int_equal(copy_map_port(65535, 1, 1), 1);
	assert_int_equal(copy_map_port(65535, 0, 2048), 65535);
	assert_int_equal(copy_map_port(1, 2, 2048), 4097);
	copy_options_free(&o);
}

static void test_percent_selection(void **state)
{
	struct dp_addr client;
	unsigned selected = 0, selected_other_seed = 0, differ = 0;

	assert_int_equal(dp_addr_parse("198.18.0.1", &client), 0);
	for (uint16_t port = 1024; port < 11024; port++) {
		bool a = copy_map_selected(30, 7, &client, port);
		bool b = copy_map_selected(30, 8, &client, port);

		/* The same session is always decided the same way. */
		assert_true(a == copy_map_selected(30, 7, &client, port));
		selected += a;
		selected_other_seed += b;
		differ += a != b;
		assert_true(copy_map_selected(100, 7, &client, port));
	}
	/* 30% of 10000 by hash: far from 0 and 100%, near 3000. */
	assert_in_range(selected, 2700, 3300);
	assert_in_range(selected_other_seed, 2700, 3300);
	assert_true(differ > 1000);
}

static void test_percent_in_keys(void **state)
{
	struct copy_options o;
	struct session_key keys[1];
	struct packet p;
	uint8_t buf[128];
	unsigned kept = 0;

	options(&o, "80-198.18.0.3:80", "-r", "1");
	for (uint16_t port = 1024; port < 3024; port++) {
		client_packet(&p, buf, sizeof(buf), "198.18.0.1", port, "198.18.0.2", 80);
		kept += copy_map_keys(&o, 3, &p, keys);
	}
	assert_in_range(kept, 5, 50);
	copy_options_free(&o);
}

/* After a SIGHUP lowered -r from 100 to 1: a new connection (SYN) of a
 * client no longer selected is not replayed, while the packets of its
 * connection begun before go on; a client still selected is replayed. */
static void test_percent_lowered_by_reload(void **state)
{
	struct copy_options o;
	struct session_key keys[1];
	struct packet p;
	uint8_t buf[128];
	uint16_t out = 0, in = 0;

	options(&o, "80-198.18.0.3:80", NULL, NULL);
	o.percent_before = 100;
	o.percent = 1;
	for (uint16_t port = 1024; port < 3024 && !(out && in); port++) {
		struct dp_addr a;

		assert_int_equal(dp_addr_parse("198.18.0.1", &a), 0);
		if (copy_map_selected(1, 3, &a, port))
			in = port;
		else
			out = port;
	}
	assert_true(in && out);
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", out, "198.18.0.2", 80);
	assert_int_equal(copy_map_keys(&o, 3, &p, keys), 0);	/* its SYN */
	p.flags = TCPF_ACK;
	assert_int_equal(copy_map_keys(&o, 3, &p, keys), 1);	/* begun before */
	o.percent_before = 0;
	assert_int_equal(copy_map_keys(&o, 3, &p, keys), 0);	/* no reload: as -r says */
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", in, "198.18.0.2", 80);
	assert_int_equal(copy_map_keys(&o, 3, &p, keys), 1);
	copy_options_free(&o);
}

static void test_send_guard(void **state)
{
	uint8_t flags = 0;
	struct copy_options o;
	struct session_key k;
	struct packet p;
	uint8_t buf[128];

	options(&o, "80-198.18.0.3:8080", NULL, NULL);
	memset(&k, 0, sizeof(k));
	assert_int_equal(dp_addr_parse("198.18.0.1", &k.client), 0);
	assert_int_equal(dp_addr_parse("198.18.0.3", &k.target), 0);
	k.client_port = 40000;
	k.target_port = 8080;

	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.3", 8080);
	assert_true(copy_map_send_allowed(&o, &k, buf, p.ip_total_len, NULL));
	assert_true(copy_map_send_allowed(&o, &k, buf, p.ip_total_len, &flags));
	assert_int_equal(flags, TCPF_SYN);
	/* A packet for the client, whatever the key says. */
	client_packet(&p, buf, sizeof(buf), "198.18.0.3", 8080, "198.18.0.1", 40000);
	assert_false(copy_map_send_allowed(&o, &k, buf, p.ip_total_len, NULL));
	/* The target's address on another port. */
	client_packet(&p, buf, sizeof(buf), "198.18.0.1", 40000, "198.18.0.3", 80);
	assert_false(copy_map_send_allowed(&o, &k, buf, p.ip_total_len, NULL));
	/* A key whose target is not configured. */
	k.target_port = 80;
	assert_false(copy_map_send_allowed(&o, &k, buf, p.ip_total_len, NULL));
	/* Not a packet at all. */
	k.target_port = 8080;
	assert_false(copy_map_send_allowed(&o, &k, buf, 10, NULL));
	copy_options_free(&o);
}

static void test_engine_config(void **state)
{
	struct copy_options o;
	struct engine_config c;

	options(&o, "80-198.18.0.3:80", "-W", NULL);
	copy_engine_config(&o, &c);
	assert_int_equal(c.session_timeout_ms, 120000);
	assert_int_equal(c.keepalive_timeout_ms, 0);
	assert_true(c.send_at_once);
	assert_int_equal(c.mss_clamp, 1460);		/* -M 1500 */
	assert_int_equal(c.max_sessions, 262144);	/* 512m / 4 / 512 */
	assert_int_equal(c.max_buffered_bytes, 384u << 20);
	copy_options_free(&o);

	options(&o, "80-198.18.0.3:80", "-D", "1400");
	copy_engine_config(&o, &c);
	assert_int_equal(c.mss_clamp, 1400);
	copy_options_free(&o);

	options(&o, "80-198.18.0.3:80", "-M", "1000");
	copy_engine_config(&o, &c);
	assert_int_equal(c.mss_clamp, 960);
	copy_options_free(&o);
	/* A tunnel's overhead comes off: VXLAN over IPv4 adds 50 (1410, the
	 * familiar MSS inside a 1450 VXLAN MTU), GRE 24; an IPv6 target
	 * counts IPv6 headers inside and out (1500 - 70 - 60). */
	options(&o, "80-198.18.0.3:80", "--tunnel", "vxlan");
	copy_engine_config(&o, &c);
	assert_int_equal(c.mss_clamp, 1410);
	copy_options_free(&o);
	options(&o, "80-198.18.0.3:80", "--tunnel", "gre");
	o.mtu = 9000;
	copy_engine_config(&o, &c);
	assert_int_equal(c.mss_clamp, 9000 - 24 - 40);
	copy_options_free(&o);
	options(&o, "80-[2001:2::3]:80", "--tunnel", "vxlan");
	copy_engine_config(&o, &c);
	assert_int_equal(c.mss_clamp, 1370);
	copy_options_free(&o);
	/* -D says otherwise: taken as given, even above the computed one. */
	options(&o, "80-198.18.0.3:80", "--tunnel", "vxlan");
	o.mss = 1460;	/* -D 1460 */
	copy_engine_config(&o, &c);
	assert_int_equal(c.mss_clamp, 1460);
	copy_options_free(&o);
}

/* The one list (copy_stats.h) is well formed; the ended_ keys follow the
 * engine's reasons, as the family sessions_ended with label reason. */
static void test_stats_keys(void **state)
{
	struct copy_stats s;

	copy_stats_init(&s);
	unit_assert_stats_list(&s.table);
	assert_int_equal(s.table.count, COPY_STAT_COUNT);
	for (int r = 0; r < END_REASON_COUNT; r++) {
		const struct stat_def *d = copy_stats_def(COPY_STAT_ENDED_FIRST + r);
		const char *reason = engine_end_reason_name((enum engine_end_reason)r);
		char key[64];

		snprintf(key, sizeof(key), "ended_%s", reason);
		assert_string_equal(d->name, key);
		assert_string_equal(d->family, "sessions_ended");
		assert_string_equal(d->label, "reason");
		assert_string_equal(d->label_value, reason);
	}
	assert_string_equal(copy_stats_name(COPY_STAT_PACKETS_CAPTURED), "packets_captured");
	assert_string_equal(copy_stats_name(COPY_STAT_SESSIONS_REFUSED_MEMORY),
			    "sessions_refused_memory");
	assert_int_equal(copy_stats_def(COPY_STAT_SESSIONS_ACTIVE)->type, STAT_GAUGE);
	assert_int_equal(copy_stats_def(COPY_STAT_INTERCEPT_CONNECTED)->type, STAT_GAUGE);
	assert_int_equal(copy_stats_def(COPY_STAT_PACKETS_SENT)->type, STAT_COUNTER);
	assert_string_equal(copy_stats_name(COPY_STAT_INTERCEPT_RECONNECTS), "intercept_reconnects");
	assert_int_equal(copy_stats_def(COPY_STAT_BUFFERED_BYTES)->type, STAT_GAUGE);
	assert_null(copy_stats_name(COPY_STAT_COUNT));
}

static void test_stats_collect(void **state)
{
	struct copy_stats s;
	struct engine_counters e;
	struct capture_counters cap;
	struct send_counters snd;
	struct intercept_link_counters links;
	struct histogram delay = { { 0 }, 0, 0 };
	struct capture_mirror_counters mir;
	struct copy_stats_sources src = { &e, &cap, &snd, &links, 2, 3000, 40, &delay, NULL, &mir };
	char json[8192], dir[] = "/tmp/doppel-cstats-XXXXXX", path[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stats.json", dir);

	memset(&e, 0, sizeof(e));
	memset(&cap, 0, sizeof(cap));
	memset(&snd, 0, sizeof(snd));
	memset(&links, 0, sizeof(links));
	cap.packets = 10;
	cap.malformed = 1;
	cap.kernel_drops = 2;
	e.sessions_started = 5;
	e.ended[END_CAPTURE_GAP] = 3;
	e.send_errors = 4;
	e.summaries = 9;
	snd.packets = 7;
	snd.retry = 1;
	snd.failed = 2;
	links.reconnects = 6;
	e.buffered_bytes = 1234;
	memset(&mir, 0, sizeof(mir));
	mir.decapsulated_kind[DECAP_GENEVE] = 11;
	mir.decapsulated_kind[DECAP_ERSPAN2] = 12;
	mir.malformed = 13;
	mir.not_encapsulated = 14;
	mir.filtered_out = 15;
	for (int i = 0; i < 99; i++)
		histogram_add(&delay, 700);
	histogram_add(&delay, 9000);
	copy_stats_init(&s);
	copy_stats_collect(&s, &src);
	assert_int_equal(s.values[COPY_STAT_PACKETS_CAPTURED], 10);
	assert_int_equal(s.values[COPY_STAT_PACKETS_MALFORMED], 1);
	assert_int_equal(s.values[COPY_STAT_CAPTURE_KERNEL_DROPS], 2);
	assert_int_equal(s.values[COPY_STAT_SESSIONS_STARTED], 5);
	assert_int_equal(s.values[COPY_STAT_ENDED_FIRST + END_CAPTURE_GAP], 3);
	assert_int_equal(s.values[COPY_STAT_PACKETS_SENT], 7);
	/* The engine's own refusals and the kernel's at flush time. */
	assert_int_equal(s.values[COPY_STAT_SEND_ERRORS], 7);
	assert_int_equal(s.values[COPY_STAT_SUMMARIES], 9);
	assert_int_equal(s.values[COPY_STAT_INTERCEPT_CONNECTED], 2);
	assert_int_equal(s.values[COPY_STAT_INTERCEPT_RECONNECTS], 6);
	assert_int_equal(s.values[COPY_STAT_BUFFERED_BYTES], 1234);
	assert_int_equal(s.values[COPY_STAT_BUFFERED_LIMIT_BYTES], 3000);
	assert_int_equal(s.values[COPY_STAT_SESSIONS_LIMIT], 40);
	assert_int_equal(s.values[COPY_STAT_CAPTURE_DELAY_P50_US], 750);
	assert_int_equal(s.values[COPY_STAT_CAPTURE_DELAY_P99_US], 750);
	assert_int_equal(s.values[COPY_STAT_MIRROR_DECAPSULATED_VXLAN], 0);
	assert_int_equal(s.values[COPY_STAT_MIRROR_DECAPSULATED_GENEVE], 11);
	assert_int_equal(s.values[COPY_STAT_MIRROR_DECAPSULATED_ERSPAN2], 12);
	assert_int_equal(s.values[COPY_STAT_MIRROR_MALFORMED], 13);
	assert_int_equal(s.values[COPY_STAT_MIRROR_UNKNOWN], 14);
	assert_int_equal(s.values[COPY_STAT_MIRROR_FILTERED_OUT], 15);
	histogram_add(&delay, 9000);	/* now 2 of 101 past 8 ms: the p99 moves */
	copy_stats_collect(&s, &src);
	assert_int_equal(s.values[COPY_STAT_CAPTURE_DELAY_P99_US], 16000);
	assert_int_equal(stats_write_json(&s.table, NULL, path), 0);
	unit_read_file(path, json, sizeof(json));
	unit_assert_stats_json(json, &s.table);
	assert_non_null(strstr(json, "\"ended_capture_gap\": 3"));
	assert_non_null(strstr(json, "\"intercept_reconnects\": 6"));
	assert_non_null(strstr(json, "\"mirror_decapsulated_erspan2\": 12"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer_matching),
		cmocka_unit_test(test_own_output_not_replayed),
		cmocka_unit_test(test_client_rewrite),
		cmocka_unit_test(test_copies_on_shifted_ports),
		cmocka_unit_test(test_percent_selection),
		cmocka_unit_test(test_percent_in_keys),
		cmocka_unit_test(test_percent_lowered_by_reload),
		cmocka_unit_test(test_send_guard),
		cmocka_unit_test(test_engine_config),
		cmocka_unit_test(test_stats_keys),
		cmocka_unit_test(test_stats_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
