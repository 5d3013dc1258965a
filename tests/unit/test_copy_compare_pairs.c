/*
 * test_copy_compare_pairs.c — copy/compare/compare.c: requests paired
 * with both servers' answers, from the four kinds of events the glue feeds
 * (client packets, online server packets, packets sent to the target,
 * target summaries), in the orders a replay produces them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "copy/compare/compare.h"

#define MAX_RESULTS 16

struct seen {
	size_t n;
	struct {
		uint64_t request;
		enum compare_kind kind;
		bool partial, slower;
		char online_verdict[ANSWER_VERDICT_MAX], target_verdict[ANSWER_VERDICT_MAX];
		char head[COMPARE_REQUEST_HEAD + 1];
		uint64_t online_ttfb, target_ttfb;
		uint64_t online_bytes, target_bytes;
	} r[MAX_RESULTS];
};

static void on_result(void *ctx, const struct compare_result *res)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_RESULTS);
	s->r[s->n].request = res->request;
	s->r[s->n].kind = res->kind;
	s->r[s->n].partial = res->partial;
	s->r[s->n].slower = res->slower;
	strcpy(s->r[s->n].online_verdict, res->online->verdict);
	strcpy(s->r[s->n].target_verdict, res->target->verdict);
	memcpy(s->r[s->n].head, res->request_head, res->request_head_len);
	s->r[s->n].head[res->request_head_len] = 0;
	s->r[s->n].online_ttfb = res->online_ttfb_us;
	s->r[s->n].target_ttfb = res->target_ttfb_us;
	s->r[s->n].online_bytes = res->online->bytes;
	s->r[s->n].target_bytes = res->target->bytes;
	s->n++;
}

static struct session_key key;
static const uint32_t CISN = 1000, OISN = 50000, TISN = 900000;

static void set_addr(struct dp_addr *a, uint8_t last)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->bytes[0] = 198;
	a->bytes[1] = 18;
	a->bytes[3] = last;
}

static int setup(void **state)
{
	memset(&key, 0, sizeof(key));
	set_addr(&key.client, 1);
	set_addr(&key.target, 3);
	key.client_port = 40000;
	key.target_port = 80;
	return 0;
}

static struct compare *make(struct seen *seen, enum compare_proto proto, size_t max_sessions)
{
	struct compare_config cfg = {
		.max_sessions = max_sessions, .transfer_count = 1, .slower_min_us = 100,
	};

	cfg.compared[0] = true;
	cfg.answer[0].proto = proto;
	cfg.answer[0].head_bytes = 32;
	memset(seen, 0, sizeof(*seen));
	struct compare *c = compare_new(&cfg, on_result, seen);

	assert_non_null(c);
	return c;
}

/* A packet with just what compare.c reads. */
static struct packet pkt(uint8_t flags, uint32_t seq, const char *data)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.flags = flags;
	p.seq = seq;
	p.payload = (const uint8_t *)data;
	p.payload_len = data ? strlen(data) : 0;
	p.payload_present = p.payload_len;
	return p;
}

/* From the target: src the target, dst the client. */
static struct packet from_target(uint8_t flags, uint32_t seq, const char *data)
{
	struct packet p = pkt(flags, seq, data);

	p.src = key.target;
	p.dst = key.client;
	p.sport = key.target_port;
	p.dport = key.client_port;
	return p;
}

static void handshake(struct compare *c)
{
	struct packet p = pkt(TCPF_SYN, CISN, NULL);

	compare_client_packet(c, 0, 0, &key, &p);
	p = pkt(TCPF_SYN | TCPF_ACK, OISN, NULL);
	compare_online_packet(c, 1, &key, &p);
	p = from_target(TCPF_SYN | TCPF_ACK, TISN, NULL);
	compare_target_packet(c, 2, &p);
}

#define REQ1 "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
#define REQ2 "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: 1\r\n\r\nok"
#define OK200B "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: 2\r\n\r\nok"
#define E500 "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nok"

