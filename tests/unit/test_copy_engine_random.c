/*
 * A randomized whole-session test (fixed seeds): a client stream cut into
 * random segments (some GRO-sized), captured with random retransmissions,
 * overlaps, reordering and duplicates, and acks that advance at random
 * request boundaries; replayed to a simulated target that answers each new
 * piece of data, and on whose path 5% of our packets (and 2% of its own)
 * are lost. The simulated target retransmits its own data and FIN until we
 * acknowledge them, like a real one; in half the rounds it keeps
 * out-of-order data (as Linux does), in the others it drops it (every hole
 * then costs more retransmissions). The bytes the target receives must be
 * the client's stream, exactly, and the session must close cleanly.
 */
#include <errno.h>
#include <limits.h>

#include "engine_harness.h"
#include "copy/engine/engine_session.h"
#include "lib/net/tcp_seq.h"

#define CISN 0xfffe0000u	/* the client's seq wraps past 2^32 mid-stream */
#define TISN 777u
#define OACK 5000u
#define MAX_STREAM 200000
#define MAX_REPLIES 4096

struct capture {
	uint32_t off, len, ack;
	bool fin;
};

struct reply {
	uint64_t at;
	uint8_t flags;
	uint32_t seq, ack;
	uint32_t len;
};

#define TARGET_RTO 300

struct target_sim {
	unsigned seed;
	uint32_t rcv_nxt;		/* next byte expected from us */
	uint32_t snd_una;		/* its oldest byte we have not acked */
	uint32_t snd_nxt;		/* its own next seq */
	uint32_t fin_seq;		/* its FIN, once sent */
	uint64_t progress_at;		/* when snd_una last moved (or data left) */
	bool got_fin, sent_fin, answer, keep_out_of_order;
	uint8_t *received;		/* by stream offset */
	uint8_t *have;			/* which offsets arrived */
	size_t received_len;		/* in order */
	struct reply replies[MAX_REPLIES];
	size_t reply_count;
	uint64_t dropped, resets, out_of_order;
};

static uint32_t rnd(unsigned *seed, uint32_t n)
{
	return n ? (uint32_t)rand_r(seed) % n : 0;
}

static void queue_reply(struct harness *h, struct target_sim *t, uint8_t flags, uint32_t seq,
			uint32_t len)
{
	struct reply r = { .at = h->now + 1 + rnd(&t->seed, 10), .flags = flags, .seq = seq,
			   .ack = t->rcv_nxt, .len = len };
	size_t i;

	if (rnd(&t->seed, 100) < 2)
		return;		/* lost on the way to intercept */
	assert_true(t->reply_count < MAX_REPLIES);
	/* Delivered in time order (the path to intercept keeps order). */
	if (t->reply_count && r.at < t->replies[t->reply_count - 1].at)
		r.at = t->replies[t->reply_count - 1].at;
	i = t->reply_count++;
	t->replies[i] = r;
}

/* Take our data at stream offset off: a byte seen twice must be the same
 * byte. */
static bool target_store(struct target_sim *t, const struct packet *p)
{
	uint32_t start = p->seq - (CISN + 1);
	size_t before = t->received_len;

	if (!t->keep_out_of_order && seq_gt(p->seq, t->rcv_nxt)) {
		t->out_of_order++;
		return false;
	}
	for (size_t i = 0; i < p->payload_len; i++) {
		uint32_t off = start + (uint32_t)i;

		assert_true(off < MAX_STREAM);
		if (t->have[off])
			assert_int_equal(t->received[off], p->payload[i]);
		t->received[off] = p->payload[i];
		t->have[off] = 1;
	}
	if (seq_gt(p->seq, t->rcv_nxt))
		t->out_of_order++;
	while (t->received_len < MAX_STREAM && t->have[t->received_len])
		t->received_len++;
	t->rcv_nxt += (uint32_t)(t->received_len - before);
	return t->received_len > before;
}

