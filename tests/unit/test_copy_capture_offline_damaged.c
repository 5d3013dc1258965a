/*
 * test_copy_capture_offline_damaged.c — bad --offline files, written byte
 * by byte by the test (libpcap's dumper cannot write a damaged file):
 *
 *   - capture_offline_check() refuses, before anything starts, an empty
 *     file, garbage, a header cut short, a directory, a missing file, an
 *     unsupported data-link type and a filter that does not compile, each with
 *     a message naming the file and what is wrong;
 *   - played, a record cut short (in its header or in its data) or with an
 *     impossible length (0x7fffffff) ends the replay with capture.error
 *     naming the record's byte offset, after the whole records before it
 *     were delivered, and no further round is played (--repeat);
 *   - a whole file leaves capture.error empty.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "loop_fixture.h"
#include "netns_fixture.h"

#define LINKTYPE_RAW 101
#define FILE_HEADER 24
#define RECORD_HEADER 16

struct damaged {
	char path[64];
	FILE *f;
	size_t packet_len;	/* of the TCP packet each record carries */
	uint8_t packet[128];
};

static void put_u32(FILE *f, uint32_t v)
{
	assert_int_equal(fwrite(&v, 4, 1, f), 1);	/* the file is host order */
}

static void put_u16(FILE *f, uint16_t v)
{
	assert_int_equal(fwrite(&v, 2, 1, f), 1);
}

/* A classic pcap header (magic in host order), raw IP, snaplen 65535. */
static void begin(struct damaged *d, uint32_t linktype)
{
	int fd;

	snprintf(d->path, sizeof(d->path), "/tmp/doppel-damaged-XXXXXX");
	fd = mkstemp(d->path);
	assert_true(fd >= 0);
	d->f = fdopen(fd, "wb");
	assert_non_null(d->f);
	put_u32(d->f, 0xa1b2c3d4);
	put_u16(d->f, 2);
	put_u16(d->f, 4);
	put_u32(d->f, 0);
	put_u32(d->f, 0);
	put_u32(d->f, 65535);
	put_u32(d->f, linktype);
	d->packet_len = fixture_tcp_packet(d->packet, sizeof(d->packet), "198.18.0.2", 40000,
					   "198.18.0.1", 80, 1000, 10);
	assert_true(d->packet_len > 0);
}

/* A record header saying caplen bytes, then at most have of the packet. */
static void record(struct damaged *d, uint32_t sec, uint32_t caplen, size_t have)
{
	put_u32(d->f, sec);
	put_u32(d->f, 0);
	put_u32(d->f, caplen);
	put_u32(d->f, caplen);
	if (have > d->packet_len)
		have = d->packet_len;
	assert_int_equal(fwrite(d->packet, 1, have, d->f), have);
}

static void whole(struct damaged *d, uint32_t sec)
{
	record(d, sec, (uint32_t)d->packet_len, d->packet_len);
}

static void end(struct damaged *d)
{
	assert_int_equal(fclose(d->f), 0);
}

static void write_bytes(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
}

