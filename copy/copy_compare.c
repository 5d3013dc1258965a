/*
 * copy_compare.c — the --compare glue (copy_compare.h). The comparison
 * itself (copy/compare/) is pure; this file gives it times, keys and
 * parsed packets, and writes what it finds.
 *
 * Times: the online side's come from the capture's timestamps (request
 * and answer were captured on the same host), the target side's from
 * this host's monotonic clock when a request left and when the summary of
 * its answer came back: the target's latency includes intercept's relay.
 */
#include "copy/copy_compare.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy/compare/diff_log.h"
#include "copy/copy_map.h"
#include "lib/runtime/log.h"

struct copy_compare {
	const struct copy_options *o;
	struct compare *compare;
	struct diff_log *log;
	char names[COMPARE_TRANSFERS_MAX][32];	/* each transfer's name in the log */
	const char *volatile_list[COMPARE_VOLATILE_MAX];
	struct session_key *keys;	/* o->copies of them, for copy_map_keys */
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_result(void *ctx, const struct compare_result *r)
{
	struct copy_compare *cc = ctx;

	if (r->kind == COMPARE_SAME && !r->slower)
		return;
	diff_log_write(cc->log, mono_us() / 1000, cc->names[r->transfer],
		       cc->o->compare.all ? cc->o->compare.all_proto :
		       (enum compare_proto)compare_options_proto(&cc->o->compare,
			       cc->o->transfers[r->transfer].online_port), r);
}

struct copy_compare *copy_compare_new(const struct copy_options *o, char *err, size_t errlen)
{
	const struct compare_options *co = &o->compare;
	struct compare_config cfg = {
		.max_sessions = co->max_sessions, .slower_min_us = (uint64_t)co->slower_ms * 1000,
		.max_bytes = (size_t)copy_compare_memory(o),
	};

	err[0] = '\0';
	if (!co->on)
		return NULL;
	struct copy_compare *cc = calloc(1, sizeof(*cc));