static void test_keepalive_pairs(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_HTTP, 10);
	uint32_t cs = CISN + 1, os = OISN + 1, ts = TISN + 1;

	handshake(c);
	assert_true(compare_wants(c, &key));
	/* Request 1 online at t=100, its answer at 150 (sent again at 160:
	 * taken once); the replay sends it at 1000, the target answers at 1300. */
	struct packet p = pkt(TCPF_ACK | TCPF_PSH, cs, REQ1);

	compare_client_packet(c, 100, 0, &key, &p);
	p = pkt(TCPF_ACK, os, OK200);
	compare_online_packet(c, 150, &key, &p);
	compare_online_packet(c, 160, &key, &p);
	os += strlen(OK200);
	p = pkt(TCPF_ACK | TCPF_PSH, cs, REQ1);
	compare_target_sent(c, 1000, &key, &p);
	p = from_target(TCPF_ACK, ts, OK200B);
	compare_target_packet(c, 1300, &p);
	ts += strlen(OK200B);
	assert_int_equal(seen.n, 0);	/* neither answer is over yet */
	cs += strlen(REQ1);
	/* Request 2: online answer 1 is over; the target's when it leaves. */
	p = pkt(TCPF_ACK | TCPF_PSH, cs, REQ2);
	compare_client_packet(c, 200, 0, &key, &p);
	assert_int_equal(seen.n, 0);
	p = pkt(TCPF_ACK, os, E500);
	compare_online_packet(c, 220, &key, &p);
	p = pkt(TCPF_ACK | TCPF_PSH, cs, REQ2);
	compare_target_sent(c, 1400, &key, &p);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.r[0].request, 0);
	assert_int_equal(seen.r[0].kind, COMPARE_SAME);	/* Date is volatile */
	assert_string_equal(seen.r[0].head, REQ1);
	assert_int_equal(seen.r[0].online_ttfb, 50);
	assert_int_equal(seen.r[0].target_ttfb, 300);
	assert_true(seen.r[0].slower);	/* 250 us later and six times: past 100 us and 2x */
	p = from_target(TCPF_ACK, ts, OK200);
	compare_target_packet(c, 1420, &p);
	compare_session_end(c, 2000, &key);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.r[1].request, 1);
	assert_int_equal(seen.r[1].kind, COMPARE_STATUS);
	assert_string_equal(seen.r[1].online_verdict, "500");
	assert_string_equal(seen.r[1].target_verdict, "200");
	assert_false(seen.r[1].slower);	/* 20 us on both sides */
	assert_false(compare_wants(c, &key));
	const struct compare_counters *n = compare_counters(c);

	assert_int_equal(n->sessions, 1);
	assert_int_equal(n->requests, 2);
	assert_int_equal(n->kinds[COMPARE_SAME], 1);
	assert_int_equal(n->kinds[COMPARE_STATUS], 1);
	assert_int_equal(n->slower, 1);
	const struct latency_table *t = compare_latency(c, 0);

	assert_int_equal(t->online_ttfb.count, 2);
	/* 300 and 20: the median is the low one, to within its bucket. */
	assert_in_range(latency_quantile(&t->target_ttfb, 0.5), 20, 22);
	assert_in_range(latency_quantile(&t->target_ttfb, 1.0), 256, 300);
	assert_int_equal(compare_active(c), 0);
	compare_free(c);
}

static void test_pipelined_burst_is_one_pair_and_fin_ends_answers(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_REDIS, 10);
	uint32_t cs = CISN + 1;

	handshake(c);
	struct packet p = pkt(TCPF_ACK, cs, "*1\r\n$4\r\nPING\r\n");

	compare_client_packet(c, 10, 0, &key, &p);
	cs += (uint32_t)p.payload_len;
	p = pkt(TCPF_ACK, cs, "*1\r\n$4\r\nPING\r\n");	/* before any answer: same request */
	compare_client_packet(c, 11, 0, &key, &p);
	p = pkt(TCPF_ACK | TCPF_FIN, OISN + 1, "+PONG\r\n+PONG\r\n");
	compare_online_packet(c, 20, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
	compare_target_sent(c, 30, &key, &p);
	p = from_target(TCPF_ACK, TISN + 1, "+PONG\r\n");
	compare_target_packet(c, 40, &p);
	p = from_target(TCPF_ACK | TCPF_FIN, TISN + 8, "-ERR no\r\n");
	compare_target_packet(c, 41, &p);
	assert_int_equal(seen.n, 1);	/* both sides closed: the pair is over */
	assert_int_equal(seen.r[0].kind, COMPARE_STATUS);
	assert_string_equal(seen.r[0].target_verdict, "ERR");
	assert_int_equal(seen.r[0].online_bytes, 14);
	assert_int_equal(seen.r[0].target_bytes, 16);
	compare_session_end(c, 50, &key);
	assert_int_equal(seen.n, 1);
	compare_free(c);
}