static void expect_refused(const char *file, const char *filter, const char *want)
{
	char err[640] = "";

	assert_int_equal(capture_offline_check(file, filter, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("%s: got '%s', want it to contain '%s'", file ? file : "(null)", err, want);
}

static void test_bad_headers_refused_before_start(void **state)
{
	char path[] = "/tmp/doppel-bad-XXXXXX", dir[] = "/tmp/doppel-dir-XXXXXX", want[96];
	char err[640];
	struct damaged d;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	/* Empty. */
	snprintf(want, sizeof(want), "%s: truncated dump file", path);
	expect_refused(path, NULL, want);
	/* Garbage. */
	write_bytes(path, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	snprintf(want, sizeof(want), "%s: unknown file format", path);
	expect_refused(path, NULL, want);
	/* A header cut short. */
	write_bytes(path, "\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
	snprintf(want, sizeof(want), "%s: truncated dump file", path);
	expect_refused(path, NULL, want);
	unlink(path);
	/* Missing, a directory, no file at all. */
	expect_refused(path, NULL, "No such file or directory");
	assert_non_null(mkdtemp(dir));
	snprintf(want, sizeof(want), "%s: error reading dump file: Is a directory", dir);
	expect_refused(dir, NULL, want);
	rmdir(dir);
	expect_refused(NULL, NULL, "no file given");
	expect_refused("", NULL, "no file given");

	/* A data-link type we do not parse (802.11), and a bad filter. */
	begin(&d, 105);
	whole(&d, 1);
	end(&d);
	expect_refused(d.path, NULL, "not supported");
	unlink(d.path);
	begin(&d, LINKTYPE_RAW);
	whole(&d, 1);
	end(&d);
	expect_refused(d.path, "tcp portt 80", "filter 'tcp portt 80'");
	/* And the good file with a good filter passes. */
	assert_int_equal(capture_offline_check(d.path, "tcp port 80", err, sizeof(err)), 0);
	assert_int_equal(capture_offline_check(d.path, "", err, sizeof(err)), 0);
	unlink(d.path);
}

struct played {
	struct loop *loop;
	int packets;
	int done;
};

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct played *pl = ctx;

	assert_int_equal(p->dport, 80);
	pl->packets++;
}

static void on_done(void *ctx)
{
	struct played *pl = ctx;

	pl->done++;
	loop_stop(pl->loop);
}

/* Play path (repeat rounds, at once) to its end; capture.error into err. */
static struct played play(struct loop *l, const char *path, unsigned repeat, char *err,
			  size_t errlen)
{
	struct capture_config cfg = { .kind = CAPTURE_OFFLINE, .file = path, .repeat = repeat };
	struct played pl = { .loop = l };
	struct capture c;
	char why[640];

	memset(&c, 0, sizeof(c));
	c.ops = capture_ops_for(CAPTURE_OFFLINE);
	c.deliver = on_deliver;
	c.done = on_done;
	c.ctx = &pl;
	if (c.ops->open(&c, l, &cfg, why, sizeof(why)) != 0)
		fail_msg("open %s: %s", path, why);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(pl.done, 1);
	snprintf(err, errlen, "%s", c.error);
	c.ops->close(&c);
	return pl;
}

/* Two whole records, then the damage described by (caplen, have). */
static void expect_damage(struct loop *l, uint32_t caplen, size_t have, const char *what)
{
	char err[640], want[128];
	struct damaged d;
	struct played pl;
	long offset;

	begin(&d, LINKTYPE_RAW);
	whole(&d, 1);
	whole(&d, 2);
	offset = ftell(d.f);
	assert_int_equal(offset, FILE_HEADER + 2 * (RECORD_HEADER + (long)d.packet_len));
	if (caplen)
		record(&d, 3, caplen, have);
	else	/* a record header cut short */
		assert_int_equal(fwrite("\x03\x00\x00\x00\x00\x00", 1, have, d.f), have);
	end(&d);
	/* Three rounds asked: the damage ends the first. */
	pl = play(l, d.path, 3, err, sizeof(err));
	assert_int_equal(pl.packets, 2);
	snprintf(want, sizeof(want), "damaged at byte offset %ld (round 1): ", offset);
	if (!strstr(err, want) || !strstr(err, d.path) || !strstr(err, what))
		fail_msg("got '%s', want '%s' and '%s'", err, want, what);
	unlink(d.path);
}

static void test_truncated_record_data(void **state)
{
	expect_damage(*state, 40, 14, "truncated dump file");
}

static void test_truncated_record_header(void **state)
{
	expect_damage(*state, 0, 6, "truncated dump file");
}

static void test_impossible_record_length(void **state)
{
	expect_damage(*state, 0x7fffffff, 40, "2147483647");
}

static void test_whole_file_no_error(void **state)
{
	char err[640];
	struct damaged d;
	struct played pl;

	begin(&d, LINKTYPE_RAW);
	whole(&d, 1);
	whole(&d, 2);
	end(&d);
	pl = play(*state, d.path, 2, err, sizeof(err));
	assert_int_equal(pl.packets, 4);
	assert_string_equal(err, "");
	unlink(d.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup_loop, fixture_teardown_loop)
		T(test_bad_headers_refused_before_start),
		T(test_truncated_record_data),
		T(test_truncated_record_header),
		T(test_impossible_record_length),
		T(test_whole_file_no_error),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
