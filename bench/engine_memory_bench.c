/*
 * engine_memory_bench.c — what a concurrent session costs in memory.
 *
 * Opens N sessions in the engine, all alive at once, each with a SYN, the
 * target's SYN-ACK, the client's ACK and a little data (--data-bytes,
 * default 100), then stops: the sessions sit idle. Two states:
 *
 *   --state inflight  the target has not acknowledged the data yet, so the
 *                     engine holds it (the worst case: every session has
 *                     a request in flight);
 *   --state idle      the target acknowledged the data and answered, the
 *                     client acknowledged the answer: an idle keep-alive
 *                     connection, which holds no buffer.
 *
 * Prints the process's resident memory before and after (VmRSS from
 * /proc/self/status), the delta per session, and the engine's own
 * buffered_bytes. Nothing is sent: the sink counts. Clients are
 * 198.18.0.0/16 addresses, 60,000 ports each; the target 198.19.0.1:8080.
 * No timer runs: the clock does not move while the sessions are opened.
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

#define PROGRAM "engine_memory_bench"
#define CLIENT_ISN 1000000u
#define TARGET_ISN 5000000u
#define ONLINE_ISN 9000000u
#define ANSWER_BYTES 1000u
#define MAX_DATA_BYTES 1400u

struct memory_config {
	uint64_t sessions, data_bytes;
	bool idle;
};

static uint64_t packets_sent;

static enum engine_send_result sink_send(void *ctx, const struct session_key *k,
					 const uint8_t *pkt, size_t len)
{
	packets_sent++;
	return ENGINE_SEND_OK;
}

static int sink_route_add(void *ctx, const struct session_key *k)
{
	return 0;
}

static void sink_route_del(void *ctx, const struct session_key *k)
{
}

/* Build one packet of session k and feed it in; summaries keep only their
 * headers, as intercept sends them. */
static void feed(struct engine *e, const struct session_key *k, bool from_client, uint8_t flags,
		 uint32_t seq, uint32_t ack, uint32_t payload_len)
{
	static uint8_t buf[PACKET_HEADERS_MAX + 2048];
	static const uint8_t payload[MAX_DATA_BYTES > ANSWER_BYTES ? MAX_DATA_BYTES : ANSWER_BYTES];
	struct packet_spec spec = {
		.src = from_client ? k->client : k->target,
		.dst = from_client ? k->target : k->client,
		.sport = from_client ? k->client_port : k->target_port,
		.dport = from_client ? k->target_port : k->client_port,
		.seq = seq,
		.ack = ack,
		.flags = flags,
		.window = from_client ? 502 : 509,
		.opt = { .has_timestamp = true, .tsval = 1000, .tsecr = 2000 },
		.payload = payload,
		.payload_len = payload_len,
	};
	struct packet p;
	const char *why = NULL;
	size_t len;

	if (flags & TCPF_SYN) {
		spec.window = 64240;
		spec.opt.has_mss = spec.opt.has_wscale = spec.opt.sack_permitted = true;
		spec.opt.mss = 1460;
		spec.opt.wscale = 7;
	}
	len = packet_build(buf, sizeof(buf), &spec);
	if (len == 0 || packet_parse(buf, len, 0, &p, &why) != 0) {
		fprintf(stderr, "%s: cannot build a packet: %s\n", PROGRAM, why ? why : "build");
		exit(1);
	}
	if (from_client) {
		engine_client_packet(e, 1000000, k, &p);
		return;
	}
	len = p.ip_header_len + p.tcp_header_len;
	if (packet_parse(buf, len, PACKET_TRUNCATED_OK, &p, &why) != 0) {
		fprintf(stderr, "%s: a summary does not parse: %s\n", PROGRAM, why);
		exit(1);
	}
	engine_target_packet(e, 1000000, &p);
}