/* The engine may send the next requests before the target's answer is
 * whole (its pacing counts bytes, and the target's answers were longer):
 * each answer still goes to its own request, by the online answers'
 * message counts, and a request the online server did not answer (a
 * goodbye) gets none. */
static void test_early_next_request(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_REDIS, 10);
	uint32_t cs = CISN + 1, os = OISN + 1, ts = TISN + 1;
	const char *reqs[] = { "*1\r\n$4\r\nINCR\r\n", "*1\r\n$4\r\nINCR\r\n", "*1\r\n$4\r\nQUIT\r\n" };
	const char *online[] = { ":1\r\n", ":2\r\n", NULL };
	const char *target[] = { "-ERR unknown command 'INCR'\r\n", "-ERR unknown command 'INCR'\r\n" };
	struct packet p;

	handshake(c);
	for (int i = 0; i < 3; i++) {
		p = pkt(TCPF_ACK, cs, reqs[i]);
		compare_client_packet(c, 10 + i, 0, &key, &p);
		if (online[i]) {
			p = pkt(TCPF_ACK, os, online[i]);
			compare_online_packet(c, 11 + i, &key, &p);
			os += (uint32_t)strlen(online[i]);
		}
		cs += (uint32_t)strlen(reqs[i]);
	}
	/* All three leave before the target answers anything. */
	cs = CISN + 1;
	for (int i = 0; i < 3; i++) {
		p = pkt(TCPF_ACK, cs, reqs[i]);
		compare_target_sent(c, 20 + i, &key, &p);
		cs += (uint32_t)strlen(reqs[i]);
	}
	for (int i = 0; i < 2; i++) {
		p = from_target(TCPF_ACK, ts, target[i]);
		compare_target_packet(c, 30 + i, &p);
		ts += (uint32_t)strlen(target[i]);
	}
	assert_int_equal(seen.n, 2);	/* both whole by count: reported */
	compare_session_end(c, 40, &key);
	assert_int_equal(seen.n, 3);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(seen.r[i].kind, COMPARE_STATUS);
		assert_int_equal(seen.r[i].target_bytes, strlen(target[i]));
	}
	assert_int_equal(seen.r[2].kind, COMPARE_SAME);	/* QUIT: no answer online, none at the target */
	assert_int_equal(seen.r[2].target_bytes, 0);
	compare_free(c);
}

/* Requests sent early (pipelined at the target) whose answers come in one
 * packet, the second answer's start in the first's: each answer takes its
 * own messages, by the online count, so both pairs are the same (they
 * used to go to the first, leaving the second "missing"). */
static void test_answers_sharing_a_packet(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_HTTP, 10);
	uint32_t cs = CISN + 1, os = OISN + 1;
	const char *reqs[] = { REQ1, REQ2, REQ1 };
	const char *online[] = { OK200, E500, OK200 };
	struct packet p;

	handshake(c);
	for (int i = 0; i < 3; i++) {
		p = pkt(TCPF_ACK, cs, reqs[i]);
		compare_client_packet(c, 10 + i, 0, &key, &p);
		p = pkt(TCPF_ACK, os, online[i]);
		compare_online_packet(c, 11 + i, &key, &p);
		os += (uint32_t)strlen(online[i]);
		cs += (uint32_t)strlen(reqs[i]);
	}
	cs = CISN + 1;
	for (int i = 0; i < 3; i++) {
		p = pkt(TCPF_ACK, cs, reqs[i]);
		compare_target_sent(c, 20 + i, &key, &p);
		cs += (uint32_t)strlen(reqs[i]);
	}
	/* The first two answers in one packet, the third in two, the cut
	 * inside its headers. */
	char both[256], third1[16];

	snprintf(both, sizeof(both), "%s%s", OK200B, E500);
	p = from_target(TCPF_ACK, TISN + 1, both);
	compare_target_packet(c, 30, &p);
	assert_int_equal(seen.n, 2);
	snprintf(third1, sizeof(third1), "%.10s", OK200);
	p = from_target(TCPF_ACK, TISN + 1 + (uint32_t)strlen(both), third1);
	compare_target_packet(c, 31, &p);
	p = from_target(TCPF_ACK, TISN + 1 + (uint32_t)(strlen(both) + 10), OK200 + 10);
	compare_target_packet(c, 32, &p);
	compare_session_end(c, 40, &key);
	assert_int_equal(seen.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(seen.r[i].kind, COMPARE_SAME);
		assert_int_equal(seen.r[i].target_bytes, strlen(i == 0 ? OK200B : online[i]));
	}
	assert_string_equal(seen.r[1].target_verdict, "500");
	compare_free(c);
}

