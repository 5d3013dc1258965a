/*
 * engine_bench.c — what the session engine costs per replayed request.
 *
 * Plays both ends of synthetic sessions into the engine the way doppel-copy
 * feeds it: parsed captured client packets, and parsed response summaries
 * (headers only, PACKET_TRUNCATED_OK, payload length from the IP header).
 * One session, with R requests of Q bytes and answers of S full segments:
 *
 *   client SYN                      -> engine sends SYN
 *   target SYN-ACK                  -> engine sends ACK
 *   client ACK
 *   R times: client request         -> engine sends the request
 *            S target segments      -> engine acks each one
 *            client acks the online server's answer
 *   target FIN                      -> engine acks it
 *   client FIN                      -> engine sends FIN
 *   target ACK                      -> the session ends, closed
 *
 * so 6 + R(2 + S) packets go in and 4 + R(1 + S) come out per session.
 * Sessions run --concurrency at a time in lockstep (step j of each, then
 * step j + 1), the clock moving 1 ms per step, so that many sessions live
 * in the table at once as in a daemon. Packets are built and parsed before
 * the clock starts: the timed part is the engine calls alone. After each
 * run the engine's counters must show exactly the packets above and every
 * session closed; otherwise the figure would not be what it claims, and
 * the program exits 1. Under callgrind, run it with --runs 1 and read the
 * inclusive cost of engine_client_packet, engine_target_packet and
 * engine_tick (bench/run.sh does).
 *
 * Addresses: clients in 198.18.0.0/16, the target 198.19.0.1:8080. Nothing
 * is sent anywhere: the sink only counts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_addresses.h"
#include "bench_util.h"
#include "copy/engine/engine.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"

#define PROGRAM "engine_bench"
#define CLIENT_ISN 1000000u
#define TARGET_ISN 5000000u
#define ONLINE_ISN 9000000u	/* the online server's, in the client's acks */
#define SEGMENT_BYTES 1448u	/* a full segment at MSS 1460 with timestamps */
#define MAX_REQUEST_BYTES 60000u

struct bench_config {
	uint64_t sessions, requests, concurrency, request_bytes, response_segments, runs;
	bool send_at_once;
};

/* ---- the counting sink ---- */

struct counting_sink {
	uint64_t packets, bytes, routes_added, routes_deleted;
	uint64_t ended[END_REASON_COUNT];
};

static enum engine_send_result sink_send(void *ctx, const struct session_key *k,
					 const uint8_t *pkt, size_t len)
{
	struct counting_sink *sink = ctx;

	sink->packets++;
	sink->bytes += len;
	return ENGINE_SEND_OK;
}

static int sink_route_add(void *ctx, const struct session_key *k)
{
	((struct counting_sink *)ctx)->routes_added++;
	return 0;
}

static void sink_route_del(void *ctx, const struct session_key *k)
{
	((struct counting_sink *)ctx)->routes_deleted++;
}

static void sink_end(void *ctx, const struct session_key *k, enum engine_end_reason reason,
		     const char *detail)
{
	((struct counting_sink *)ctx)->ended[reason]++;
}

/* ---- the script ---- */

/* One batch of sessions, packets stored step-major: packets[step * count + i]. */
struct batch {
	size_t count, steps;
	struct session_key *keys;
	struct packet *packets;
	bool *from_client;		/* per step: the same for every session */
	uint8_t *arena;
	size_t arena_used, arena_cap;
};

static size_t steps_per_session(const struct bench_config *c)
{
	return 6 + c->requests * (2 + c->response_segments);
}

static uint64_t packets_out_per_session(const struct bench_config *c)
{
	return 4 + c->requests * (1 + c->response_segments);
}

static void *checked_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "%s: out of memory (%zu x %zu bytes)\n", PROGRAM, n, size);
		exit(1);
	}
	return p;
}

static void batch_alloc(struct batch *b, const struct bench_config *c)
{
	size_t slots = c->concurrency * steps_per_session(c);

	memset(b, 0, sizeof(*b));
	b->steps = steps_per_session(c);
	b->keys = checked_calloc(c->concurrency, sizeof(*b->keys));
	b->packets = checked_calloc(slots, sizeof(*b->packets));
	b->from_client = checked_calloc(b->steps, sizeof(*b->from_client));
	/* Client packets carry their payload, summaries only headers. */
	b->arena_cap = slots * PACKET_HEADERS_MAX + c->concurrency * c->requests * c->request_bytes;
	b->arena = checked_calloc(b->arena_cap, 1);
}