/* The target's own retransmission: its oldest unacked answer, or its FIN. */
static void target_timer(struct harness *h, struct target_sim *t)
{
	uint32_t len;

	if (t->snd_una == t->snd_nxt || h->now < t->progress_at + TARGET_RTO)
		return;
	t->progress_at = h->now;
	if (t->sent_fin && t->snd_una == t->fin_seq) {
		queue_reply(h, t, TCPF_FIN | TCPF_ACK, t->fin_seq, 0);
		return;
	}
	len = (t->sent_fin ? t->fin_seq : t->snd_nxt) - t->snd_una;
	queue_reply(h, t, TCPF_ACK | TCPF_PSH, t->snd_una, len > 50 ? 50 : len);
}

/* The target: what arrives (unless lost) is stored, acked, answered. */
static void target_receive(struct harness *h, const struct harness_packet *sp)
{
	struct target_sim *t = h->user;
	const struct packet *p = &sp->p;
	bool new_data = false;

	if (rnd(&t->seed, 100) < 5) {
		t->dropped++;
		return;
	}
	if (p->flags & TCPF_RST) {
		t->resets++;
		return;
	}
	if (p->flags & TCPF_SYN) {
		t->rcv_nxt = p->seq + 1;
		queue_reply(h, t, TCPF_SYN | TCPF_ACK, TISN, 0);
		return;
	}
	if ((p->flags & TCPF_ACK) && seq_gt(p->ack, t->snd_una) && seq_le(p->ack, t->snd_nxt)) {
		t->snd_una = p->ack;
		t->progress_at = h->now;
	}
	if (p->payload_len)
		new_data = target_store(t, p);
	if ((p->flags & TCPF_FIN) && p->seq + p->payload_len == t->rcv_nxt && !t->got_fin) {
		t->got_fin = true;
		t->rcv_nxt++;
	}
	queue_reply(h, t, TCPF_ACK, t->snd_nxt, 0);
	if (new_data && t->answer && !t->sent_fin) {
		if (t->snd_una == t->snd_nxt)
			t->progress_at = h->now;
		queue_reply(h, t, TCPF_ACK | TCPF_PSH, t->snd_nxt, 50);
		t->snd_nxt += 50;
	}
	if (t->got_fin && !t->sent_fin) {
		if (t->snd_una == t->snd_nxt)
			t->progress_at = h->now;
		t->fin_seq = t->snd_nxt;
		queue_reply(h, t, TCPF_FIN | TCPF_ACK, t->snd_nxt, 0);
		t->snd_nxt++;
		t->sent_fin = true;
	}
}

/* Cut [0, n) into segments and capture them with retransmissions,
 * overlaps and reordering; acks advance at random boundaries. */
static size_t make_capture(unsigned *seed, uint32_t n, struct capture *out, size_t cap)
{
	size_t count = 0;
	uint32_t off = 0, ack = OACK, sent_end = 0;

	while (off < n) {
		uint32_t len = rnd(seed, 10) == 0 ? 1 + rnd(seed, 65000) : 1 + rnd(seed, 1460);

		if (off + len > n)
			len = n - off;
		/* The client read an answer (not before its first request: this
		 * server does not speak first) of at most 50 bytes: the
		 * simulated target's answers (50 bytes for each new piece of
		 * data) are never shorter; longer ones end by the quiet
		 * period. */
		if (off && rnd(seed, 5) == 0)
			ack += 1 + rnd(seed, 50);
		assert_true(count + 3 < cap);
		out[count++] = (struct capture){ off, len, ack, false };
		off += len;
		sent_end = off;
		if (rnd(seed, 10) == 0) {
			/* A retransmission of something already sent, maybe straddling
			 * segment boundaries. */
			uint32_t a = rnd(seed, sent_end);
			uint32_t b = a + 1 + rnd(seed, 4000);

			out[count++] = (struct capture){ a, (b > sent_end ? sent_end : b) - a, ack,
							 false };
		}
		if (count >= 2 && rnd(seed, 8) == 0) {
			struct capture swap = out[count - 1];

			out[count - 1] = out[count - 2];
			out[count - 2] = swap;
		}
	}
	out[count++] = (struct capture){ n, 0, ack + (rnd(seed, 2) ? 1 : 0), true };
	/* The FIN captured twice. */
	out[count] = out[count - 1];
	return count + 1;
}

