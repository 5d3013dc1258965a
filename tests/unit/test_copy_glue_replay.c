/*
 * test_copy_glue_replay.c — doppel-copy's glue as a whole (copy.c), in a
 * network namespace private to the test (netns_fixture.c): an --offline
 * pcap of one client session feeds the engine, the raw sender puts the
 * replay on a veth link where the test watches every frame, and a fake
 * intercept on 127.0.0.1 (fake_intercept.c) takes the routes and plays the
 * target by sending summaries.
 *
 *   copy ── raw IPv4 ──> dpa 198.18.0.1 ══veth══ dpb (watched): target 198.18.0.2:8080
 *     └──── TCP 127.0.0.1 ────> fake intercept (routes in, summaries out)
 *
 * Checked: the route goes before the SYN; the replayed request reaches the
 * target whole; the session closes and its route is deleted; the offline
 * replay then stops the loop; stopping with a session in flight sends the
 * target an RST and the intercept its route deletion; losing the intercept
 * aborts the session; a send the kernel refuses ends its session, not the
 * daemon; a file cut short mid-record is played up to the damage, then the
 * replay finishes and reports failure (the daemon's exit 1). Every frame
 * seen is addressed to the target.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "copy/copy.h"
#include "copy/copy_options.h"
#include "fake_intercept.h"
#include "lib/runtime/log.h"
#include "netns_fixture.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/net/packet_dlt.h"
#include "unit_files.h"
#include "lib/wire/wire.h"

#define CLIENT "198.19.0.5"
#define CLIENT_PORT 40000
#define ONLINE "198.19.0.9"
#define TARGET "198.18.0.2"
#define TARGET_PORT 8080
#define CLIENT_ISN 1000u
#define ONLINE_ISN 9000000u
#define TARGET_ISN 5000000u
#define MAX_FRAMES 64

static const char request[] = "GET / HTTP/1.0\r\n\r\n";
#define REQUEST_LEN (sizeof(request) - 1)

struct seen {
	uint8_t flags;
	uint32_t seq, ack;
	size_t payload_len;
	uint8_t payload[64];
};

struct replay {
	struct loop *loop;
	struct fake_intercept fake;
	struct copy_options options;
	struct copy *copy;
	int observer;
	char pcap_path[64], stats_path[64];
	struct seen frames[MAX_FRAMES];
	size_t frame_count;
	size_t want;
};

/* ---- the captured session, as a pcap file ---- */

static void dump(pcap_dumper_t *d, unsigned at_ms, const char *src, uint16_t sport,
		 const char *dst, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		 const char *payload)
{
	struct packet_spec s;
	struct pcap_pkthdr h;
	uint8_t buf[256];

	memset(&s, 0, sizeof(s));
	assert_int_equal(dp_addr_parse(src, &s.src), 0);
	assert_int_equal(dp_addr_parse(dst, &s.dst), 0);
	s.sport = sport;
	s.dport = dport;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.window = 65535;
	s.payload = (const uint8_t *)payload;
	s.payload_len = payload ? strlen(payload) : 0;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = 1700000000;
	h.ts.tv_usec = at_ms * 1000;
	h.caplen = h.len = (bpf_u_int32)packet_build(buf, sizeof(buf), &s);
	assert_true(h.caplen > 0);
	pcap_dump((u_char *)d, &h, buf);
}

/* The client's side of one HTTP/1.0 exchange with the online server. */
static void write_session_pcap(const char *path)
{
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d;

	assert_non_null(dead);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	dump(d, 0, CLIENT, CLIENT_PORT, ONLINE, 80, CLIENT_ISN, 0, TCPF_SYN, NULL);
	dump(d, 1, CLIENT, CLIENT_PORT, ONLINE, 80, CLIENT_ISN + 1, ONLINE_ISN + 1, TCPF_ACK, NULL);
	dump(d, 2, CLIENT, CLIENT_PORT, ONLINE, 80, CLIENT_ISN + 1, ONLINE_ISN + 1,
	     TCPF_ACK | TCPF_PSH, request);
	dump(d, 3, CLIENT, CLIENT_PORT, ONLINE, 80, CLIENT_ISN + 1 + REQUEST_LEN,
	     ONLINE_ISN + 101, TCPF_ACK | TCPF_FIN, NULL);
	pcap_dump_close(d);
	pcap_close(dead);
}

/* ---- watching the link ---- */

