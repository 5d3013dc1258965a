/*
 * compare_bench.c — what --compare costs doppel-copy per request: the
 * pairing and the answer parsers (copy/compare/) fed the events of
 * kept-alive HTTP sessions, each request answered by both servers with a
 * body of --body bytes in 1448-byte segments (the capture's and
 * intercept's view), compared with the HTTP rules. Prints nanoseconds per
 * request (median of --runs) and the memory a session holds with one
 * request in flight. With --compare off doppel-copy makes no call here at
 * all (copy_compare.c returns on its NULL handle), so "off" costs nothing
 * to measure; this measures "on".
 *
 *   compare_bench [--sessions N] [--requests N] [--body BYTES] [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench/bench_util.h"
#include "copy/compare/compare.h"

#define SEGMENT 1448

static uint64_t compared;

static void on_result(void *ctx, const struct compare_result *r)
{
	compared += r->kind == COMPARE_SAME;
}

static struct packet pkt(uint8_t flags, uint32_t seq, const uint8_t *data, size_t len)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.flags = flags;
	p.seq = seq;
	p.payload = data;
	p.payload_len = p.payload_present = len;
	return p;
}

static void key_of(struct session_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->client.family = k->target.family = AF_INET;
	k->client.bytes[0] = 198;
	k->client.bytes[1] = 18;
	k->client.bytes[2] = (uint8_t)(i >> 16);
	k->client.bytes[3] = (uint8_t)(i >> 8);
	k->client_port = (uint16_t)(1024 + (i & 0xff));
	k->target.bytes[0] = 198;
	k->target.bytes[1] = 19;
	k->target_port = 80;
}

struct traffic {
	uint8_t request[64];
	size_t request_len;
	uint8_t *answer;
	size_t answer_len;
};

/* One session: handshake, requests and answers on both sides, end. */
static void session(struct compare *c, const struct traffic *t, uint32_t i, unsigned requests,
		    bool end)
{
	struct session_key k;
	struct packet p;
	uint32_t cs = 1000, os = 50000, ts = 90000;
	uint64_t now = (uint64_t)i * 1000;

	key_of(&k, i);
	p = pkt(TCPF_SYN, cs++, NULL, 0);
	compare_client_packet(c, now, 0, &k, &p);
	p = pkt(TCPF_SYN | TCPF_ACK, os++, NULL, 0);
	compare_online_packet(c, now, &k, &p);
	p = pkt(TCPF_SYN | TCPF_ACK, ts++, NULL, 0);
	p.src = k.target;
	p.dst = k.client;
	p.sport = k.target_port;
	p.dport = k.client_port;
	compare_target_packet(c, now, &p);
	for (unsigned r = 0; r < requests; r++) {
		struct packet q = pkt(TCPF_ACK | TCPF_PSH, cs, t->request, t->request_len);

		compare_client_packet(c, now, 0, &k, &q);
		compare_target_sent(c, now, &k, &q);
		cs += (uint32_t)t->request_len;
		for (size_t off = 0; off < t->answer_len; off += SEGMENT) {
			size_t n = t->answer_len - off < SEGMENT ? t->answer_len - off : SEGMENT;
			struct packet a = pkt(TCPF_ACK, os, t->answer + off, n);
			struct packet b = pkt(TCPF_ACK, ts, t->answer + off, n);

			b.src = k.target;
			b.dst = k.client;
			b.sport = k.target_port;
			b.dport = k.client_port;
			compare_online_packet(c, now + 1, &k, &a);
			compare_target_packet(c, now + 2, &b);
			os += (uint32_t)n;
			ts += (uint32_t)n;
		}
	}
	if (end)
		compare_session_end(c, now + 3, &k);
}

static struct compare *make(size_t max_sessions)
{
	struct compare_config cfg = { .max_sessions = max_sessions, .transfer_count = 1 };

	cfg.compared[0] = true;
	cfg.answer[0].proto = COMPARE_HTTP;
	cfg.answer[0].head_bytes = 256;
	return compare_new(&cfg, on_result, NULL);
}

int main(int argc, char **argv)
{
	uint64_t sessions = 2000, requests = 20, body = 16384, runs = 5;
	struct traffic t;

	for (int i = 1; i + 1 < argc; i += 2) {
		uint64_t *v = !strcmp(argv[i], "--sessions") ? &sessions :
			      !strcmp(argv[i], "--requests") ? &requests :
			      !strcmp(argv[i], "--body") ? &body : !strcmp(argv[i], "--runs") ? &runs : NULL;

		if (!v) {
			fprintf(stderr, "compare_bench: unknown option %s\n", argv[i]);
			return 2;
		}
		*v = bench_parse_count("compare_bench", argv[i], argv[i + 1], 1, 100000000);
	}
	t.request_len = (size_t)snprintf((char *)t.request, sizeof(t.request),
					 "GET /page HTTP/1.1\r\nHost: x\r\n\r\n");
	char head[128];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: %llu\r\n\r\n",
			  (unsigned long long)body);

	t.answer_len = (size_t)hl + body;
	t.answer = malloc(t.answer_len);
	if (!t.answer)
		return 1;
	memcpy(t.answer, head, (size_t)hl);
	memset(t.answer + hl, 'x', body);

	double *ns = calloc(runs, sizeof(*ns));

	for (uint64_t r = 0; r < runs; r++) {
		struct compare *c = make(sessions);
		uint64_t start = bench_now_ns();

		compared = 0;
		for (uint32_t i = 0; i < sessions; i++)
			session(c, &t, i, (unsigned)requests, true);
		ns[r] = (double)(bench_now_ns() - start) / (double)(sessions * requests);
		if (compared != sessions * requests) {
			fprintf(stderr, "compare_bench: %llu of %llu requests compared the same\n",
				(unsigned long long)compared, (unsigned long long)(sessions * requests));
			return 1;
		}
		compare_free(c);
	}
	struct bench_spread s = bench_spread_of(ns, runs);
	char what[160];

	snprintf(what, sizeof(what), "compare, HTTP, %llu-byte bodies, per request (both answers)",
		 (unsigned long long)body);
	bench_print_spread(what, "ns", &s, runs);

	/* Memory: sessions left open with their last request in flight. */
	struct compare *c = make(sessions);
	uint64_t before = bench_rss_bytes();

	for (uint32_t i = 0; i < sessions; i++)
		session(c, &t, i, 1, false);
	uint64_t after = bench_rss_bytes();

	printf("compare memory: %.0f bytes per session with one request in flight "
	       "(RSS, %llu sessions)\n", (double)(after - before) / (double)sessions,
	       (unsigned long long)sessions);
	compare_free(c);
	free(ns);
	free(t.answer);
	return 0;
}
