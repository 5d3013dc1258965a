/*
 * test_copy_capture_offline.c — the offline backend (capture_offline.c)
 * driven by a real event loop over pcap files the tests write themselves
 * (pcap_dump on a dead handle): Ethernet and Linux cooked (v1, and v2 with
 * IPv6) files, packets in file order with the file's stamps, non-TCP
 * counted malformed, the filter applied, timing scaled by speed (checked
 * as "not before", never as an upper bound), repeats, the done callback,
 * yielding to the loop at speed 0, a capture cut short by its snaplen, and
 * refused files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "loop_fixture.h"
#include "netns_fixture.h"

#define MAX_DELIVERED 4096
#define BASE_TS_US 1700000000000000ull

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 0xa }, mac_b[6] = { 2, 0, 0, 0, 0, 0xb };

struct record {
	struct loop *loop;
	int count;
	int done;
	int done_at_count;
	struct {
		uint64_t ts_us, at_ms;
		uint32_t seq;
		uint16_t dport;
		size_t payload_len, payload_present;
	} got[MAX_DELIVERED];
};

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct record *r = ctx;

	assert_true(r->count < MAX_DELIVERED);
	r->got[r->count].ts_us = ts_us;
	r->got[r->count].at_ms = loop_now_ms(r->loop);
	r->got[r->count].seq = p->seq;
	r->got[r->count].dport = p->dport;
	r->got[r->count].payload_len = p->payload_len;
	r->got[r->count].payload_present = p->payload_present;
	r->count++;
}

static void on_done(void *ctx)
{
	struct record *r = ctx;

	r->done++;
	r->done_at_count = r->count;
	loop_stop(r->loop);
}

/* A file being written. */
struct file {
	char path[64];
	pcap_t *dead;
	pcap_dumper_t *dumper;
	int dlt;
};

static void file_begin(struct file *f, int dlt)
{
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/doppel-offline-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->dlt = dlt;
	f->dead = pcap_open_dead(dlt, 262144);
	assert_non_null(f->dead);
	f->dumper = pcap_dump_open(f->dead, f->path);
	assert_non_null(f->dumper);
}

static void file_add_raw(struct file *f, uint64_t ts_us, const uint8_t *bytes, size_t caplen,
			 size_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(ts_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(ts_us % 1000000);
	h.caplen = (bpf_u_int32)caplen;
	h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)f->dumper, &h, bytes);
}

/* Add an IP packet behind the file's data-link header. */
static void file_add(struct file *f, uint64_t ts_us, const uint8_t *ip, size_t len)
{
	uint8_t frame[2048];
	size_t frame_len;

	if (f->dlt == DLT_EN10MB) {
		frame_len = fixture_ethernet_frame(frame, sizeof(frame), mac_a, mac_b, ip, len);
	} else if (f->dlt == DLT_LINUX_SLL2) {
		/* Linux cooked v2: protocol first, then reserved, interface
		 * index, hardware type, packet type, address length, address. */
		memset(frame, 0, 20);
		frame[0] = (ip[0] >> 4) == 6 ? 0x86 : 0x08;
		frame[1] = (ip[0] >> 4) == 6 ? 0xdd : 0x00;
		frame[7] = 2;
		frame[9] = 1;
		frame[11] = 6;
		memcpy(frame + 12, mac_b, 6);
		memcpy(frame + 20, ip, len);
		frame_len = 20 + len;
	} else {
		/* Linux cooked v1: packet type, hardware type, address
		 * length, 8 address bytes, protocol. */
		memset(frame, 0, 16);
		frame[3] = 1;
		frame[5] = 6;
		memcpy(frame + 6, mac_b, 6);
		frame[14] = (ip[0] >> 4) == 6 ? 0x86 : 0x08;
		frame[15] = (ip[0] >> 4) == 6 ? 0xdd : 0x00;
		memcpy(frame + 16, ip, len);
		frame_len = 16 + len;
	}
	file_add_raw(f, ts_us, frame, frame_len, frame_len);
}

static void file_add_tcp(struct file *f, uint64_t ts_us, uint16_t dport, uint32_t seq)
{
	uint8_t ip[200];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1",
					dport, seq, 10);

	file_add(f, ts_us, ip, len);
}

static void file_end(struct file *f)
{
	pcap_dump_close(f->dumper);
	pcap_close(f->dead);
}

struct run {
	struct capture capture;
	struct capture_config config;
	struct record *record;
};

static struct record *new_record(struct loop *l)
{
	struct record *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->loop = l;
	return r;
}

static void open_capture(struct run *run, struct loop *l, const char *path, double speed,
			 unsigned repeat, const char *filter)
{
	char err[256] = "";

	memset(run, 0, sizeof(*run));
	run->record = new_record(l);
	run->config.kind = CAPTURE_OFFLINE;
	run->config.file = path;
	run->config.speed = speed;
	run->config.repeat = repeat;
	run->config.filter = filter;
	run->capture.ops = capture_ops_for(CAPTURE_OFFLINE);
	run->capture.deliver = on_deliver;
	run->capture.done = on_done;
	run->capture.ctx = run->record;
	if (run->capture.ops->open(&run->capture, l, &run->config, err, sizeof(err)) != 0)
		fail_msg("open %s: %s", path, err);
}