/* ENGINE_TRACE=1: one line of the session's state per step, to debug a
 * failing seed (ENGINE_SEED=n starts the rounds at n). */
static void trace(struct harness *h, const struct session_key *k, const struct target_sim *t)
{
	struct session_key nk;
	struct session *s;

	session_key_normalize(&nk, k);
	s = session_table_find(&h->engine->table, &nk);
	if (!s)
		return;
	print_message("t=%llu %s una %u nxt %u end %u rtx_at %llu pace_at %llu rto %u "
		      "retries %u wnd %u flags %x; target rcv_nxt %u, %zu replies queued\n",
		      (unsigned long long)(h->now - 1000000), session_state_name(s->state),
		      s->snd_una - CISN, s->snd_nxt - CISN, s->data_end - CISN,
		      (unsigned long long)(s->rtx_at ? s->rtx_at - 1000000 : 0),
		      (unsigned long long)(s->pace_at ? s->pace_at - 1000000 : 0), s->rto,
		      s->retries, s->snd_wnd, s->flags, t->rcv_nxt - CISN, t->reply_count);
}

static void feed(struct harness *h, const struct session_key *k, const uint8_t *stream,
		 const struct capture *c)
{
	struct harness_segment seg = { .payload = stream + c->off, .payload_len = c->len };
	uint8_t flags = TCPF_ACK | (c->fin ? TCPF_FIN : TCPF_PSH);

	harness_client(h, k, flags, CISN + 1 + c->off, c->ack, &seg);
}

static void run_round(unsigned seed, bool send_at_once, bool keep_out_of_order)
{
	static uint8_t stream[MAX_STREAM];
	static struct capture capture[4096];
	static struct target_sim target;
	struct harness h;
	struct session_key k = harness_key_v4((uint16_t)(30000 + seed));
	struct harness_segment syn = { .window = 64240, .opt = { .has_mss = true, .mss = 1460 } };
	uint32_t n;
	unsigned round_seed = seed;
	size_t captures, next_capture = 0;
	uint64_t next_capture_at, deadline;

	memset(&target, 0, sizeof(target));
	target.seed = seed * 7919;
	target.snd_una = target.snd_nxt = TISN + 1;
	target.answer = !send_at_once;
	target.keep_out_of_order = keep_out_of_order;
	target.received = malloc(MAX_STREAM);
	target.have = calloc(1, MAX_STREAM);
	assert_non_null(target.received);
	assert_non_null(target.have);
	n = 20000 + rnd(&seed, MAX_STREAM - 20000);
	for (uint32_t i = 0; i < n; i++)
		stream[i] = (uint8_t)rand_r(&seed);
	captures = make_capture(&seed, n, capture, sizeof(capture) / sizeof(capture[0]));

	harness_init(&h);
	h.record = false;
	h.cfg.send_at_once = send_at_once;
	h.on_send = target_receive;
	h.user = &target;
	harness_start(&h);
	harness_client(&h, &k, TCPF_SYN, CISN, 0, &syn);
	harness_client_plain(&h, &k, TCPF_ACK, CISN + 1, OACK);
	next_capture_at = h.now + 1;
	deadline = h.now + 3600000;
	for (unsigned steps = 0; h.end_count == 0; steps++) {
		uint64_t next = engine_next_deadline(h.engine);

		assert_true(steps < 10000000);
		assert_true(h.now < deadline);
		if (getenv("ENGINE_TRACE"))
			trace(&h, &k, &target);
		if (next_capture < captures && next_capture_at < next)
			next = next_capture_at;
		if (target.reply_count && target.replies[0].at < next)
			next = target.replies[0].at;
		if (target.snd_una != target.snd_nxt && target.progress_at + TARGET_RTO < next)
			next = target.progress_at + TARGET_RTO;
		harness_run_until(&h, next);
		target_timer(&h, &target);
		if (next_capture < captures && next_capture_at <= h.now) {
			feed(&h, &k, stream, &capture[next_capture++]);
			next_capture_at = h.now + 1 + rnd(&seed, 3);
		}
		while (target.reply_count && target.replies[0].at <= h.now) {
			struct reply r = target.replies[0];

			memmove(target.replies, target.replies + 1,
				--target.reply_count * sizeof(target.replies[0]));
			harness_target_plain(&h, &k, r.flags, r.seq, r.ack, 65535, r.len);
		}
	}
	print_message("seed %u%s%s: %u bytes in %zu captures, %llu packets sent, %llu lost, "
		      "%llu out of order at the target, %llu retransmissions (%llu fast), "
		      "%llu pacing timeouts, %.1f s simulated\n",
		      round_seed, send_at_once ? " -W" : "", keep_out_of_order ? " keeps ooo" : "",
		      n, captures,
		      (unsigned long long)h.sent_total, (unsigned long long)target.dropped,
		      (unsigned long long)target.out_of_order,
		      (unsigned long long)harness_counters(&h)->retransmissions,
		      (unsigned long long)harness_counters(&h)->fast_retransmits,
		      (unsigned long long)harness_counters(&h)->pace_timeouts,
		      (double)(h.now - 1000000) / 1000.0);
	if (h.ends[0].reason != END_CLOSED)
		fail_msg("session ended %s: %s", engine_end_reason_name(h.ends[0].reason),
			 h.ends[0].detail);
	assert_int_equal(target.received_len, n);
	assert_memory_equal(target.received, stream, n);
	assert_true(target.got_fin);
	assert_int_equal(target.resets, 0);
	assert_int_equal(harness_counters(&h)->bytes_replayed, n);
	assert_int_equal(harness_counters(&h)->buffered_bytes, 0);
	assert_int_equal(harness_counters(&h)->sessions_completed, 1);
	/* The target's answers were all retransmitted until acked, and none
	 * is shorter than the online one: every packet that waited went
	 * either on the answer's exact length or, the answer being longer,
	 * after its quiet period (counted), never for want of an answer. */
	assert_true(harness_counters(&h)->pace_timeouts <= harness_counters(&h)->pace_waits);
	assert_int_equal(harness_counters(&h)->pace_waiting, 0);
	free(target.received);
	free(target.have);
	harness_finish(&h);
}