	if (!cc) {
		snprintf(err, errlen, "--compare: out of memory");
		return NULL;
	}
	cc->o = o;
	cc->keys = calloc(o->copies, sizeof(*cc->keys));
	if (!cc->keys) {
		snprintf(err, errlen, "--compare: out of memory");
		free(cc);
		return NULL;
	}
	for (size_t i = 0; i < co->volatile_count; i++)
		cc->volatile_list[i] = co->volatile_headers[i];
	cfg.transfer_count = o->transfer_count;
	for (size_t i = 0; i < o->transfer_count && i < COMPARE_TRANSFERS_MAX; i++) {
		int proto = compare_options_proto(co, o->transfers[i].online_port);

		snprintf(cc->names[i], sizeof(cc->names[i]), "%u", o->transfers[i].online_port);
		if (proto < 0)
			continue;
		cfg.compared[i] = true;
		cfg.answer[i].proto = (enum compare_proto)proto;
		cfg.answer[i].head_bytes = co->head;
		if (co->volatile_count) {
			cfg.answer[i].volatile_headers = cc->volatile_list;
			cfg.answer[i].n_volatile = co->volatile_count;
		}
	}
	cc->compare = compare_new(&cfg, on_result, cc);
	if (!cc->compare) {
		snprintf(err, errlen, "--compare: out of memory");
		copy_compare_free(cc);
		return NULL;
	}
	if (co->log_file) {
		cc->log = diff_log_open(co->log_file, co->log_size, co->log_rate, err, errlen);
		if (!cc->log) {
			copy_compare_free(cc);
			return NULL;
		}
	}
	return cc;
}

void copy_compare_free(struct copy_compare *cc)
{
	if (!cc)
		return;
	compare_free(cc->compare);
	diff_log_close(cc->log);
	free(cc->keys);
	free(cc);
}

bool copy_compare_answer(struct copy_compare *cc, uint64_t seed, uint64_t ts_us,
			 const struct packet *p)
{
	if (!cc)
		return false;
	/* The server's packet seen from the client's side: whose session. */
	struct packet m = *p;

	m.src = p->dst;
	m.dst = p->src;
	m.sport = p->dport;
	m.dport = p->sport;
	const struct copy_transfer *t = copy_map_transfer(cc->o, &m);

	if (!t || !compare_transfer_on(cc->compare, (size_t)(t - cc->o->transfers)))
		return false;
	if (copy_map_keys(cc->o, seed, &m, cc->keys))
		compare_online_packet(cc->compare, ts_us, &cc->keys[0], p);
	return true;
}

void copy_compare_request(struct copy_compare *cc, uint64_t ts_us, size_t transfer,
			  const struct session_key *key, const struct packet *p)
{
	if (cc)
		compare_client_packet(cc->compare, ts_us, transfer, key, p);
}

void copy_compare_sent(struct copy_compare *cc, const struct session_key *key,
		       const uint8_t *pkt, size_t len)
{
	struct packet p;
	const char *why;

	if (!cc || !compare_wants(cc->compare, key) ||
	    packet_parse(pkt, len, 0, &p, &why) < 0)
		return;
	compare_target_sent(cc->compare, mono_us(), key, &p);
}

void copy_compare_summary(struct copy_compare *cc, const struct packet *p)
{
	if (cc)
		compare_target_packet(cc->compare, mono_us(), p);
}

void copy_compare_end(struct copy_compare *cc, const struct session_key *key)
{
	if (cc)
		compare_session_end(cc->compare, mono_us(), key);
}

void copy_compare_forget(struct copy_compare *cc, const struct session_key *key)
{
	if (cc)
		compare_forget(cc->compare, key);
}

uint16_t copy_compare_payload(const struct copy_compare *cc, const struct session_key *key,
			      uint16_t wanted)
{
	return cc && compare_wants(cc->compare, key) ? 0xffff : wanted;
}

static void report_transfer(const struct copy_compare *cc, size_t i)
{
	const struct latency_table *t = compare_latency(cc->compare, i);

	if (!t || !t->online_ttfb.count)
		return;
	log_info("compare %s: %" PRIu64 " requests; time to first byte p50/p90/p99 (us): "
		 "online %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", target %" PRIu64 "/%" PRIu64 "/%" PRIu64
		 "; target/online p50/p90/p99 %.2f/%.2f/%.2f; to last byte p99 online %" PRIu64
		 " target %" PRIu64,
		 cc->names[i], t->online_ttfb.count,
		 latency_quantile(&t->online_ttfb, 0.5), latency_quantile(&t->online_ttfb, 0.9),
		 latency_quantile(&t->online_ttfb, 0.99),
		 latency_quantile(&t->target_ttfb, 0.5), latency_quantile(&t->target_ttfb, 0.9),
		 latency_quantile(&t->target_ttfb, 0.99),
		 latency_quantile(&t->ratio_permille, 0.5) / 1000.0,
		 latency_quantile(&t->ratio_permille, 0.9) / 1000.0,
		 latency_quantile(&t->ratio_permille, 0.99) / 1000.0,
		 latency_quantile(&t->online_ttlb, 0.99), latency_quantile(&t->target_ttlb, 0.99));
}

void copy_compare_report(const struct copy_compare *cc)
{
	if (!cc)
		return;
	const struct compare_counters *n = compare_counters(cc->compare);

	log_info("compare: %" PRIu64 " requests compared: %" PRIu64 " same, %" PRIu64
		 " different status, %" PRIu64 " different body, %" PRIu64 " missing at the target, %"
		 PRIu64 " malformed, %" PRIu64 " slower; %" PRIu64 " sessions compared, %" PRIu64
		 " skipped",
		 n->requests, n->kinds[COMPARE_SAME], n->kinds[COMPARE_STATUS], n->kinds[COMPARE_BODY],
		 n->kinds[COMPARE_MISSING], n->kinds[COMPARE_MALFORMED], n->slower, n->sessions,
		 n->sessions_skipped);
	for (size_t i = 0; i < cc->o->transfer_count && i < COMPARE_TRANSFERS_MAX; i++)
		report_transfer(cc, i);
}

void copy_compare_counters(const struct copy_compare *cc, struct copy_compare_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!cc)
		return;
	out->pairs = *compare_counters(cc->compare);
	out->log_written = diff_log_written(cc->log);
	out->log_dropped = diff_log_dropped(cc->log);
	out->memory_bytes = compare_memory(cc->compare);
	out->memory_limit = copy_compare_memory(cc->o);
}