/* The client closes (wrk at the end of its run) before the online answer
 * comes: the replayed session may end before the target answers, so no
 * answer at the target is no difference (partial); an answer that began
 * before the close is still required. */
static void test_client_left_before_the_answer(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_HTTP, 10);
	uint32_t cs = CISN + 1, os = OISN + 1;
	struct packet p;

	handshake(c);
	p = pkt(TCPF_ACK, cs, REQ1);
	compare_client_packet(c, 10, 0, &key, &p);
	p = pkt(TCPF_ACK, os, OK200);
	compare_online_packet(c, 11, &key, &p);
	os += (uint32_t)strlen(OK200);
	cs += (uint32_t)strlen(REQ1);
	p = pkt(TCPF_ACK, cs, REQ2);
	compare_client_packet(c, 12, 0, &key, &p);
	cs += (uint32_t)strlen(REQ2);
	p = pkt(TCPF_ACK | TCPF_FIN, cs, NULL);
	compare_client_packet(c, 13, 0, &key, &p);
	p = pkt(TCPF_ACK, os, OK200);
	compare_online_packet(c, 14, &key, &p);
	compare_session_end(c, 20, &key);	/* the target answered neither */
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.r[0].kind, COMPARE_MISSING);
	assert_int_equal(seen.r[1].kind, COMPARE_SAME);
	assert_true(seen.r[1].partial);
	compare_free(c);
}

