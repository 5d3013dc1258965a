/*
 * test_copy_engine_send_failed.c — engine_send_failed(): a packet the send
 * backend refused after the sink had taken it (a batch flushed later) ends
 * its session END_SEND_FAILED, like a refusal at once, and without an RST
 * (the same path would refuse it); an unknown session is ignored.
 */
#include "engine_harness.h"

static void test_send_failed_later(void **state)
{
	struct harness h;
	struct session_key k1 = harness_key("198.18.0.1", 43020, "198.18.0.3", 80);
	struct session_key k2 = harness_key("198.18.0.1", 43021, "198.18.0.3", 80);

	harness_init(&h);
	harness_start(&h);
	harness_establish(&h, &k1, 65535);
	harness_establish(&h, &k2, 65535);
	harness_drain(&h);
	engine_send_failed(h.engine, h.now, &k1, "send failed: Operation not permitted");
	harness_expect_none(&h);
	assert_int_equal(h.end_count, 1);
	assert_int_equal(harness_last_end(&h)->reason, END_SEND_FAILED);
	assert_string_equal(harness_last_end(&h)->detail, "send failed: Operation not permitted");
	assert_int_equal(h.routes_deleted, 1);
	assert_int_equal(harness_counters(&h)->ended[END_SEND_FAILED], 1);
	assert_int_equal(harness_counters(&h)->sessions_failed, 1);
	assert_int_equal(harness_counters(&h)->sessions_active, 1);
	/* Again, or for a session never seen: nothing. */
	engine_send_failed(h.engine, h.now, &k1, "again");
	engine_send_failed(h.engine, h.now, &(struct session_key){ 0 }, NULL);
	assert_int_equal(h.end_count, 1);
	/* The other session goes on. */
	harness_advance(&h, 10);
	assert_int_equal(harness_counters(&h)->sessions_active, 1);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_failed_later),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
