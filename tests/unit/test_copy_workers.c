/*
 * test_copy_workers.c — --workers: what the options refuse with it, the -c
 * addresses split between workers, -m split, and the workers' statistics
 * added up (copy_workers_sum). The fanout itself is the e2e scenario
 * `workers`'s (real namespaces, real sockets).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "copy/copy.h"
#include "copy/copy_map.h"
#include "copy/copy_options.h"
#include "copy/copy_workers.h"

static char err[1024];

static enum copy_options_result parse(struct copy_options *o, const char *const *args)
{
	char *argv[32] = { (char *)"doppel-copy" };
	int argc = 1;

	for (; *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	err[0] = '\0';
	return copy_options_parse(o, argc, argv, err, sizeof(err));
}

#define BASE "-x", "80-198.18.0.3:8080", "-s", "198.18.0.4", "--workers", "2"

static void assert_refused(const char *message, const char *const *args)
{
	struct copy_options o;

	assert_int_equal(parse(&o, args), COPY_OPTIONS_ERROR);
	assert_string_equal(err, message);
	copy_options_free(&o);
}

static void test_refused_combinations(void **state)
{
	(void)state;
	assert_refused("--workers 2 with --capture pcap: libpcap cannot join a fanout group; "
		       "use the afpacket capture (the default)",
		       (const char *[]){ BASE, "--capture", "pcap", NULL });
	assert_refused("--workers 2 with --offline: a file is played by one worker; give "
		       "--workers 1", (const char *[]){ BASE, "--offline", "x.pcap", NULL });
	assert_refused("--workers 2 with --mirror: not supported yet; give --workers 1",
		       (const char *[]){ BASE, "--mirror", "vxlan", NULL });
	assert_refused("--workers 2 with --compare: not supported yet; give --workers 1",
		       (const char *[]){ BASE, "--compare", "80=http", NULL });
	assert_refused("--workers 2 with -c: each worker needs client addresses of its own, "
		       "and -c gives 1", (const char *[]){ BASE, "-c", "198.19.200.1", NULL });
	assert_refused("--workers '0': 0 is out of range 1..64",
		       (const char *[]){ "-x", "80-198.18.0.3:8080", "-s", "198.18.0.4",
					 "--workers", "0", NULL });
	assert_refused("--workers '65': 65 is out of range 1..64",
		       (const char *[]){ "-x", "80-198.18.0.3:8080", "-s", "198.18.0.4",
					 "--workers", "65", NULL });
}

static void test_defaults_and_memory_split(void **state)
{
	struct copy_options o;
	struct engine_config one, two;

	(void)state;
	assert_int_equal(parse(&o, (const char *[]){ "-x", "80-198.18.0.3:8080", "-s",
						      "198.18.0.4", "-m", "64m", NULL }),
			 COPY_OPTIONS_RUN);
	assert_int_equal(o.workers, 1);
	copy_engine_config(&o, &one);
	o.workers = 2;
	copy_engine_config(&o, &two);
	assert_int_equal(two.max_sessions, one.max_sessions / 2);
	assert_int_equal(two.max_buffered_bytes, one.max_buffered_bytes / 2);
	copy_options_free(&o);
	/* --workers 2 with -c of 2 addresses and -n is fine. */
	assert_int_equal(parse(&o, (const char *[]){ BASE, "-c", "198.19.200.1-2", "-n", "2",
						      NULL }), COPY_OPTIONS_RUN);
	assert_int_equal(o.workers, 2);
	copy_options_free(&o);
}

/* Worker w rewrites clients to -c addresses w, w + N, ... only: two workers
 * never share one, and each uses all of its own. */
