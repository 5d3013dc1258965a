/*
 * tls_channel_bench.c — what TLS 1.3 costs the channel (docs/protocol.md
 * section 2.1): response summaries sent from an intercept end to a copy
 * end over a TCP connection on 127.0.0.1, in plain text and in TLS with a
 * pre-shared key (TLS_AES_128_GCM_SHA256), through the daemons' own
 * transport (lib/wire/wire_tls.h) and output buffer (wire_output).
 *
 * The intercept end (a thread) writes pre-encoded SUMMARIES frames, the
 * copy end (the main thread) reads, decodes and walks every record, as
 * intercept_link_input.c does. The figure is summaries per CPU second of
 * the whole process (both ends, user + system: CLOCK_PROCESS_CPUTIME_ID),
 * the cost the two daemons pay together; wall-clock rate is printed too.
 * Then the CPU time of one PSK handshake (both ends).
 *
 * Summaries are 52 bytes (IPv4 + TCP with timestamps), no payload prefix.
 * The received count must equal the sent count, or the program exits 1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench_util.h"
#include "lib/net/packet.h"
#include "lib/net/packet_build.h"
#include "lib/wire/wire.h"
#include "lib/wire/wire_output.h"
#include "lib/wire/wire_tls.h"

#define PROGRAM "tls_channel_bench"

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", PROGRAM, what);
	exit(1);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* HELLO, then n summaries in SUMMARIES frames as intercept batches them. */
static uint8_t *encode(uint64_t n, size_t *len)
{
	size_t cap = (size_t)n * 60 + (n / 1000 + 2) * WIRE_MAX_FRAME;
	uint8_t *out = malloc(cap), summary[52];
	struct packet_spec spec = { .sport = 8080, .dport = 40000, .seq = 1, .ack = 1,
				    .flags = TCPF_ACK | TCPF_PSH, .window = 509,
				    .opt = { .has_timestamp = true, .tsval = 1, .tsecr = 7 } };
	struct wire_hello hello = { .version = WIRE_VERSION, .role = WIRE_ROLE_INTERCEPT,
				    .features = WIRE_FEAT_IPV6, .max_body = WIRE_MAX_BODY };
	struct wire_batch batch;
	uint64_t i = 0;

	if (!out)
		die("out of memory");
	dp_addr_parse("198.19.0.1", &spec.src);
	dp_addr_parse("198.18.0.1", &spec.dst);
	if (packet_build(summary, sizeof(summary), &spec) != 52)
		die("expected a 52-byte summary");
	/* The decoder wants the peer's HELLO first, as on a real connection. */
	*len = wire_encode_hello(out, cap, &hello);
	while (i < n) {
		wire_batch_init(&batch, out + *len, WIRE_MAX_FRAME);
		while (i < n && wire_batch_add(&batch, 0, 1448, summary, 52) == 0)
			i++;
		*len += wire_batch_finish(&batch);
	}
	return out;
}

/* A connected pair on 127.0.0.1: *a the connecting end, *b the accepted. */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		die("cannot listen on 127.0.0.1");
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("cannot connect");
	*b = accept(l, NULL, NULL);
	if (*b < 0)
		die("cannot accept");
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
}

struct sender {
	struct wire_conn conn;
	struct wire_tls *tls;
	const uint8_t *stream;
	size_t len;
	bool handshake_only;
	bool ok;
};

/* The intercept end: handshake (TLS), then the whole stream through a
 * wire_output, as connection.c writes it (blocking socket here). */
static void *send_all(void *arg)
{
	struct sender *s = arg;
	struct wire_output out;

	if (s->tls && wire_conn_handshake(&s->conn) != 1)
		return NULL;
	if (s->handshake_only) {
		s->ok = true;
		return NULL;
	}
	wire_output_init(&out, 0);
	for (size_t off = 0; off < s->len;) {
		size_t chunk = s->len - off < WIRE_MAX_FRAME * 4 ? s->len - off : WIRE_MAX_FRAME * 4;

		if (!wire_output_append(&out, s->stream + off, chunk))
			break;
		off += chunk;
		while (wire_output_queued(&out) > 0)
			if (wire_output_write_conn(&out, &s->conn, 0, NULL) == WIRE_OUTPUT_ERROR)
				goto done;
	}
	s->ok = true;
done:
	wire_output_free(&out);
	return NULL;
}

/* The copy end: read, decode, walk the records. Returns how many. */
static uint64_t receive(struct wire_conn *c, uint64_t want)
{
	struct wire_decoder d;
	struct wire_frame f;
	uint64_t count = 0;

	if (wire_decoder_init(&d) < 0)
		die("decoder");
	d.peer_role = WIRE_ROLE_INTERCEPT;
	while (count < want) {
		size_t avail;
		uint8_t *space = wire_decoder_space(&d, &avail);
		ssize_t n = space ? wire_conn_read(c, space, avail) : -1;
		int r;

		if (n <= 0)
			break;
		wire_decoder_commit(&d, (size_t)n);
		while ((r = wire_decoder_next(&d, &f)) == 1) {
			struct wire_summary_iter it;
			struct wire_summary sm;
			const char *why;

			wire_summary_iter_init(&it, &f);
			while (wire_summary_next(&it, &sm, &why) == 1)
				count++;
		}
		if (r < 0)
			die(d.error);
	}
	wire_decoder_free(&d);
	return count;
}