static void batch_free(struct batch *b)
{
	free(b->keys);
	free(b->packets);
	free(b->from_client);
	free(b->arena);
}

/* What one scripted packet is. */
struct segment {
	bool from_client;
	uint8_t flags;
	uint32_t seq, ack, payload_len;
	uint32_t tsval, tsecr;
};

/* Build, keep only what the daemon would have (the summary's headers),
 * and parse it back into the batch's slot. */
static void batch_put(struct batch *b, size_t step, size_t i, const struct segment *seg)
{
	static uint8_t scratch[PACKET_HEADERS_MAX + 65536];
	static const uint8_t request[MAX_REQUEST_BYTES] = { 'G', 'E', 'T', ' ', '/' };
	static const uint8_t answer[SEGMENT_BYTES];
	const struct session_key *k = &b->keys[i];
	struct packet_spec spec = {
		.src = seg->from_client ? k->client : k->target,
		.dst = seg->from_client ? k->target : k->client,
		.sport = seg->from_client ? k->client_port : k->target_port,
		.dport = seg->from_client ? k->target_port : k->client_port,
		.seq = seg->seq,
		.ack = seg->ack,
		.flags = seg->flags,
		.window = seg->from_client ? 502 : 509,
		.opt = { .has_timestamp = true, .tsval = seg->tsval, .tsecr = seg->tsecr },
		.payload = seg->from_client ? request : answer,
		.payload_len = seg->payload_len,
	};
	struct packet *p = &b->packets[step * b->count + i];
	const char *why = NULL;
	size_t len, keep;

	if (seg->flags & TCPF_SYN) {
		spec.window = seg->from_client ? 64240 : 65160;
		spec.opt.has_mss = true;
		spec.opt.mss = 1460;
		spec.opt.has_wscale = true;
		spec.opt.wscale = 7;
		spec.opt.sack_permitted = true;
	}
	len = packet_build(scratch, sizeof(scratch), &spec);
	if (len == 0 || packet_parse(scratch, len, 0, p, &why) != 0) {
		fprintf(stderr, "%s: cannot build a scripted packet: %s\n", PROGRAM,
			why ? why : "packet_build refused the spec");
		exit(1);
	}
	keep = seg->from_client ? len : p->ip_header_len + p->tcp_header_len;
	if (b->arena_used + keep > b->arena_cap) {
		fprintf(stderr, "%s: script arena too small\n", PROGRAM);
		exit(1);
	}
	memcpy(b->arena + b->arena_used, scratch, keep);
	if (packet_parse(b->arena + b->arena_used, keep, PACKET_TRUNCATED_OK, p, &why) != 0) {
		fprintf(stderr, "%s: a scripted summary does not parse: %s\n", PROGRAM, why);
		exit(1);
	}
	b->arena_used += keep;
	b->from_client[step] = seg->from_client;
}

static void script_session(struct batch *b, size_t i, const struct bench_config *c)
{
	uint32_t q = (uint32_t)c->request_bytes;
	uint32_t answer = (uint32_t)c->response_segments * SEGMENT_BYTES;
	uint32_t requests = (uint32_t)c->requests;
	uint32_t client_end = CLIENT_ISN + 1 + requests * q;
	uint32_t target_end = TARGET_ISN + 1 + requests * answer;
	size_t step = 0;

#define PUT(client, fl, sq, ak, len)                                                          \
	do {                                                                                  \
		struct segment seg = { client, fl, sq, ak, len, 1000 + (uint32_t)step,         \
				       7000 + (uint32_t)step };                                \
		batch_put(b, step++, i, &seg);                                                \
	} while (0)

	PUT(true, TCPF_SYN, CLIENT_ISN, 0, 0);
	PUT(false, TCPF_SYN | TCPF_ACK, TARGET_ISN, CLIENT_ISN + 1, 0);
	PUT(true, TCPF_ACK, CLIENT_ISN + 1, ONLINE_ISN + 1, 0);
	for (uint32_t r = 0; r < requests; r++) {
		uint32_t request_seq = CLIENT_ISN + 1 + r * q;
		uint32_t answer_seq = TARGET_ISN + 1 + r * answer;

		/* The client's ack moved past the previous answer: pacing marks it. */
		PUT(true, TCPF_ACK | TCPF_PSH, request_seq, ONLINE_ISN + 1 + r * answer, q);
		for (uint32_t s = 0; s < c->response_segments; s++)
			PUT(false, TCPF_ACK | (s + 1 == c->response_segments ? TCPF_PSH : 0),
			    answer_seq + s * SEGMENT_BYTES, request_seq + q, SEGMENT_BYTES);
		PUT(true, TCPF_ACK, request_seq + q, ONLINE_ISN + 1 + (r + 1) * answer, 0);
	}
	PUT(false, TCPF_FIN | TCPF_ACK, target_end, client_end, 0);
	PUT(true, TCPF_FIN | TCPF_ACK, client_end, ONLINE_ISN + 1 + requests * answer + 1, 0);
	PUT(false, TCPF_ACK, target_end + 1, client_end + 1, 0);
#undef PUT
}