static void on_frame(struct loop *l, int fd, unsigned events, void *arg)
{
	struct replay *r = arg;
	uint8_t frame[2048];
	struct sockaddr_ll from;
	socklen_t from_len = sizeof(from);
	struct packet p;
	const char *why;
	ssize_t n;
	char addr[INET6_ADDRSTRLEN];

	while ((n = recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &from_len)) > 0) {
		struct seen *s;

		if (from.sll_pkttype == PACKET_OUTGOING ||
		    packet_parse_dlt(PACKET_DLT_ETHERNET, frame, (size_t)n, 0, &p, &why) != 0)
			continue;
		/* Nothing but the replay to the target may ever show up here. */
		assert_string_equal(dp_addr_str(&p.dst, addr, sizeof(addr)), TARGET);
		assert_int_equal(p.dport, TARGET_PORT);
		assert_string_equal(dp_addr_str(&p.src, addr, sizeof(addr)), CLIENT);
		assert_int_equal(p.sport, CLIENT_PORT);
		assert_true(r->frame_count < MAX_FRAMES);
		s = &r->frames[r->frame_count++];
		s->flags = p.flags;
		s->seq = p.seq;
		s->ack = p.ack;
		s->payload_len = p.payload_len;
		memcpy(s->payload, p.payload, p.payload_len < 64 ? p.payload_len : 64);
	}
}

static const struct seen *find_frame(const struct replay *r, uint8_t flags, size_t payload_len)
{
	for (size_t i = 0; i < r->frame_count; i++)
		if ((r->frames[i].flags & flags) == flags && r->frames[i].payload_len == payload_len)
			return &r->frames[i];
	return NULL;
}

/* ---- playing the target through the fake intercept ---- */

static void summary(struct replay *r, uint32_t seq, uint32_t ack, uint8_t flags,
		    uint32_t payload_len)
{
	struct packet_spec s;
	uint8_t pkt[128], frame[256];
	struct wire_batch batch;
	size_t len;

	memset(&s, 0, sizeof(s));
	assert_int_equal(dp_addr_parse(TARGET, &s.src), 0);
	assert_int_equal(dp_addr_parse(CLIENT, &s.dst), 0);
	s.sport = TARGET_PORT;
	s.dport = CLIENT_PORT;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.window = 65535;
	len = packet_build(pkt, sizeof(pkt), &s);
	assert_true(len > 0);
	wire_batch_init(&batch, frame, sizeof(frame));
	assert_int_equal(wire_batch_add(&batch, 0, payload_len, pkt, len), 0);
	len = wire_batch_finish(&batch);
	fake_intercept_send(&r->fake, frame, len);
}

/* ---- conditions ---- */

static bool route_added(void *arg)
{
	struct replay *r = arg;

	return r->fake.route_count >= 1;
}

static bool enough_frames(void *arg)
{
	struct replay *r = arg;

	return r->frame_count >= r->want;
}

static bool request_sent(void *arg)
{
	return find_frame(arg, TCPF_ACK, REQUEST_LEN) != NULL;
}

static bool fin_sent(void *arg)
{
	return find_frame(arg, TCPF_FIN, 0) != NULL;
}

static bool rst_sent(void *arg)
{
	return find_frame(arg, TCPF_RST, 0) != NULL;
}

static bool finished(void *arg)
{
	struct replay *r = arg;

	return copy_finished(r->copy);
}

static bool route_deleted(void *arg)
{
	struct replay *r = arg;

	return r->fake.route_count >= 2;
}

static bool fake_closed(void *arg)
{
	struct replay *r = arg;

	return r->fake.closes >= 1;
}

/* ---- set-up ---- */

/* The namespace and its link, once for the process. */
static bool lab_ready;

static int group_setup(void **state)
{
	const char *why;

	lab_ready = netns_veth_pair(&why);
	if (!lab_ready)
		print_message("skipped: %s\n", why);
	return 0;
}