static void finish(struct run *run, const char *path)
{
	run->capture.ops->close(&run->capture);
	free(run->record);
	unlink(path);
}

static void test_ethernet_file_in_order(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;
	uint8_t udp[64];
	size_t udp_len = fixture_udp_packet(udp, sizeof(udp), "198.18.0.2", "198.18.0.1", 80);

	file_begin(&f, DLT_EN10MB);
	file_add_tcp(&f, BASE_TS_US, 80, 1);
	file_add(&f, BASE_TS_US + 15000, udp, udp_len);
	file_add_tcp(&f, BASE_TS_US + 30000, 80, 2);
	file_add_tcp(&f, BASE_TS_US + 60000, 80, 3);
	file_end(&f);

	open_capture(&run, l, f.path, 1.0, 1, NULL);
	assert_int_equal(loop_run(l), 0);
	struct record *r = run.record;
	assert_int_equal(r->done, 1);
	assert_int_equal(r->count, 3);
	assert_int_equal(r->done_at_count, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r->got[i].seq, i + 1);
		assert_int_equal(r->got[i].dport, 80);
	}
	assert_int_equal(r->got[0].ts_us, BASE_TS_US);
	assert_int_equal(r->got[1].ts_us, BASE_TS_US + 30000);
	assert_int_equal(r->got[2].ts_us, BASE_TS_US + 60000);
	/* The file's timing: never earlier than its gaps. */
	assert_true(r->got[1].at_ms - r->got[0].at_ms >= 30);
	assert_true(r->got[2].at_ms - r->got[0].at_ms >= 60);
	assert_int_equal(run.capture.counters.packets, 3);
	assert_int_equal(run.capture.counters.malformed, 1);
	finish(&run, f.path);
}

static void test_cooked_file_with_filter(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;

	file_begin(&f, DLT_LINUX_SLL);
	file_add_tcp(&f, BASE_TS_US, 80, 1);
	file_add_tcp(&f, BASE_TS_US + 1, 81, 2);
	file_add_tcp(&f, BASE_TS_US + 2, 80, 3);
	file_end(&f);

	open_capture(&run, l, f.path, 0, 1, "tcp dst port 80");
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->done, 1);
	assert_int_equal(run.record->count, 2);
	assert_int_equal(run.record->got[0].seq, 1);
	assert_int_equal(run.record->got[1].seq, 3);
	assert_int_equal(run.capture.counters.malformed, 0);
	finish(&run, f.path);
}

static void test_cooked_v2_file_ipv6(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;
	uint8_t ip[200];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "2001:2::2", 40000, "2001:2::1", 80, 5, 10);

	file_begin(&f, DLT_LINUX_SLL2);
	file_add(&f, BASE_TS_US, ip, len);
	file_add_tcp(&f, BASE_TS_US + 1, 80, 6);
	file_end(&f);

	open_capture(&run, l, f.path, 0, 1, "tcp dst port 80");
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->count, 2);
	assert_int_equal(run.record->got[0].seq, 5);
	assert_int_equal(run.record->got[1].seq, 6);
	assert_int_equal(run.capture.counters.malformed, 0);
	finish(&run, f.path);
}

static void test_repeat(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;

	file_begin(&f, DLT_EN10MB);
	for (uint32_t seq = 1; seq <= 4; seq++)
		file_add_tcp(&f, BASE_TS_US + seq * 1000, 80, seq);
	file_end(&f);

	open_capture(&run, l, f.path, 0, 3, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->done, 1);
	assert_int_equal(run.record->count, 12);
	assert_int_equal(run.record->done_at_count, 12);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(run.record->got[i].seq, i % 4 + 1);
		assert_int_equal(run.record->got[i].ts_us, BASE_TS_US + (uint64_t)(i % 4 + 1) * 1000);
	}
	finish(&run, f.path);
}

static void test_slower_speed_stretches(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;

	file_begin(&f, DLT_EN10MB);
	file_add_tcp(&f, BASE_TS_US, 80, 1);
	file_add_tcp(&f, BASE_TS_US + 20000, 80, 2);
	file_end(&f);

	/* Half speed: a 20 ms gap takes at least 40 ms. */
	open_capture(&run, l, f.path, 0.5, 1, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->count, 2);
	assert_true(run.record->got[1].at_ms - run.record->got[0].at_ms >= 40);
	finish(&run, f.path);
}

struct yield_probe {
	struct record *record;
	int woken_mid_play;	/* fd callbacks between the first and last packet */
};

/* The pipe is never drained: it is ready on every turn of the loop. */
static void on_pipe(struct loop *l, int fd, unsigned events, void *arg)
{
	struct yield_probe *probe = arg;

	if (probe->record->count > 0 && probe->record->count < 2000)
		probe->woken_mid_play++;
}

