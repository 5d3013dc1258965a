/*
 * capture_bench.c — the live capture backends alone, on a veth pair in a
 * network namespace of their own (unshare(CLONE_NEWNET): nothing leaves
 * it; addresses 198.18.0.0/15). A child process sends paced TCP frames
 * from one end; the capture listens on the other.
 *
 *   capture_bench delay KIND RATE COUNT
 *       COUNT packets at RATE/s, read as they come: the capture delay
 *       (kernel timestamp to the daemon's callback) p50, p99, max in us,
 *       and the reader's CPU seconds per 10,000 packets (not the sender's).
 *   capture_bench stall KIND RATE SECONDS STALL_MS [RING_BYTES]
 *       RATE/s for SECONDS while the reader does not read for STALL_MS at
 *       the start (a stopped daemon), then reads: packets sent, delivered,
 *       dropped by the kernel (ring full).
 *
 * KIND is afpacket or pcap. Frames are 54-byte TCP segments with 100 bytes
 * of payload (an HTTP request's size class). Output: one "RESULT" line.
 * Needs root (namespaces); prints "not measured" without it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "lib/net/addr.h"
#include "lib/net/packet_build.h"
#include "lib/runtime/loop.h"

#define PAYLOAD 100
#define MAX_SAMPLES 1000000

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

struct bench {
	struct loop *loop;
	uint64_t *delay_us;
	size_t n;
	size_t want;
	int child_done;
};

static uint64_t now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sh(const char *cmd)
{
	int r = system(cmd);

	if (r != 0)
		fprintf(stderr, "capture_bench: '%s' failed\n", cmd);
	return r;
}

static int make_link(void)
{
	if (unshare(CLONE_NEWNET) != 0) {
		perror("capture_bench: unshare(CLONE_NEWNET)");
		return -1;
	}
	return sh("ip link set lo up && ip link add cba address 02:00:00:00:00:0a type veth "
		  "peer name cbb address 02:00:00:00:00:0b && ip addr add 198.18.0.1/24 dev cba && "
		  "ip link set cba up && ip link set cbb up");
}

/* The child: rate frames/s for count frames, paced per millisecond. */
static void send_frames(double rate, uint64_t count)
{
	static uint8_t payload[PAYLOAD];
	uint8_t frame[ETH_HLEN + PACKET_HEADERS_MAX + PAYLOAD];
	struct packet_spec spec;
	struct sockaddr_ll addr;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	uint64_t start = now_us(CLOCK_MONOTONIC);

	memset(&spec, 0, sizeof(spec));
	dp_addr_parse("198.18.0.2", &spec.src);
	dp_addr_parse("198.18.0.1", &spec.dst);
	spec.sport = 40000;
	spec.dport = 80;
	spec.ack = 1;
	spec.flags = TCPF_ACK | TCPF_PSH;
	spec.window = 1024;
	spec.payload = payload;
	spec.payload_len = sizeof(payload);
	memset(&addr, 0, sizeof(addr));
	addr.sll_family = AF_PACKET;
	addr.sll_ifindex = (int)if_nametoindex("cbb");
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("capture_bench: sender socket");
		_exit(1);
	}
	memcpy(frame, mac_a, 6);
	memcpy(frame + 6, mac_b, 6);
	frame[12] = 0x08;
	frame[13] = 0x00;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t due = start + (uint64_t)((double)i * 1e6 / rate);
		uint64_t now = now_us(CLOCK_MONOTONIC);
		size_t len;

		if (due > now + 200) {
			struct timespec ts = { (time_t)((due - now) / 1000000u),
					       (long)((due - now) % 1000000u) * 1000 };
			nanosleep(&ts, NULL);
		}
		spec.seq = (uint32_t)(i * PAYLOAD);
		len = packet_build(frame + ETH_HLEN, sizeof(frame) - ETH_HLEN, &spec);
		if (send(fd, frame, ETH_HLEN + len, 0) < 0 && errno != ENOBUFS) {
			perror("capture_bench: send");
			_exit(1);
		}
	}
	_exit(0);
}

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct bench *b = ctx;
	uint64_t now = now_us(CLOCK_REALTIME);

	(void)p;
	if (b->n < MAX_SAMPLES)
		b->delay_us[b->n] = now > ts_us ? now - ts_us : 0;
	b->n++;
	if (b->want && b->n >= b->want)
		loop_stop(b->loop);
}

static void on_timeout(struct loop *l, uint64_t id, void *arg)
{
	(void)id;
	(void)arg;
	loop_stop(l);
}

/* This process's CPU (user + system), not the sender child's. */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)((double)n * p + 0.5);

	if (n == 0)
		return 0;
	if (i >= 1)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i];
}