static int setup_replay(void **state, const char *transfer)
{
	struct replay *r;
	char port[16];
	int fd;

	if (!lab_ready) {
		*state = NULL;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	log_init("test_copy_glue_replay", LOG_LEVEL_WARNING);
	r->loop = loop_new();
	assert_non_null(r->loop);
	fake_intercept_start(&r->fake, r->loop);
	strcpy(r->pcap_path, "/tmp/test_copy_glue.XXXXXX");
	fd = mkstemp(r->pcap_path);
	assert_true(fd >= 0);
	close(fd);
	write_session_pcap(r->pcap_path);
	strcpy(r->stats_path, "/tmp/test_copy_glue_stats.XXXXXX");
	fd = mkstemp(r->stats_path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(port, sizeof(port), "127.0.0.1:%u", r->fake.port);
	{
		char *argv[] = { "doppel-copy", "-x", (char *)transfer, "-s", port,
				 "--offline", r->pcap_path, "--speed", "0",
				 "--stats-file", r->stats_path, NULL };
		char err[256];

		assert_int_equal(copy_options_parse(&r->options, 11, argv, err, sizeof(err)),
				 COPY_OPTIONS_RUN);
	}
	r->observer = fixture_observer_open("dpb");
	assert_true(r->observer >= 0);
	assert_int_equal(loop_add_fd(r->loop, r->observer, LOOP_READ, on_frame, r), 0);
	alarm(60);
	*state = r;
	return 0;
}

static int setup(void **state)
{
	return setup_replay(state, "80-" TARGET ":8080");
}

/* A target this namespace has no route to: every send is refused. */
#define UNREACHABLE "198.18.9.9"

static int setup_unreachable(void **state)
{
	return setup_replay(state, "80-" UNREACHABLE ":8080");
}

static int teardown(void **state)
{
	struct replay *r = *state;

	if (!r)
		return 0;
	copy_free(r->copy);
	loop_del_fd(r->loop, r->observer);
	close(r->observer);
	fake_intercept_stop(&r->fake);
	loop_free(r->loop);
	copy_options_free(&r->options);
	unlink(r->pcap_path);
	unlink(r->stats_path);
	free(r);
	alarm(0);
	return 0;
}

/* Start the copy and bring the session up to the target's SYN-ACK. */
static void start_and_handshake(struct replay *r)
{
	char err[256], addr[INET6_ADDRSTRLEN];

	r->copy = copy_new(&r->options, r->loop, err, sizeof(err));
	assert_non_null(r->copy);
	assert_true(fake_run_until(r->loop, route_added, r, 10000));
	/* The route names the session as the target sees it. */
	assert_true(r->fake.added[0]);
	assert_string_equal(dp_addr_str(&r->fake.routes[0].client, addr, sizeof(addr)), CLIENT);
	assert_int_equal(r->fake.routes[0].client_port, CLIENT_PORT);
	assert_string_equal(dp_addr_str(&r->fake.routes[0].target, addr, sizeof(addr)), TARGET);
	assert_int_equal(r->fake.routes[0].target_port, TARGET_PORT);
	r->want = 1;
	assert_true(fake_run_until(r->loop, enough_frames, r, 10000));
	assert_int_equal(r->frames[0].flags, TCPF_SYN);
	assert_int_equal(r->frames[0].seq, CLIENT_ISN);
	summary(r, TARGET_ISN, CLIENT_ISN + 1, TCPF_SYN | TCPF_ACK, 0);
	assert_true(fake_run_until(r->loop, request_sent, r, 10000));
}

static void test_session_replayed_and_closed(void **state)
{
	struct replay *r = *state;
	const struct seen *data;
	char json[4096];

	if (!r)
		skip();
	start_and_handshake(r);
	data = find_frame(r, TCPF_ACK, REQUEST_LEN);
	assert_int_equal(data->seq, CLIENT_ISN + 1);
	assert_int_equal(data->ack, TARGET_ISN + 1);
	assert_memory_equal(data->payload, request, REQUEST_LEN);

	/* The target answers 100 bytes, then the client's FIN goes ... */
	summary(r, TARGET_ISN + 1, CLIENT_ISN + 1 + REQUEST_LEN, TCPF_ACK | TCPF_PSH, 100);
	assert_true(fake_run_until(r->loop, fin_sent, r, 10000));
	/* ... and the target closes too. */
	summary(r, TARGET_ISN + 101, CLIENT_ISN + 2 + REQUEST_LEN, TCPF_ACK | TCPF_FIN, 0);
	assert_true(fake_run_until(r->loop, finished, r, 20000));

	/* The route was deleted once the session ended. */
	assert_true(fake_run_until(r->loop, route_deleted, r, 10000));
	assert_false(r->fake.added[1]);
	assert_int_equal(r->fake.routes[1].client_port, CLIENT_PORT);
	assert_null(find_frame(r, TCPF_RST, 0));
	copy_report(r->copy);
	unit_read_file(r->stats_path, json, sizeof(json));
	assert_non_null(strstr(json, "\"packets_captured\": 4,"));
	assert_non_null(strstr(json, "\"sessions_started\": 1,"));
	assert_non_null(strstr(json, "\"sessions_completed\": 1,"));
	assert_non_null(strstr(json, "\"ended_closed\": 1,"));
	assert_non_null(strstr(json, "\"summaries\": 3,"));
	assert_non_null(strstr(json, "\"bytes_replayed\": 18,"));
	assert_non_null(strstr(json, "\"intercept_connected\": 1,"));
}

static void test_stop_resets_the_target(void **state)
{
	struct replay *r = *state;

	if (!r)
		skip();
	start_and_handshake(r);
	copy_stop(r->copy, "test stop");
	assert_true(fake_run_until(r->loop, rst_sent, r, 10000));
	assert_true(fake_run_until(r->loop, fake_closed, r, 10000));
	/* The route was deleted, then the intercept told we are stopping. */
	assert_int_equal(r->fake.route_count, 2);
	assert_false(r->fake.added[1]);
	assert_int_equal(r->fake.error_code, WIRE_ERR_SHUTDOWN);
}

static bool route_restored(void *arg)
{
	struct replay *r = arg;

	return r->fake.accepts >= 2 && r->fake.route_count >= 2;
}

/* The intercept restarts: the session goes on, and its route is
 * registered again on the new connection (docs/protocol.md section 3). */
static void test_lost_intercept_restores_routes(void **state)
{
	struct replay *r = *state;
	char json[4096], addr[INET6_ADDRSTRLEN];

	if (!r)
		skip();
	start_and_handshake(r);
	fake_intercept_drop(&r->fake);
	assert_true(fake_run_until(r->loop, route_restored, r, 10000));
	assert_true(r->fake.added[1]);
	assert_string_equal(dp_addr_str(&r->fake.routes[1].client, addr, sizeof(addr)), CLIENT);
	assert_int_equal(r->fake.routes[1].client_port, CLIENT_PORT);
	assert_int_equal(r->fake.routes[1].target_port, TARGET_PORT);
	assert_false(copy_finished(r->copy));
	assert_null(find_frame(r, TCPF_RST, 0));
	copy_report(r->copy);
	unit_read_file(r->stats_path, json, sizeof(json));
	assert_non_null(strstr(json, "\"ended_aborted\": 0,"));
	assert_non_null(strstr(json, "\"sessions_active\": 1,"));
	assert_non_null(strstr(json, "\"intercept_reconnects\": 1"));
}

/* The kernel refuses the SYN at flush time (ENETUNREACH): the session
 * ends with the reason, the daemon goes on, and the offline replay ends. */
static void test_send_failure_ends_session(void **state)
{
	struct replay *r = *state;
	char err[256], json[4096];

	if (!r)
		skip();
	r->copy = copy_new(&r->options, r->loop, err, sizeof(err));
	assert_non_null(r->copy);
	assert_true(fake_run_until(r->loop, finished, r, 10000));
	copy_report(r->copy);
	unit_read_file(r->stats_path, json, sizeof(json));
	assert_non_null(strstr(json, "\"sessions_started\": 1,"));
	assert_non_null(strstr(json, "\"ended_send_failed\": 1,"));
	/* Only the SYN was tried: no RST after a refusal. */
	assert_non_null(strstr(json, "\"send_errors\": 1,"));
	assert_non_null(strstr(json, "\"packets_sent\": 0,"));
	/* Its route came and went. */
	assert_true(fake_run_until(r->loop, route_deleted, r, 10000));
	assert_int_equal(r->frame_count, 0);
}

/* The session's file with a record cut short after it: the whole records
 * are played (the session starts and ends), then the replay finishes, and
 * copy_failed() says so (main exits 1). */
static int setup_damaged(void **state)
{
	struct replay *r;
	FILE *f;

	setup_replay(state, "80-" UNREACHABLE ":8080");
	r = *state;
	if (!r)
		return 0;
	f = fopen(r->pcap_path, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite("\x04\x00\x00\x00\x00\x00\x00\x00\x28\x00", 1, 10, f), 10);
	fclose(f);
	return 0;
}

static void test_damaged_file_fails_after_whole_records(void **state)
{
	struct replay *r = *state;
	char err[256], json[4096];

	if (!r)
		skip();
	r->copy = copy_new(&r->options, r->loop, err, sizeof(err));
	assert_non_null(r->copy);
	assert_false(copy_failed(r->copy));
	assert_true(fake_run_until(r->loop, finished, r, 10000));
	assert_true(copy_failed(r->copy));
	copy_report(r->copy);
	unit_read_file(r->stats_path, json, sizeof(json));
	assert_non_null(strstr(json, "\"packets_captured\": 4,"));
	assert_non_null(strstr(json, "\"sessions_started\": 1,"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_replayed_and_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_resets_the_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_intercept_restores_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_failure_ends_session, setup_unreachable,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_fails_after_whole_records,
						setup_damaged, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