static void test_missing_and_partial(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_HTTP, 10);

	handshake(c);
	struct packet p = pkt(TCPF_ACK, CISN + 1, REQ1);

	compare_client_packet(c, 10, 0, &key, &p);
	p = pkt(TCPF_ACK, OISN + 1, OK200);
	compare_online_packet(c, 20, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_target_sent(c, 30, &key, &p);
	compare_session_end(c, 40, &key);	/* the target never answered */
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.r[0].kind, COMPARE_MISSING);

	/* A target payload cut to its first bytes: the verdict is compared,
	 * the body is not. */
	handshake(c);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_client_packet(c, 10, 0, &key, &p);
	p = pkt(TCPF_ACK, OISN + 1, OK200);
	compare_online_packet(c, 20, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_target_sent(c, 30, &key, &p);
	p = from_target(TCPF_ACK, TISN + 1, OK200);
	p.payload_present = 20;
	compare_target_packet(c, 40, &p);
	compare_session_end(c, 50, &key);
	assert_int_equal(seen.n, 2);
	assert_true(seen.r[1].partial);
	assert_int_equal(seen.r[1].kind, COMPARE_SAME);
	assert_int_equal(compare_counters(c)->partial, 1);

	/* A summary lost (the engine acks past it: it never comes again):
	 * the stream goes on after the hole, the answer is partial, and the
	 * next request's answer is whole again. */
	handshake(c);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_client_packet(c, 10, 0, &key, &p);
	p = pkt(TCPF_ACK, OISN + 1, OK200);
	compare_online_packet(c, 20, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1 + (uint32_t)strlen(REQ1), REQ2);
	compare_client_packet(c, 30, 0, &key, &p);
	p = pkt(TCPF_ACK, OISN + 1 + (uint32_t)strlen(OK200), E500);
	compare_online_packet(c, 40, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_target_sent(c, 50, &key, &p);
	p = from_target(TCPF_ACK, TISN + 1 + 10, OK200 + 10);	/* the first 10 bytes lost */
	compare_target_packet(c, 60, &p);
	p = pkt(TCPF_ACK, CISN + 1 + (uint32_t)strlen(REQ1), REQ2);
	compare_target_sent(c, 70, &key, &p);
	p = from_target(TCPF_ACK, TISN + 1 + (uint32_t)strlen(OK200), E500);
	compare_target_packet(c, 80, &p);
	compare_session_end(c, 90, &key);
	assert_int_equal(seen.n, 4);
	assert_true(seen.r[2].partial);
	assert_int_equal(seen.r[2].kind, COMPARE_SAME);	/* its start unseen: no verdict to compare */
	assert_false(seen.r[3].partial);
	assert_int_equal(seen.r[3].kind, COMPARE_SAME);	/* 500 on both sides */
	assert_int_equal(seen.r[3].target_bytes, strlen(E500));
	assert_int_equal(compare_counters(c)->partial, 2);
	compare_free(c);
}

/* The capture lost the online answer's tail (a kernel drop on a burst) and
 * then saw its FIN: no data packet showed a hole, the FIN does. The pair
 * is partial, not a body difference; the same for the target's answer. */
#define CLOSE_HEAD "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
#define CLOSE_BODY "0123456789abcdef"

static void test_online_tail_lost_before_fin(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_HTTP, 10);
	const char *whole = CLOSE_HEAD CLOSE_BODY;
	uint32_t all = (uint32_t)strlen(whole);

	handshake(c);
	struct packet p = pkt(TCPF_ACK, CISN + 1, REQ1);

	compare_client_packet(c, 10, 0, &key, &p);
	p = pkt(TCPF_ACK, OISN + 1, CLOSE_HEAD "012345");
	compare_online_packet(c, 20, &key, &p);
	p = pkt(TCPF_ACK | TCPF_FIN, OISN + 1 + all, NULL);	/* bytes 6..15 of the body lost */
	compare_online_packet(c, 30, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_target_sent(c, 40, &key, &p);
	p = from_target(TCPF_ACK | TCPF_FIN, TISN + 1, whole);
	compare_target_packet(c, 50, &p);
	compare_session_end(c, 60, &key);
	assert_int_equal(seen.n, 1);
	assert_true(seen.r[0].partial);
	assert_int_equal(seen.r[0].kind, COMPARE_SAME);
	assert_int_equal(compare_counters(c)->kinds[COMPARE_BODY], 0);
	assert_int_equal(compare_counters(c)->partial, 1);

	/* The same on the target's side (summaries lost at intercept). */
	handshake(c);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_client_packet(c, 10, 0, &key, &p);
	p = pkt(TCPF_ACK | TCPF_FIN, OISN + 1, whole);
	compare_online_packet(c, 20, &key, &p);
	p = pkt(TCPF_ACK, CISN + 1, REQ1);
	compare_target_sent(c, 30, &key, &p);
	p = from_target(TCPF_ACK, TISN + 1, CLOSE_HEAD "012345");
	compare_target_packet(c, 40, &p);
	p = from_target(TCPF_ACK | TCPF_FIN, TISN + 1 + all, NULL);
	compare_target_packet(c, 50, &p);
	compare_session_end(c, 60, &key);
	assert_int_equal(seen.n, 2);
	assert_true(seen.r[1].partial);
	assert_int_equal(seen.r[1].kind, COMPARE_SAME);
	assert_int_equal(compare_counters(c)->kinds[COMPARE_BODY], 0);
	compare_free(c);
}

static void test_bounds(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_RAW, 1);
	uint32_t cs = CISN + 1, os = OISN + 1;

	handshake(c);
	/* A second session past the cap of one is skipped and counted. */
	struct session_key other = key;

	other.client_port = 40001;
	struct packet p = pkt(TCPF_SYN, 7, NULL);

	compare_client_packet(c, 0, 0, &other, &p);
	assert_false(compare_wants(c, &other));
	assert_int_equal(compare_counters(c)->sessions_skipped, 1);
	/* More requests in flight than the ring holds: comparing stops. */
	for (int i = 0; i <= COMPARE_PENDING_MAX; i++) {
		p = pkt(TCPF_ACK, cs, "q");
		compare_client_packet(c, 10, 0, &key, &p);
		cs++;
		p = pkt(TCPF_ACK, os, "a");
		compare_online_packet(c, 11, &key, &p);
		os++;
	}
	assert_false(compare_wants(c, &key));
	assert_int_equal(compare_counters(c)->sessions_skipped, 2);
	/* Transfers not compared are ignored. */
	p = pkt(TCPF_SYN, 7, NULL);
	compare_client_packet(c, 0, 5, &other, &p);
	assert_false(compare_transfer_on(c, 5));
	compare_session_end(c, 20, &key);
	assert_int_equal(seen.n, 0);
	compare_free(c);
}