int main(int argc, char **argv)
{
	struct capture_config cfg = { .device = "cba", .filter = "tcp dst port 80" };
	struct capture c;
	struct bench b;
	char err[512] = "";
	int stall = argc >= 6 && strcmp(argv[1], "stall") == 0;
	double rate;
	uint64_t count, stall_ms = 0;
	pid_t child;
	int status;
	double cpu;

	if (!stall && !(argc == 5 && strcmp(argv[1], "delay") == 0)) {
		fprintf(stderr, "usage: capture_bench delay KIND RATE COUNT\n"
				"       capture_bench stall KIND RATE SECONDS STALL_MS [RING_BYTES]\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("capture: not measured: needs root (network namespaces)\n");
		return 0;
	}
	cfg.kind = strcmp(argv[2], "pcap") == 0 ? CAPTURE_PCAP : CAPTURE_AFPACKET;
	rate = atof(argv[3]);
	count = stall ? (uint64_t)(rate * atof(argv[4])) : strtoull(argv[4], NULL, 10);
	if (stall) {
		stall_ms = strtoull(argv[5], NULL, 10);
		if (argc > 6)
			cfg.ring_bytes = (uint32_t)strtoul(argv[6], NULL, 10);
	}
	if (rate <= 0 || count == 0 || make_link() != 0)
		return 1;
	memset(&b, 0, sizeof(b));
	b.loop = loop_new();
	b.delay_us = calloc(MAX_SAMPLES, sizeof(*b.delay_us));
	memset(&c, 0, sizeof(c));
	c.ops = capture_ops_for(cfg.kind);
	c.deliver = on_deliver;
	c.ctx = &b;
	if (!b.loop || !b.delay_us || c.ops->open(&c, b.loop, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "capture_bench: open %s: %s\n", argv[2], err);
		return 1;
	}
	cpu = cpu_seconds();
	child = fork();
	if (child == 0)
		send_frames(rate, count);
	if (stall) {
		/* The reader stalls; the kernel fills the ring meanwhile. */
		struct timespec ts = { (time_t)(stall_ms / 1000), (long)(stall_ms % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	/* Read until every frame sent came or the sender is done and 1 s
	 * passed (the rest were dropped). */
	b.want = count;
	for (;;) {
		uint64_t t = loop_timer_add(b.loop, 1000, on_timeout, NULL);

		loop_run(b.loop);
		loop_timer_cancel(b.loop, t);
		if (b.n >= count || waitpid(child, &status, WNOHANG) == child)
			break;
	}
	if (b.n < count) {
		uint64_t t = loop_timer_add(b.loop, 1000, on_timeout, NULL);

		loop_run(b.loop);
		loop_timer_cancel(b.loop, t);
	}
	cpu = cpu_seconds() - cpu;
	kill(child, SIGTERM);
	waitpid(child, &status, 0);
	c.ops->update_stats(&c);
	if (stall) {
		printf("capture %s stall %.0f/s for %s s, reader stopped %llu ms: sent %llu, "
		       "delivered %zu, kernel drops %llu\n", argv[2], rate, argv[4],
		       (unsigned long long)stall_ms, (unsigned long long)count, b.n,
		       (unsigned long long)c.counters.kernel_drops);
		printf("RESULT stall %s %.0f %llu %llu %zu %llu\n", argv[2], rate,
		       (unsigned long long)stall_ms, (unsigned long long)count, b.n,
		       (unsigned long long)c.counters.kernel_drops);
	} else {
		size_t n = b.n < MAX_SAMPLES ? b.n : MAX_SAMPLES;

		qsort(b.delay_us, n, sizeof(*b.delay_us), cmp_u64);
		printf("capture %s delay at %.0f/s: p50 %llu us, p99 %llu us, max %llu us over %zu "
		       "(sent %llu, kernel drops %llu); reader CPU %.3f s per 10k packets\n", argv[2], rate,
		       (unsigned long long)pct(b.delay_us, n, 0.5),
		       (unsigned long long)pct(b.delay_us, n, 0.99),
		       (unsigned long long)(n ? b.delay_us[n - 1] : 0), n,
		       (unsigned long long)count, (unsigned long long)c.counters.kernel_drops,
		       n ? cpu * 10000 / (double)n : 0);
		printf("RESULT delay %s %.0f %llu %llu %llu %zu %.4f\n", argv[2], rate,
		       (unsigned long long)pct(b.delay_us, n, 0.5),
		       (unsigned long long)pct(b.delay_us, n, 0.99),
		       (unsigned long long)(n ? b.delay_us[n - 1] : 0), n,
		       n ? cpu * 10000 / (double)n : 0);
	}
	c.ops->close(&c);
	loop_free(b.loop);
	free(b.delay_us);
	return 0;
}