static void test_client_addresses_split(void **state)
{
	struct copy_options o;
	bool used[3][5];

	(void)state;
	memset(used, 0, sizeof(used));
	assert_int_equal(parse(&o, (const char *[]){ "-x", "80-198.18.0.3:8080", "-s",
						      "198.18.0.4", "--workers", "3", "-c",
						      "198.19.200.1-5", NULL }), COPY_OPTIONS_RUN);
	for (unsigned w = 0; w < 3; w++) {
		o.worker_index = w;
		for (unsigned c = 1; c < 255; c++) {
			struct dp_addr client = { .family = AF_INET }, out;
			uint8_t *b = client.bytes;

			b[0] = 198, b[1] = 18, b[2] = 1, b[3] = (uint8_t)c;
			copy_map_client(&o, 42, &client, &out);
			unsigned index = out.bytes[3] - 1;

			assert_true(index < 5);
			assert_int_equal(index % 3, w);
			used[w][index] = true;
		}
	}
	/* Worker 0 has addresses 0 and 3, worker 1 has 1 and 4, worker 2 has 2. */
	assert_true(used[0][0] && used[0][3] && used[1][1] && used[1][4] && used[2][2]);
	copy_options_free(&o);
}

static void test_sum(void **state)
{
	static struct copy_worker_slot slots[2], total;

	(void)state;
	memset(slots, 0, sizeof(slots));
	slots[0].values[COPY_STAT_SESSIONS_STARTED] = 10;
	slots[1].values[COPY_STAT_SESSIONS_STARTED] = 32;
	slots[0].values[COPY_STAT_SESSIONS_ACTIVE] = 3;
	slots[1].values[COPY_STAT_SESSIONS_ACTIVE] = 4;
	slots[0].values[COPY_STAT_INTERCEPT_CONNECTED] = 2;
	slots[1].values[COPY_STAT_INTERCEPT_CONNECTED] = 1;
	slots[0].transfer_packets[1] = 5;
	slots[1].transfer_packets[1] = 6;
	slots[0].links[0][COPY_LINK_UP] = 1;
	slots[1].links[0][COPY_LINK_UP] = 0;
	slots[0].links[1][COPY_LINK_UP] = 1;
	slots[1].links[1][COPY_LINK_UP] = 1;
	slots[0].links[0][COPY_LINK_FAILURES] = 7;
	slots[1].links[0][COPY_LINK_FAILURES] = 2;
	slots[0].links[0][COPY_LINK_OUTPUT_BYTES] = 100;
	slots[1].links[0][COPY_LINK_OUTPUT_BYTES] = 20;
	/* 99 fast packets in one worker, 1 at 8 ms in the other: the merged
	 * p50 is the fast bucket's bound, the p99 still the fast one, and a
	 * second slow one moves the p99. */
	slots[0].capture_delay.buckets[0] = 99;
	slots[0].capture_delay.count = 99;
	slots[1].capture_delay.buckets[8] = 1;
	slots[1].capture_delay.count = 1;
	copy_workers_sum(slots, 2, 2, 2, &total);
	assert_int_equal(total.values[COPY_STAT_SESSIONS_STARTED], 42);
	assert_int_equal(total.values[COPY_STAT_SESSIONS_ACTIVE], 7);
	assert_int_equal(total.values[COPY_STAT_INTERCEPT_CONNECTED], 1);
	assert_int_equal(total.transfer_packets[1], 11);
	assert_int_equal(total.links[0][COPY_LINK_UP], 0);
	assert_int_equal(total.links[1][COPY_LINK_UP], 1);
	assert_int_equal(total.links[0][COPY_LINK_FAILURES], 7);
	assert_int_equal(total.links[0][COPY_LINK_OUTPUT_BYTES], 120);
	assert_int_equal(total.capture_delay.count, 100);
	assert_int_equal(total.values[COPY_STAT_CAPTURE_DELAY_P50_US], 50);
	assert_int_equal(total.values[COPY_STAT_CAPTURE_DELAY_P99_US], 50);
	slots[1].capture_delay.buckets[8] = 2;
	slots[1].capture_delay.count = 2;
	copy_workers_sum(slots, 2, 2, 2, &total);
	assert_int_equal(total.values[COPY_STAT_CAPTURE_DELAY_P99_US], 8000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_combinations),
		cmocka_unit_test(test_defaults_and_memory_split),
		cmocka_unit_test(test_client_addresses_split),
		cmocka_unit_test(test_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