/* The comparison's memory (its share of -m): sessions and requests in
 * flight are charged; a session that does not fit is refused, one whose
 * next request does not fit stops being compared, both counted; what a
 * session held comes back when it ends. */
static void test_memory_budget(void **state)
{
	struct seen seen;
	const size_t S = compare_session_bytes(), R = compare_request_bytes();
	struct compare_config cfg = {
		.max_sessions = 10, .max_bytes = S + 3 * R, .transfer_count = 1,
	};
	uint32_t cs = CISN + 1, os = OISN + 1;

	cfg.compared[0] = true;
	cfg.answer[0].proto = COMPARE_RAW;
	memset(&seen, 0, sizeof(seen));
	struct compare *c = compare_new(&cfg, on_result, &seen);

	assert_non_null(c);
	assert_true(R > 2 * COMPARE_DIGEST_STATE_BYTES && S > 0);
	handshake(c);
	assert_int_equal(compare_memory(c), S);
	for (int i = 0; i < 3; i++) {
		struct packet p = pkt(TCPF_ACK, cs++, "q");

		compare_client_packet(c, 10, 0, &key, &p);
		p = pkt(TCPF_ACK, os++, "a");
		compare_online_packet(c, 11, &key, &p);
	}
	assert_int_equal(compare_memory(c), S + 3 * R);
	assert_int_equal(compare_counters(c)->memory_refused, 0);
	/* A second session does not fit: refused, replayed uncompared. */
	struct session_key other = key;

	other.client_port = 40001;
	struct packet p = pkt(TCPF_SYN, 7, NULL);

	compare_client_packet(c, 0, 0, &other, &p);
	assert_false(compare_wants(c, &other));
	assert_int_equal(compare_counters(c)->memory_refused, 1);
	assert_int_equal(compare_counters(c)->sessions_skipped, 1);
	/* The first one's fourth request does not fit: it stops being
	 * compared and its requests go back to the budget. */
	p = pkt(TCPF_ACK, cs++, "q");
	compare_client_packet(c, 12, 0, &key, &p);
	assert_false(compare_wants(c, &key));
	assert_int_equal(compare_counters(c)->memory_refused, 2);
	assert_int_equal(compare_counters(c)->sessions_skipped, 2);
	assert_int_equal(compare_memory(c), S);
	compare_session_end(c, 20, &key);
	assert_int_equal(compare_memory(c), 0);
	/* Room again: the next session is compared. */
	p = pkt(TCPF_SYN, 7, NULL);
	compare_client_packet(c, 30, 0, &other, &p);
	assert_true(compare_wants(c, &other));
	assert_int_equal(compare_memory(c), S);
	/* The engine refused it: forgotten, its memory back, nothing
	 * reported; forgetting twice is harmless. */
	p = pkt(TCPF_ACK, 8, "q");
	compare_client_packet(c, 31, 0, &other, &p);
	assert_int_equal(compare_memory(c), S + R);
	compare_forget(c, &other);
	compare_forget(c, &other);
	assert_false(compare_wants(c, &other));
	assert_int_equal(compare_memory(c), 0);
	assert_int_equal(compare_counters(c)->sessions_skipped, 3);
	assert_int_equal(seen.n, 0);
	compare_free(c);
}

/* A replay that lags 100 requests behind its online conversation (a long
 * sysbench connection): the ring grows past its first slots, charged, and
 * every pair is compared once the replay catches up, in order. */