static void test_fast_replay_yields_to_loop(void **state)
{
	struct loop *l = *state;
	struct yield_probe probe = { 0 };
	struct file f;
	struct run run;
	int fds[2];

	file_begin(&f, DLT_EN10MB);
	for (uint32_t seq = 1; seq <= 2000; seq++)
		file_add_tcp(&f, BASE_TS_US + seq, 80, seq);
	file_end(&f);

	open_capture(&run, l, f.path, 0, 1, NULL);
	probe.record = run.record;
	fixture_pipe(fds);
	fixture_write_byte(fds[1]);
	assert_int_equal(loop_add_fd(l, fds[0], LOOP_READ, on_pipe, &probe), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->count, 2000);
	assert_int_equal(run.record->done, 1);
	/* The ready fd was served while the file was still playing. */
	assert_true(probe.woken_mid_play > 0);
	loop_del_fd(l, fds[0]);
	close(fds[0]);
	close(fds[1]);
	finish(&run, f.path);
}

static void test_empty_file_is_done(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;

	file_begin(&f, DLT_EN10MB);
	file_end(&f);
	open_capture(&run, l, f.path, 1.0, 2, NULL);
	/* done comes from the loop, never from inside open(). */
	assert_int_equal(run.record->done, 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->done, 1);
	assert_int_equal(run.record->count, 0);
	finish(&run, f.path);
}

static void test_snaplen_cut_is_delivered(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;
	uint8_t ip[400], frame[420];
	size_t len = fixture_tcp_packet(ip, sizeof(ip), "198.18.0.2", 40000, "198.18.0.1", 80, 7, 300);
	size_t frame_len = fixture_ethernet_frame(frame, sizeof(frame), mac_a, mac_b, ip, len);

	file_begin(&f, DLT_EN10MB);
	file_add_raw(&f, BASE_TS_US, frame, 14 + 40 + 100, frame_len);
	file_end(&f);
	open_capture(&run, l, f.path, 0, 1, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->count, 1);
	assert_int_equal(run.record->got[0].payload_len, 300);
	assert_int_equal(run.record->got[0].payload_present, 100);
	finish(&run, f.path);
}

static void stop_loop(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

static void test_close_before_the_end(void **state)
{
	struct loop *l = *state;
	struct file f;
	struct run run;

	file_begin(&f, DLT_EN10MB);
	file_add_tcp(&f, BASE_TS_US, 80, 1);
	file_add_tcp(&f, BASE_TS_US + 10000000, 80, 2);	/* ten seconds later */
	file_end(&f);
	open_capture(&run, l, f.path, 1.0, 1, NULL);
	loop_timer_add(l, 30, stop_loop, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->count, 1);
	/* Closing cancels the timer waiting for packet 2: nothing runs on
	 * freed state (ASan would say). */
	run.capture.ops->close(&run.capture);
	loop_timer_add(l, 30, stop_loop, NULL);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(run.record->count, 1);
	assert_int_equal(run.record->done, 0);
	free(run.record);
	unlink(f.path);
}

static void expect_open_error(struct loop *l, const struct capture_config *cfg, const char *text)
{
	struct capture c = { .ops = &capture_offline_ops, .deliver = on_deliver };
	char err[512] = "";

	assert_int_equal(c.ops->open(&c, l, cfg, err, sizeof(err)), -1);
	assert_null(c.priv);
	if (!strstr(err, text))
		fail_msg("error \"%s\" does not say \"%s\"", err, text);
}

static void test_refused_files(void **state)
{
	struct loop *l = *state;
	struct capture_config cfg = { .kind = CAPTURE_OFFLINE, .speed = 1.0 };
	struct file f;

	cfg.file = "/nonexistent/doppel.pcap";
	expect_open_error(l, &cfg, "/nonexistent/doppel.pcap");
	cfg.file = NULL;
	expect_open_error(l, &cfg, "no file");

	file_begin(&f, DLT_NULL);
	file_end(&f);
	cfg.file = f.path;
	expect_open_error(l, &cfg, "data-link type NULL not supported");
	unlink(f.path);

	file_begin(&f, DLT_EN10MB);
	file_end(&f);
	cfg.filter = "tcp portt 80";
	expect_open_error(l, &cfg, "filter 'tcp portt 80': ");
	cfg.filter = NULL;
	cfg.speed = -1;
	expect_open_error(l, &cfg, "speed -1");
	unlink(f.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup_loop, fixture_teardown_loop)
		T(test_ethernet_file_in_order),
		T(test_cooked_file_with_filter),
		T(test_cooked_v2_file_ipv6),
		T(test_repeat),
		T(test_slower_speed_stretches),
		T(test_fast_replay_yields_to_loop),
		T(test_empty_file_is_done),
		T(test_snaplen_cut_is_delivered),
		T(test_close_before_the_end),
		T(test_refused_files),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