static void batch_build(struct batch *b, const struct bench_config *c, uint64_t first, size_t n)
{
	b->count = n;
	b->arena_used = 0;
	for (size_t i = 0; i < n; i++)
		b->keys[i] = bench_session_key(first + i);
	for (size_t i = 0; i < n; i++)
		script_session(b, i, c);
}

/* ---- one run ---- */

/* The engine's counters after a run must be exactly the script's. */
static void check_run(const struct bench_config *c, const struct engine_counters *counters,
		      const struct counting_sink *sink)
{
	uint64_t expected_out = c->sessions * packets_out_per_session(c);
	uint64_t expected_bytes = c->sessions * c->requests * c->request_bytes;

	if (counters->sessions_completed == c->sessions && counters->sessions_active == 0 &&
	    counters->packets_sent == expected_out && sink->packets == expected_out &&
	    counters->retransmissions == 0 && counters->bytes_replayed == expected_bytes &&
	    sink->routes_deleted == c->sessions)
		return;
	fprintf(stderr,
		"%s: the engine left the script: %llu of %llu sessions closed, %llu active, "
		"%llu packets sent (expected %llu), %llu retransmissions, %llu bytes replayed "
		"(expected %llu)\n",
		PROGRAM, (unsigned long long)counters->sessions_completed,
		(unsigned long long)c->sessions, (unsigned long long)counters->sessions_active,
		(unsigned long long)counters->packets_sent, (unsigned long long)expected_out,
		(unsigned long long)counters->retransmissions,
		(unsigned long long)counters->bytes_replayed, (unsigned long long)expected_bytes);
	for (int r = 0; r < END_REASON_COUNT; r++)
		if (counters->ended[r])
			fprintf(stderr, "  ended %s: %llu\n", engine_end_reason_name(r),
				(unsigned long long)counters->ended[r]);
	exit(1);
}

static void feed_batch(struct engine *e, const struct batch *b, uint64_t *now)
{
	for (size_t step = 0; step < b->steps; step++) {
		const struct packet *p = &b->packets[step * b->count];

		if (b->from_client[step]) {
			for (size_t i = 0; i < b->count; i++)
				engine_client_packet(e, *now, &b->keys[i], &p[i]);
		} else {
			for (size_t i = 0; i < b->count; i++)
				engine_target_packet(e, *now, &p[i]);
		}
		(*now)++;
		if (engine_next_deadline(e) <= *now)
			engine_tick(e, *now);
	}
}

/* Nanoseconds spent in the engine for one whole run. */
static uint64_t run_once(const struct bench_config *c, struct batch *b)
{
	struct counting_sink sink = { 0 };
	struct engine_sink engine_sink = {
		.ctx = &sink,
		.send = sink_send,
		.route_add = sink_route_add,
		.route_del = sink_route_del,
		.session_end = sink_end,
	};
	struct engine_config cfg;
	struct engine *e;
	uint64_t now = 1000000, elapsed = 0;

	engine_config_defaults(&cfg);
	cfg.max_sessions = 0;
	cfg.hash_seed = 0x5eed5eed5eedull;
	cfg.send_at_once = c->send_at_once;
	e = engine_new(&cfg, &engine_sink);
	if (!e) {
		fprintf(stderr, "%s: engine_new failed\n", PROGRAM);
		exit(1);
	}
	for (uint64_t first = 0; first < c->sessions; first += c->concurrency) {
		size_t n = (size_t)(c->sessions - first < c->concurrency ? c->sessions - first
									 : c->concurrency);
		uint64_t start;

		batch_build(b, c, first, n);
		start = bench_now_ns();
		feed_batch(e, b, &now);
		elapsed += bench_now_ns() - start;
	}
	check_run(c, engine_counters(e), &sink);
	engine_free(e);
	return elapsed;
}

