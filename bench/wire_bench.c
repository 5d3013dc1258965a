/*
 * wire_bench.c — the wire codec's throughput on response summaries
 * (lib/wire/wire.h): how many summaries per second intercept can batch into
 * SUMMARIES frames, and how many the copy daemon can take out of a byte
 * stream and parse back into packets.
 *
 * Each summary is what intercept forwards for a typical response segment:
 * a 20-byte IPv4 header and a 32-byte TCP header (timestamps), no payload
 * prefix. Three timed parts, each repeated --runs times:
 *
 *   encode  wire_batch_add until the frame is full, wire_batch_finish;
 *   decode  the frames copied into the decoder in 64 KiB reads (as read()
 *           would), wire_decoder_next, wire_summary_next over each record;
 *   parse   decode, plus packet_parse(PACKET_TRUNCATED_OK) on each record:
 *           what the copy daemon does before the engine sees it.
 *
 * --single does one encode and one decode with parse, no timing to quote:
 * for callgrind, whose per-function inclusive counts split the three.
 *
 * The decoded count must equal the encoded count, or the program exits 1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_addresses.h"
#include "bench_util.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/wire/wire.h"

#define PROGRAM "wire_bench"
#define READ_CHUNK 65536u

struct stream {
	uint8_t *bytes;
	size_t len, cap;
};

static void *checked_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "%s: out of memory (%zu bytes)\n", PROGRAM, n);
		exit(1);
	}
	return p;
}

/* A response summary for client i: 198.19.0.1:8080 to 198.18.x.y:port. */
static size_t make_summary(uint8_t *buf, size_t cap, uint64_t i)
{
	struct packet_spec spec = {
		.sport = BENCH_TARGET_PORT,
		.seq = 5000001u + (uint32_t)i * 1448,
		.ack = 1000301u,
		.flags = TCPF_ACK | TCPF_PSH,
		.window = 509,
		.opt = { .has_timestamp = true, .tsval = (uint32_t)i, .tsecr = 7 },
	};
	size_t len;

	bench_target(&spec.src);
	bench_client(i, &spec.dst, &spec.dport);
	len = packet_build(buf, cap, &spec);
	if (len != 52) {
		fprintf(stderr, "%s: expected a 52-byte summary, built %zu\n", PROGRAM, len);
		exit(1);
	}
	return len;
}

/* The intercept side: HELLO, then n summaries in as few frames as fit. */
static uint64_t encode(struct stream *out, const uint8_t (*summaries)[52], size_t distinct,
		       uint64_t n)
{
	struct wire_hello hello = { .version = WIRE_VERSION, .role = WIRE_ROLE_INTERCEPT,
				    .features = WIRE_FEAT_IPV6, .max_body = WIRE_MAX_BODY };
	struct wire_batch batch;
	uint64_t start, i = 0;

	out->len = wire_encode_hello(out->bytes, out->cap, &hello);
	start = bench_now_ns();
	while (i < n) {
		wire_batch_init(&batch, out->bytes + out->len, WIRE_MAX_FRAME);
		while (i < n && wire_batch_add(&batch, 0, 1448, summaries[i % distinct], 52) == 0)
			i++;
		out->len += wire_batch_finish(&batch);
	}
	return bench_now_ns() - start;
}

