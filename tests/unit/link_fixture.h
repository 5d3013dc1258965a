/*
 * link_fixture.h — what the intercept link tests share (test_copy_link*.c):
 * a loop, a fake intercept on 127.0.0.1, the links pointed at it with
 * short timers, and handlers that record every event and summary.
 *
 * Header-only (static inline) on purpose: every non-test_ file of
 * tests/unit/ is linked into every unit test binary, the library-only ones
 * too, and those do not link the intercept link.
 */
#ifndef DOPPEL_LINK_FIXTURE_H
#define DOPPEL_LINK_FIXTURE_H

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

#include "copy/engine/engine.h"
#include "fake_intercept.h"
#include "copy/link/intercept_link.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

#define LINK_FIXTURE_MAX 64

struct link_fixture {
	struct loop *loop;
	struct fake_intercept fake;
	struct intercept_link_config cfg;
	struct intercept_links *links;
	size_t want;			/* for the conditions of the tests */

	unsigned up_count, down_count, dropped_count, expired_count;
	bool last_down_was_ready;
	char last_reason[256];
	/* retry_delay_ms of the link at each DOWN event */
	uint64_t delays[LINK_FIXTURE_MAX];

	struct packet summaries[LINK_FIXTURE_MAX];
	uint8_t payloads[LINK_FIXTURE_MAX][64];	/* their first payload bytes */
	size_t summary_count;
};

static inline void link_fixture_on_summary(void *ctx, const struct packet *p)
{
	struct link_fixture *fx = ctx;

	if (fx->summary_count < LINK_FIXTURE_MAX) {
		fx->summaries[fx->summary_count] = *p;
		/* The buffer is the link's: keep no pointers into it. */
		fx->summaries[fx->summary_count].l3 = NULL;
		fx->summaries[fx->summary_count].tcp = NULL;
		fx->summaries[fx->summary_count].payload = NULL;
		memcpy(fx->payloads[fx->summary_count], p->payload,
		       p->payload_present < 64 ? p->payload_present : 64);
	}
	fx->summary_count++;
}

static inline void link_fixture_on_event(void *ctx, size_t index, const char *name,
					 enum intercept_link_event ev, bool was_ready,
					 const char *reason)
{
	struct link_fixture *fx = ctx;
	struct intercept_link_status status;

	assert_int_equal(index, 0);
	assert_non_null(strstr(name, "127.0.0.1:"));
	snprintf(fx->last_reason, sizeof(fx->last_reason), "%s", reason);
	switch (ev) {
	case LINK_EVENT_UP:
		fx->up_count++;
		break;
	case LINK_EVENT_DOWN:
		intercept_links_status(fx->links, 0, &status);
		assert_int_equal(status.state, LINK_WAITING);
		if (fx->down_count < LINK_FIXTURE_MAX)
			fx->delays[fx->down_count] = status.retry_delay_ms;
		fx->down_count++;
		fx->last_down_was_ready = was_ready;
		break;
	case LINK_EVENT_SUMMARY_DROPPED:
		fx->dropped_count++;
		break;
	case LINK_EVENT_EXPIRED:
		fx->expired_count++;
		break;
	}
}

static inline void link_fixture_no_key(void *ctx, const struct session_key *k)
{
}

static inline int link_fixture_setup(void **state)
{
	struct link_fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->loop = loop_new();
	assert_non_null(fx->loop);
	fake_intercept_start(&fx->fake, fx->loop);
	intercept_link_config_defaults(&fx->cfg);
	/* Alarm as a guard: a hanging link kills the binary, not the suite. */
	alarm(60);
	*state = fx;
	return 0;
}

/* Create the links (with fx->cfg as the test left it) and start them. */
static inline void link_fixture_connect_to(struct link_fixture *fx, uint16_t port)
{
	struct intercept_endpoint end;
	struct intercept_links_handlers handlers = {
		.ctx = fx, .summary = link_fixture_on_summary, .event = link_fixture_on_event,
	};

	memset(&end, 0, sizeof(end));
	assert_int_equal(dp_addr_parse("127.0.0.1", &end.addr), 0);
	end.port = port;
	fx->links = intercept_links_new(fx->loop, &end, 1, &fx->cfg, &handlers);
	assert_non_null(fx->links);
	intercept_links_start(fx->links);
}

static inline void link_fixture_connect(struct link_fixture *fx)
{
	link_fixture_connect_to(fx, fx->fake.port);
}

static inline int link_fixture_teardown(void **state)
{
	struct link_fixture *fx = *state;

	intercept_links_free(fx->links);
	fake_intercept_stop(&fx->fake);
	loop_free(fx->loop);
	free(fx);
	alarm(0);
	return 0;
}

static inline bool link_fixture_hello_sent(void *arg)
{
	struct link_fixture *fx = arg;

	return fx->fake.frame_count >= 1;
}

static inline struct session_key link_fixture_key(const char *client, uint16_t port)
{
	struct session_key k;

	memset(&k, 0, sizeof(k));
	assert_int_equal(dp_addr_parse(client, &k.client), 0);
	assert_int_equal(dp_addr_parse("198.18.0.3", &k.target), 0);
	k.client_port = port;
	k.target_port = 80;
	return k;
}

/* The target's SYN-ACK to 198.18.0.1:40000, as intercept would summarise it. */
static inline size_t link_fixture_synack(uint8_t *buf, size_t cap)
{
	struct packet_spec s;
	size_t len;

	memset(&s, 0, sizeof(s));
	assert_int_equal(dp_addr_parse("198.18.0.3", &s.src), 0);
	assert_int_equal(dp_addr_parse("198.18.0.1", &s.dst), 0);
	s.sport = 80;
	s.dport = 40000;
	s.seq = 5000000;
	s.ack = 1000001;
	s.flags = TCPF_SYN | TCPF_ACK;
	s.window = 65535;
	s.opt.has_mss = true;
	s.opt.mss = 1460;
	len = packet_build(buf, cap, &s);
	assert_true(len > 0);
	return len;
}

#endif
