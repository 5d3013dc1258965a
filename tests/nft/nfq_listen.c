/*
 * nfq_listen.c — a test reader of NFQUEUE queues through doppel-intercept's
 * own nfqueue source (intercept/source/source_nfqueue.c), for tests/nft/run.sh.
 *
 *   nfq_listen FIRST LAST COUNT TIMEOUT_MS [PAYLOAD_PREFIX [QUEUE_MAXLEN [THREADS]]]
 *
 * Binds queues FIRST..LAST (read by THREADS threads, --queue-threads; 0,
 * the default: in the loop), prints "ready" once they are bound, then one
 * line per delivered packet:
 *   packet SRC SPORT DST DPORT FLAGS SEQ PAYLOAD_LEN PRESENT PREFIX_HEX
 * and stops once COUNT packets were seen (delivered, malformed or known
 * lost) or after TIMEOUT_MS, whichever comes first, printing the source's
 * counters, then each queue's:
 *   counters packets=N malformed=N lost=N verdicts=N
 *   queue Q packets=N lost=N
 * Exit status 0, or 1 when the source could not open (the reason on stderr).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>

#include "lib/runtime/loop.h"
#include "lib/runtime/options.h"
#include "lib/net/addr.h"
#include "lib/net/packet.h"
#include "intercept/source/source.h"

struct listen_state {
	struct loop *loop;
	struct source source;
	uint64_t wanted;
	uint64_t printed;	/* packets printed: with threads, the counters
				 * run ahead of what the loop has been handed */
};

static uint64_t seen(const struct listen_state *st)
{
	return st->printed + st->source.counters.malformed + st->source.counters.lost;
}

static void print_packet(void *ctx, const struct packet *p)
{
	struct listen_state *st = ctx;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	printf("packet %s %u %s %u 0x%02x %" PRIu32 " %zu %zu ",
	       dp_addr_str(&p->src, src, sizeof(src)), p->sport,
	       dp_addr_str(&p->dst, dst, sizeof(dst)), p->dport, p->flags, p->seq,
	       p->payload_len, p->payload_present);
	for (size_t i = 0; i < p->payload_present; i++)
		printf("%02x", p->payload[i]);
	printf("%s\n", p->payload_present ? "" : "-");
	fflush(stdout);
	st->printed++;
	if (seen(st) >= st->wanted)
		loop_stop(st->loop);
}

static void print_queue(void *ctx, uint16_t queue, const struct source_counters *c)
{
	printf("queue %u packets=%" PRIu64 " lost=%" PRIu64 "\n", queue, c->packets, c->lost);
}

static void before_sleep(struct loop *l, void *arg)
{
	struct source *s = arg;

	s->ops->flush(s);
}

static void on_timeout(struct loop *l, uint64_t id, void *arg)
{
	loop_stop(l);
}

/* Losses the source learns in flush() (queue-full drops) come with no
 * packet to wake the loop: look every 100 ms. */
static void on_tick(struct loop *l, uint64_t id, void *arg)
{
	struct listen_state *st = arg;

	if (seen(st) >= st->wanted)
		loop_stop(l);
	else
		loop_timer_add(l, 100, on_tick, st);
}

static uint64_t argument(const char *s, uint64_t max, const char *what)
{
	uint64_t value;
	char err[128];

	if (opt_parse_uint(s, 0, max, &value, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfq_listen: %s '%s': %s\n", what, s, err);
		exit(2);
	}
	return value;
}

int main(int argc, char **argv)
{
	struct listen_state st = { 0 };
	struct source_config cfg = { .queue_maxlen = 65536 };
	char err[256];

	if (argc < 5 || argc > 8) {
		fprintf(stderr, "usage: nfq_listen FIRST LAST COUNT TIMEOUT_MS "
			"[PAYLOAD_PREFIX [QUEUE_MAXLEN [THREADS]]]\n");
		return 2;
	}
	cfg.queue_first = (uint16_t)argument(argv[1], 65535, "first queue");
	cfg.queue_last = (uint16_t)argument(argv[2], 65535, "last queue");
	st.wanted = argument(argv[3], UINT32_MAX, "count");
	if (argc >= 6)
		cfg.payload_prefix = (uint16_t)argument(argv[5], 65535, "payload prefix");
	if (argc >= 7)
		cfg.queue_maxlen = (uint32_t)argument(argv[6], UINT32_MAX, "queue length");
	if (argc >= 8)
		cfg.queue_threads = (uint16_t)argument(argv[7], 64, "threads");
	st.loop = loop_new();
	if (!st.loop) {
		perror("nfq_listen: loop_new");
		return 1;
	}
	st.source.ops = &source_nfqueue_ops;
	st.source.deliver = print_packet;
	st.source.deliver_ctx = &st;
	if (st.source.ops->open(&st.source, st.loop, &cfg, err, sizeof(err)) < 0 ||
	    st.source.ops->start(&st.source, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfq_listen: %s\n", err);
		st.source.ops->close(&st.source);
		loop_free(st.loop);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	loop_set_before_sleep(st.loop, before_sleep, &st.source);
	loop_timer_add(st.loop, argument(argv[4], 600000, "timeout"), on_timeout, NULL);
	loop_timer_add(st.loop, 100, on_tick, &st);
	/* Packets can arrive while the queues are being bound. */
	if (seen(&st) < st.wanted)
		loop_run(st.loop);
	st.source.ops->flush(&st.source);
	printf("counters packets=%" PRIu64 " malformed=%" PRIu64 " lost=%" PRIu64
	       " verdicts=%" PRIu64 "\n", st.source.counters.packets,
	       st.source.counters.malformed, st.source.counters.lost,
	       st.source.counters.verdicts);
	st.source.ops->each_queue(&st.source, print_queue, NULL);
	st.source.ops->close(&st.source);
	loop_free(st.loop);
	return 0;
}