/* One transfer of n summaries; *rate_cpu, *rate_wall in summaries/s. */
static void run_once(struct wire_tls *server, struct wire_tls *client, const uint8_t *stream,
		     size_t len, uint64_t n, bool handshake_only, double *rate_cpu, double *rate_wall)
{
	struct sender s = { .tls = server, .stream = stream, .len = len,
			    .handshake_only = handshake_only };
	struct wire_conn c;
	pthread_t t;
	int a, b;
	char err[256];
	uint64_t cpu0, wall0, got = n;

	tcp_pair(&a, &b);
	wire_conn_plain(&c, a);
	wire_conn_plain(&s.conn, b);
	cpu0 = cpu_ns();
	wall0 = bench_now_ns();
	if (server && (wire_conn_tls(&s.conn, server, b, NULL, err, sizeof(err)) < 0 ||
		       wire_conn_tls(&c, client, a, NULL, err, sizeof(err)) < 0))
		die(err);
	pthread_create(&t, NULL, send_all, &s);
	if (client && wire_conn_handshake(&c) != 1)
		die(c.error);
	if (!handshake_only)
		got = receive(&c, n);
	pthread_join(t, NULL);
	*rate_cpu = (double)got / ((double)(cpu_ns() - cpu0) / 1e9);
	*rate_wall = (double)got / ((double)(bench_now_ns() - wall0) / 1e9);
	if (!s.ok || got != n) {
		fprintf(stderr, "%s: sent %llu summaries, received %llu\n", PROGRAM,
			(unsigned long long)n, (unsigned long long)got);
		exit(1);
	}
	wire_conn_free(&c);
	wire_conn_free(&s.conn);
	close(a);
	close(b);
}

/* A PSK file of a fresh random key, mode 0600, in /tmp. */
static void make_psk(char *path, size_t len)
{
	unsigned char key[32];
	char line[128];
	int fd, off;

	snprintf(path, len, "/tmp/doppel-bench-psk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || RAND_bytes(key, sizeof(key)) != 1)
		die("cannot make the PSK file");
	off = snprintf(line, sizeof(line), "bench:");
	for (size_t i = 0; i < sizeof(key); i++)
		off += snprintf(line + off, sizeof(line) - (size_t)off, "%02x", key[i]);
	line[off++] = '\n';
	if (write(fd, line, (size_t)off) != off)
		die("cannot write the PSK file");
	close(fd);
}

int main(int argc, char **argv)
{
	uint64_t n = 2000000, runs = 5, handshakes = 200;
	char psk[64], err[256];
	struct wire_tls *server, *client;
	size_t len;
	uint8_t *stream;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--summaries") && i + 1 < argc)
			n = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, 100000000), i++;
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, 1000), i++;
		else if (!strcmp(argv[i], "--handshakes") && i + 1 < argc)
			handshakes = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, 100000), i++;
		else {
			fprintf(stderr, "usage: %s [--summaries N] [--runs K] [--handshakes H]\n",
				PROGRAM);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	make_psk(psk, sizeof(psk));
	struct wire_tls_options o = { .psk_file = psk };
	server = wire_tls_new(&o, true, err, sizeof(err));
	client = wire_tls_new(&o, false, err, sizeof(err));
	unlink(psk);
	if (!server || !client)
		die(err);
	stream = encode(n, &len);
	printf("channel: %llu summaries of 52 bytes (%zu bytes of frames) over TCP on 127.0.0.1\n",
	       (unsigned long long)n, len);
	for (int tls = 0; tls <= 1; tls++) {
		double *cpu = calloc(runs, sizeof(double)), *wall = calloc(runs, sizeof(double));
		struct bench_spread sc, sw;
		char what[96];

		for (uint64_t r = 0; r < runs; r++)
			run_once(tls ? server : NULL, tls ? client : NULL, stream, len, n, false,
				 &cpu[r], &wall[r]);
		sc = bench_spread_of(cpu, runs);
		sw = bench_spread_of(wall, runs);
		snprintf(what, sizeof(what), "%s: summaries per CPU second (both ends)",
			 tls ? "TLS 1.3 PSK, AES-128-GCM" : "plain text");
		bench_print_spread(what, "/s", &sc, runs);
		snprintf(what, sizeof(what), "%s: summaries per wall second",
			 tls ? "TLS 1.3 PSK, AES-128-GCM" : "plain text");
		bench_print_spread(what, "/s", &sw, runs);
		free(cpu);
		free(wall);
	}
	{
		uint64_t cpu0 = cpu_ns();
		double ignored;

		for (uint64_t h = 0; h < handshakes; h++)
			run_once(server, client, stream, len, 0, true, &ignored, &ignored);
		printf("TLS 1.3 PSK handshake (both ends, with the TCP connection): %.1f us of CPU "
		       "each (%llu handshakes)\n", (double)(cpu_ns() - cpu0) / 1e3 / (double)handshakes,
		       (unsigned long long)handshakes);
	}
	wire_tls_free(server);
	wire_tls_free(client);
	free(stream);
	return 0;
}