/* The copy side; returns the summaries seen, *elapsed the time taken. */
static uint64_t decode(const struct stream *in, bool parse, uint64_t *elapsed)
{
	struct wire_decoder d;
	struct wire_frame f;
	uint64_t count = 0, start;
	size_t offset = 0;

	if (wire_decoder_init(&d) < 0) {
		fprintf(stderr, "%s: wire_decoder_init failed\n", PROGRAM);
		exit(1);
	}
	d.peer_role = WIRE_ROLE_INTERCEPT;
	start = bench_now_ns();
	while (offset < in->len) {
		size_t avail, n;
		uint8_t *space = wire_decoder_space(&d, &avail);
		int r;

		if (!space)
			break;
		n = in->len - offset < avail ? in->len - offset : avail;
		if (n > READ_CHUNK)
			n = READ_CHUNK;
		memcpy(space, in->bytes + offset, n);
		wire_decoder_commit(&d, n);
		offset += n;
		while ((r = wire_decoder_next(&d, &f)) == 1) {
			struct wire_summary_iter it;
			struct wire_summary s;
			const char *why;

			if (f.type != WIRE_SUMMARIES)
				continue;
			wire_summary_iter_init(&it, &f);
			while (wire_summary_next(&it, &s, &why) == 1) {
				struct packet p;

				if (parse && packet_parse(s.data, s.data_len, PACKET_TRUNCATED_OK, &p,
							  &why) != 0) {
					fprintf(stderr, "%s: summary does not parse: %s\n", PROGRAM, why);
					exit(1);
				}
				count++;
			}
		}
		if (r < 0) {
			fprintf(stderr, "%s: decoder refused the stream: %s\n", PROGRAM, d.error);
			exit(1);
		}
	}
	*elapsed = bench_now_ns() - start;
	wire_decoder_free(&d);
	return count;
}

int main(int argc, char **argv)
{
	uint64_t n = 2000000, runs = 5;
	bool single = false;
	size_t distinct = 4096;
	uint8_t (*summaries)[52];
	struct stream s;
	double *encode_rate, *decode_rate, *parse_rate;
	struct bench_spread spread;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--summaries") && i + 1 < argc)
			n = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, 100000000), i++;
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, 1000), i++;
		else if (!strcmp(argv[i], "--single"))
			single = true, runs = 1;
		else {
			fprintf(stderr, "usage: %s [--summaries N] [--runs K] [--single]\n"
				"--single: one encode and one decode with parse, for callgrind\n",
				PROGRAM);
			return 2;
		}
	}
	summaries = checked_malloc(distinct * sizeof(*summaries));
	for (size_t i = 0; i < distinct; i++)
		make_summary(summaries[i], sizeof(summaries[i]), i);
	/* Records are 8 + 52 bytes, frames about 64 KiB: a little slack. */
	s.cap = WIRE_HELLO_LEN + WIRE_HEADER_LEN + (size_t)n * 60 + (n / 1000 + 2) * WIRE_MAX_FRAME;
	s.bytes = checked_malloc(s.cap);
	encode_rate = checked_malloc(runs * sizeof(double));
	decode_rate = checked_malloc(runs * sizeof(double));
	parse_rate = checked_malloc(runs * sizeof(double));
	/* A first pass, not counted, faults the stream's pages in. */
	if (!single)
		encode(&s, summaries, distinct, n);
	for (uint64_t run = 0; run < runs; run++) {
		uint64_t t = 1, got;

		encode_rate[run] = (double)n / ((double)encode(&s, summaries, distinct, n) / 1e9);
		got = single ? n : decode(&s, false, &t);
		decode_rate[run] = (double)got / ((double)t / 1e9);
		if (got == n)
			got = decode(&s, true, &t);
		if (single)
			decode_rate[run] = parse_rate[run] = 0;
		parse_rate[run] = (double)got / ((double)t / 1e9);
		if (got != n) {
			fprintf(stderr, "%s: encoded %llu summaries, decoded %llu\n", PROGRAM,
				(unsigned long long)n, (unsigned long long)got);
			return 1;
		}
	}
	printf("wire: %llu summaries of 52 bytes (IPv4 + TCP with timestamps), %zu bytes of "
	       "frames\n", (unsigned long long)n, s.len);
	printf("summaries_total=%llu\n", (unsigned long long)n);
	spread = bench_spread_of(encode_rate, runs);
	bench_print_spread("wire encode (wire_batch_add)", "summaries/s", &spread, runs);
	spread = bench_spread_of(decode_rate, runs);
	bench_print_spread("wire decode (decoder + summary iterator)", "summaries/s", &spread, runs);
	spread = bench_spread_of(parse_rate, runs);
	bench_print_spread("wire decode + packet_parse", "summaries/s", &spread, runs);
	free(summaries);
	free(s.bytes);
	free(encode_rate);
	free(decode_rate);
	free(parse_rate);
	return 0;
}