static void open_session(struct engine *e, const struct memory_config *c, uint64_t index)
{
	struct session_key k = bench_session_key(index);
	uint32_t data = (uint32_t)c->data_bytes;

	feed(e, &k, true, TCPF_SYN, CLIENT_ISN, 0, 0);
	feed(e, &k, false, TCPF_SYN | TCPF_ACK, TARGET_ISN, CLIENT_ISN + 1, 0);
	feed(e, &k, true, TCPF_ACK, CLIENT_ISN + 1, ONLINE_ISN + 1, 0);
	feed(e, &k, true, TCPF_ACK | TCPF_PSH, CLIENT_ISN + 1, ONLINE_ISN + 1, data);
	if (!c->idle)
		return;
	feed(e, &k, false, TCPF_ACK | TCPF_PSH, TARGET_ISN + 1, CLIENT_ISN + 1 + data,
	     ANSWER_BYTES);
	feed(e, &k, true, TCPF_ACK, CLIENT_ISN + 1 + data, ONLINE_ISN + 1 + ANSWER_BYTES, 0);
}

static void parse_options(int argc, char **argv, struct memory_config *c)
{
	*c = (struct memory_config){ .sessions = 100000, .data_bytes = 100 };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			printf("usage: %s [--sessions N] [--data-bytes B] [--state inflight|idle]\n",
			       PROGRAM);
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "%s: %s: unknown option or missing value\n", PROGRAM, o);
			exit(2);
		}
		if (!strcmp(o, "--sessions")) {
			c->sessions = bench_parse_count(PROGRAM, o, v, 1, 100000000);
		} else if (!strcmp(o, "--data-bytes")) {
			c->data_bytes = bench_parse_count(PROGRAM, o, v, 1, MAX_DATA_BYTES);
		} else if (!strcmp(o, "--state")) {
			if (strcmp(v, "inflight") && strcmp(v, "idle")) {
				fprintf(stderr, "%s: --state '%s': inflight or idle\n", PROGRAM, v);
				exit(2);
			}
			c->idle = !strcmp(v, "idle");
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", PROGRAM, o);
			exit(2);
		}
		i++;
	}
}

int main(int argc, char **argv)
{
	struct memory_config c;
	struct engine_config cfg;
	struct engine_sink sink = { .send = sink_send, .route_add = sink_route_add,
				    .route_del = sink_route_del };
	const struct engine_counters *counters;
	struct engine *e;
	uint64_t rss_before, rss_after, start, elapsed;
	uint64_t expected_sent;

	parse_options(argc, argv, &c);
	engine_config_defaults(&cfg);
	cfg.max_sessions = 0;
	cfg.max_buffered_bytes = 0;
	cfg.hash_seed = 0x5eed5eed5eedull;
	e = engine_new(&cfg, &sink);
	if (!e) {
		fprintf(stderr, "%s: engine_new failed\n", PROGRAM);
		return 1;
	}
	rss_before = bench_rss_bytes();
	start = bench_now_ns();
	for (uint64_t i = 0; i < c.sessions; i++)
		open_session(e, &c, i);
	elapsed = bench_now_ns() - start;
	rss_after = bench_rss_bytes();
	counters = engine_counters(e);
	/* SYN, handshake ACK, the data; idle: and the ack of the answer. */
	expected_sent = c.sessions * (c.idle ? 4 : 3);
	if (counters->sessions_active != c.sessions || packets_sent != expected_sent) {
		fprintf(stderr, "%s: expected %llu live sessions and %llu packets sent, got %llu "
			"and %llu\n", PROGRAM, (unsigned long long)c.sessions,
			(unsigned long long)expected_sent,
			(unsigned long long)counters->sessions_active,
			(unsigned long long)packets_sent);
		return 1;
	}
	printf("engine memory: %llu sessions %s with %llu bytes of client data\n",
	       (unsigned long long)c.sessions,
	       c.idle ? "idle (data acknowledged, answered)" : "with their data in flight",
	       (unsigned long long)c.data_bytes);
	printf("rss before %.1f MiB, after %.1f MiB, delta per session %.0f bytes\n",
	       rss_before / 1048576.0, rss_after / 1048576.0,
	       (double)(rss_after - rss_before) / (double)c.sessions);
	printf("engine buffered_bytes %llu (%.1f per session)\n",
	       (unsigned long long)counters->buffered_bytes,
	       (double)counters->buffered_bytes / (double)c.sessions);
	printf("opening time %.0f ns per session (one run, wall clock)\n",
	       (double)elapsed / (double)c.sessions);
	engine_free(e);
	return 0;
}