/* ENGINE_SEED=n replaces a test's first seed; each test still runs its
 * full count of rounds (n, n+1, ...), so an override never empties a test
 * (it used to be the loop's start against a fixed end: n above the end ran
 * nothing and passed). */
#define ROUNDS 12
#define ROUNDS_SEND_AT_ONCE 6

static unsigned first_seed(unsigned fallback)
{
	const char *env = getenv("ENGINE_SEED");
	char *end;
	unsigned long v;

	if (!env || !*env)
		return fallback;
	errno = 0;
	v = strtoul(env, &end, 10);
	if (errno || *end || v > UINT_MAX - 100) {
		print_error("ENGINE_SEED=%s: not a seed (a decimal number below %u)\n", env,
			    UINT_MAX - 100);
		fail();
	}
	return (unsigned)v;
}

static void run_rounds(unsigned first, unsigned rounds, bool send_at_once)
{
	for (unsigned seed = first; seed < first + rounds; seed++)
		run_round(seed, send_at_once, seed % 2);
}

static void test_random_streams_arrive_exactly(void **state)
{
	run_rounds(first_seed(1), ROUNDS, false);
}

static void test_random_streams_arrive_exactly_send_at_once(void **state)
{
	run_rounds(first_seed(101), ROUNDS_SEND_AT_ONCE, true);
}

/* The engine's books balance: every session is in the table and the heap,
 * the counters add up, buffered_bytes is what the sessions hold. */