/* ---- options ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [--sessions N] [--requests R] [--request-bytes Q]\n"
		"       [--response-segments S] [--concurrency C] [--runs K] [--send-at-once]\n"
		"Feeds the engine N synthetic sessions of R requests each and prints the\n"
		"engine's throughput: median, min and max over K runs.\n",
		PROGRAM);
}

static void parse_options(int argc, char **argv, struct bench_config *c)
{
	*c = (struct bench_config){ .sessions = 100000, .requests = 1, .concurrency = 1000,
				    .request_bytes = 300, .response_segments = 1, .runs = 5 };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t *target = NULL;
		uint64_t min = 1, max = 100000000;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(o, "--send-at-once")) {
			c->send_at_once = true;
			continue;
		} else if (!strcmp(o, "--sessions")) {
			target = &c->sessions;
		} else if (!strcmp(o, "--requests")) {
			target = &c->requests, max = 100000;
		} else if (!strcmp(o, "--request-bytes")) {
			target = &c->request_bytes, max = MAX_REQUEST_BYTES;
		} else if (!strcmp(o, "--response-segments")) {
			target = &c->response_segments, max = 1000;
		} else if (!strcmp(o, "--concurrency")) {
			target = &c->concurrency, max = 1000000;
		} else if (!strcmp(o, "--runs")) {
			target = &c->runs, max = 1000;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", PROGRAM, o);
			usage(stderr);
			exit(2);
		}
		if (!v) {
			fprintf(stderr, "%s: %s needs a value\n", PROGRAM, o);
			exit(2);
		}
		*target = bench_parse_count(PROGRAM, o, v, min, max);
		i++;
	}
	/* The client stream must not wrap past the online ISN's reach. */
	if (c->requests * (c->request_bytes + c->response_segments * SEGMENT_BYTES) > (1u << 30)) {
		fprintf(stderr, "%s: --requests x bytes per request: over 1 GiB per session\n",
			PROGRAM);
		exit(2);
	}
	if (c->concurrency > c->sessions)
		c->concurrency = c->sessions;
}

int main(int argc, char **argv)
{
	struct bench_config c;
	struct batch b;
	double *rate, *ns_per_request, *packet_rate;
	uint64_t requests, packets;
	struct bench_spread s;

	parse_options(argc, argv, &c);
	requests = c.sessions * c.requests;
	packets = c.sessions * (steps_per_session(&c) + packets_out_per_session(&c));
	rate = checked_calloc(c.runs, sizeof(*rate));
	ns_per_request = checked_calloc(c.runs, sizeof(*ns_per_request));
	packet_rate = checked_calloc(c.runs, sizeof(*packet_rate));
	batch_alloc(&b, &c);
	printf("engine: %llu sessions of %llu request(s) of %llu bytes, answers of %llu "
	       "segment(s), %llu at a time%s\n",
	       (unsigned long long)c.sessions, (unsigned long long)c.requests,
	       (unsigned long long)c.request_bytes, (unsigned long long)c.response_segments,
	       (unsigned long long)c.concurrency, c.send_at_once ? ", -W" : "");
	printf("requests_total=%llu packets_in=%llu packets_out=%llu\n",
	       (unsigned long long)requests,
	       (unsigned long long)(c.sessions * steps_per_session(&c)),
	       (unsigned long long)(c.sessions * packets_out_per_session(&c)));
	for (uint64_t run = 0; run < c.runs; run++) {
		double seconds = (double)run_once(&c, &b) / 1e9;

		rate[run] = (double)requests / seconds;
		ns_per_request[run] = seconds * 1e9 / (double)requests;
		packet_rate[run] = (double)packets / seconds;
	}
	s = bench_spread_of(rate, c.runs);
	bench_print_spread("engine requests per second", "req/s", &s, c.runs);
	s = bench_spread_of(ns_per_request, c.runs);
	bench_print_spread("engine time per request", "ns", &s, c.runs);
	s = bench_spread_of(packet_rate, c.runs);
	bench_print_spread("engine packets (in + out) per second", "pkt/s", &s, c.runs);
	batch_free(&b);
	free(rate);
	free(ns_per_request);
	free(packet_rate);
	return 0;
}