static void test_ring_grows(void **state)
{
	struct compare_config cfg = { .max_sessions = 1, .transfer_count = 1 };
	const size_t S = compare_session_bytes(), R = compare_request_bytes();
	const uint32_t cs = CISN + 1, os = OISN + 1, ts = TISN + 1;
	const int n = 100;

	cfg.compared[0] = true;
	cfg.answer[0].proto = COMPARE_REDIS;
	struct compare *c = compare_new(&cfg, NULL, NULL);

	assert_non_null(c);
	handshake(c);
	for (int i = 0; i < n; i++) {
		struct packet p = pkt(TCPF_ACK, cs + 4 * (uint32_t)i, "GET\n");

		compare_client_packet(c, 10, 0, &key, &p);
		p = pkt(TCPF_ACK, os + 4 * (uint32_t)i, ":1\r\n");
		compare_online_packet(c, 11, &key, &p);
	}
	assert_true(compare_wants(c, &key));
	/* 8 slots grown to 128 */
	assert_int_equal(compare_memory(c), S + 120 * sizeof(void *) + (size_t)n * R);
	for (int i = 0; i < n; i++) {
		struct packet p = pkt(TCPF_ACK, cs + 4 * (uint32_t)i, "GET\n");

		compare_target_sent(c, 100, &key, &p);
		p = from_target(TCPF_ACK, ts + 4 * (uint32_t)i, ":1\r\n");
		compare_target_packet(c, 101, &p);
	}
	compare_session_end(c, 200, &key);
	assert_int_equal(compare_counters(c)->requests, n);
	assert_int_equal(compare_counters(c)->kinds[COMPARE_SAME], n);
	assert_int_equal(compare_counters(c)->sessions_skipped, 0);
	assert_int_equal(compare_memory(c), 0);
	compare_free(c);
}