static void check_invariants(const struct harness *h)
{
	const struct engine *e = h->engine;
	const struct engine_counters *c = engine_counters(e);
	uint64_t ended = 0, held = 0;

	for (int r = 0; r < END_REASON_COUNT; r++)
		ended += c->ended[r];
	assert_int_equal(ended, c->sessions_completed + c->sessions_failed);
	assert_int_equal(c->sessions_started, c->sessions_active + ended);
	assert_int_equal(c->sessions_active, e->table.count);
	assert_int_equal(c->sessions_active, e->timers.count);
	for (uint32_t i = 0; i < e->timers.count; i++) {
		const struct session *s = session_from_timer(e->timers.items[i]);

		assert_int_equal(s->timer.index, i);
		assert_true(s->timer.key > h->now);
		if (s->stream)
			held += stream_buffer_held(&s->stream->buf);
		held += session_successor_bytes(s);	/* a held new connection's */
	}
	assert_int_equal(held, c->buffered_bytes);
	assert_int_equal(h->routes_added - h->routes_deleted, c->sessions_active);
}

/* Garbage from both sides: random flags, seqs, acks, options, payloads
 * and times, for a handful of sessions. Nothing may crash, every packet
 * still goes to the target only (the harness checks), and the books
 * balance after every step. */
static void test_random_garbage_keeps_invariants(void **state)
{
	static const uint8_t flag_choices[] = {
		TCPF_SYN, TCPF_SYN | TCPF_ACK, TCPF_ACK, TCPF_ACK | TCPF_PSH, TCPF_FIN | TCPF_ACK,
		TCPF_RST, TCPF_RST | TCPF_ACK, 0, 0xff, TCPF_SYN | TCPF_FIN,
	};
	struct harness h;
	unsigned seed = 4242;
	uint32_t bases[4] = { 1000, 0x7fffff00u, 0xffffff00u, 123456789u };

	harness_init(&h);
	h.record = false;
	h.cfg.max_buffered_bytes = 200000;
	h.cfg.max_sessions = 6;
	h.cfg.keepalive_timeout_ms = 7000;
	h.cfg.data_retries = 4;
	harness_start(&h);
	for (int step = 0; step < 60000; step++) {
		struct session_key k = harness_key_v4((uint16_t)(20000 + rnd(&seed, 8)));
		struct harness_segment seg = { 0 };
		uint8_t flags = flag_choices[rnd(&seed, sizeof(flag_choices))];
		uint32_t base = bases[rnd(&seed, 4)];
		uint32_t seq = base + rnd(&seed, 20000), ack = base + rnd(&seed, 20000);

		seg.window = (uint16_t)rnd(&seed, 65536);
		seg.zero_window = seg.window == 0;
		seg.payload_len = rnd(&seed, 4) ? rnd(&seed, 1500) : rnd(&seed, 65000);
		seg.opt.has_mss = rnd(&seed, 2);
		seg.opt.mss = (uint16_t)rnd(&seed, 65536);
		seg.opt.has_wscale = rnd(&seed, 2);
		seg.opt.wscale = (uint8_t)rnd(&seed, 15);
		seg.opt.has_timestamp = rnd(&seed, 2);
		seg.opt.tsval = rand_r(&seed);
		seg.opt.tsecr = rand_r(&seed);
		if (rnd(&seed, 2))
			harness_client(&h, &k, flags, seq, ack, &seg);
		else
			harness_target(&h, &k, flags, seq, ack, &seg);
		if (rnd(&seed, 10) == 0)
			harness_script(&h, (enum engine_send_result)rnd(&seed, 4), 1);
		if (rnd(&seed, 3) == 0)
			harness_advance(&h, rnd(&seed, 3000));
		if (rnd(&seed, 5000) == 0)
			engine_abort_all(h.engine, h.now, "random abort of everything");
		check_invariants(&h);
	}
	print_message("garbage: %llu sessions started, %llu packets sent, %llu refused (memory), "
		      "%llu successors queued\n",
		      (unsigned long long)harness_counters(&h)->sessions_started,
		      (unsigned long long)h.sent_total,
		      (unsigned long long)harness_counters(&h)->sessions_refused_memory,
		      (unsigned long long)harness_counters(&h)->sessions_queued_successor);
	harness_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_streams_arrive_exactly),
		cmocka_unit_test(test_random_streams_arrive_exactly_send_at_once),
		cmocka_unit_test(test_random_garbage_keeps_invariants),
	};

	return cmocka_run_group_tests_name("copy_engine_random", tests, NULL, NULL);
}