static void test_latency_quantiles(void **state)
{
	struct latency_hist h;

	memset(&h, 0, sizeof(h));
	assert_int_equal(latency_quantile(&h, 0.5), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		latency_add(&h, v * 100);
	uint64_t p50 = latency_quantile(&h, 0.5), p99 = latency_quantile(&h, 0.99);

	/* Within a bucket (12.5 %) of 50,000 and 99,000. */
	assert_true(p50 >= 50000 * 7 / 8 && p50 <= 50000 * 9 / 8);
	assert_true(p99 >= 99000 * 7 / 8 && p99 <= 100000);
	assert_int_equal(h.max, 100000);
}

/* MySQL packets: 3-byte length, sequence id, payload; appended at b + *n. */
static void my_pkt(uint8_t *b, size_t *n, uint8_t seq, const void *p, size_t len)
{
	b[*n] = (uint8_t)len;
	b[*n + 1] = (uint8_t)(len >> 8);
	b[*n + 2] = (uint8_t)(len >> 16);
	b[*n + 3] = seq;
	memcpy(b + *n + 4, p, len);
	*n += len + 4;
}

#define MY_DEF "\x03" "def\x00\x00\x00\x01x\x00\x0c\x21\x00\x00\x00\x00\x00\xfd\x00\x00\x00\x00\x00"
#define MY_EOF "\xfe\x00\x00\x02\x00"

/* A packet of binary bytes (pkt() takes strings). */
static struct packet bin(struct packet p, const uint8_t *data, size_t len)
{
	p.payload = data;
	p.payload_len = p.payload_present = len;
	return p;
}

/* Prepared statements (sysbench --db-ps-mode): PREPARE, EXECUTE, then
 * CLOSE in its own segment (no answer) with the next PREPARE, and an
 * EXECUTE. The target's four answers come in one packet, after the engine
 * sent every request: each pair takes its own answer, the prepare's last
 * EOF included, and all are the same. Issue 15 saw the prepare's
 * definitions read as answers of their own, and every later pair shifted. */
static void test_mysql_prepared_statements(void **state)
{
	struct seen seen;
	struct compare *c = make(&seen, COMPARE_MYSQL, 10);
	static const uint8_t prep_ok[12] = { 0x00, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	static const uint8_t row[5] = { 0x00, 0x00, 2, 'h', 'i' };
	uint8_t req[6][64], ans[4][256], target[1024];
	size_t rl[6] = { 0 }, al[4] = { 0 }, tl = 0;
	/* requests: 0 prepare, 1 execute, 2 close + 3 prepare (one request), 4 execute */
	my_pkt(req[0], &rl[0], 0, "\x16SELECT c FROM t WHERE id=?", 27);
	my_pkt(req[1], &rl[1], 0, "\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00", 10);
	my_pkt(req[2], &rl[2], 0, "\x19\x01\x00\x00\x00", 5);
	my_pkt(req[3], &rl[3], 0, "\x16UPDATE t SET k=k+1 WHERE id=?", 30);
	my_pkt(req[4], &rl[4], 0, "\x17\x02\x00\x00\x00\x00\x01\x00\x00\x00", 10);
	/* answers: a prepare with one parameter (its list closed by an EOF),
	 * a binary result set, the same prepare, an OK */
	for (int i = 0; i < 3; i += 2) {
		my_pkt(ans[i], &al[i], 1, prep_ok, sizeof(prep_ok));
		my_pkt(ans[i], &al[i], 2, MY_DEF, 24);
		my_pkt(ans[i], &al[i], 3, MY_EOF, 5);
	}
	my_pkt(ans[1], &al[1], 1, "\x01", 1);
	my_pkt(ans[1], &al[1], 2, MY_DEF, 24);
	my_pkt(ans[1], &al[1], 3, MY_EOF, 5);
	my_pkt(ans[1], &al[1], 4, row, sizeof(row));
	my_pkt(ans[1], &al[1], 5, MY_EOF, 5);
	my_pkt(ans[3], &al[3], 1, "\x00\x01\x00\x02\x00\x00\x00", 7);
	const int pair_of[5] = { 0, 1, 2, 2, 3 };	/* the request each segment is of */
	uint32_t cs = CISN + 1, os = OISN + 1;
	struct packet p;

	handshake(c);
	for (int i = 0; i < 5; i++) {
		p = bin(pkt(TCPF_ACK, cs, NULL), req[i], rl[i]);
		compare_client_packet(c, 10 + i, 0, &key, &p);
		cs += (uint32_t)rl[i];
		if (i == 2)
			continue;	/* no answer to the close */
		int k = pair_of[i];

		p = bin(pkt(TCPF_ACK, os, NULL), ans[k], al[k]);
		compare_online_packet(c, 11 + i, &key, &p);
		os += (uint32_t)al[k];
	}
	cs = CISN + 1;
	for (int i = 0; i < 5; i++) {
		p = bin(pkt(TCPF_ACK, cs, NULL), req[i], rl[i]);
		compare_target_sent(c, 20 + i, &key, &p);
		cs += (uint32_t)rl[i];
	}
	for (int k = 0; k < 4; k++) {
		memcpy(target + tl, ans[k], al[k]);
		tl += al[k];
	}
	p = bin(from_target(TCPF_ACK, TISN + 1, NULL), target, tl);
	compare_target_packet(c, 30, &p);
	compare_session_end(c, 40, &key);
	assert_int_equal(seen.n, 4);
	const char *verdicts[4] = { "PREPARED", "RESULT", "PREPARED", "OK" };

	for (int k = 0; k < 4; k++) {
		assert_int_equal(seen.r[k].kind, COMPARE_SAME);
		assert_string_equal(seen.r[k].online_verdict, verdicts[k]);
		assert_string_equal(seen.r[k].target_verdict, verdicts[k]);
		assert_int_equal(seen.r[k].online_bytes, al[k]);
		assert_int_equal(seen.r[k].target_bytes, al[k]);
	}
	compare_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_keepalive_pairs, setup),
		cmocka_unit_test_setup(test_pipelined_burst_is_one_pair_and_fin_ends_answers, setup),
		cmocka_unit_test_setup(test_early_next_request, setup),
		cmocka_unit_test_setup(test_answers_sharing_a_packet, setup),
		cmocka_unit_test_setup(test_client_left_before_the_answer, setup),
		cmocka_unit_test_setup(test_missing_and_partial, setup),
		cmocka_unit_test_setup(test_online_tail_lost_before_fin, setup),
		cmocka_unit_test_setup(test_bounds, setup),
		cmocka_unit_test_setup(test_memory_budget, setup),
		cmocka_unit_test_setup(test_ring_grows, setup),
		cmocka_unit_test_setup(test_mysql_prepared_statements, setup),
		cmocka_unit_test(test_latency_quantiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
