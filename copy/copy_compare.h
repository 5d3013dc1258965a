/*
 * copy_compare.h — doppel-copy's glue for --compare (docs/compare.md):
 * feeds the comparison (copy/compare/) from the capture, the engine's
 * sink and the intercept summaries, writes the diff log, and reports the
 * latency table. Every function is a no-op on NULL (compare off).
 */
#ifndef DOPPEL_COPY_COMPARE_H
#define DOPPEL_COPY_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/compare/compare.h"
#include "copy/copy_options.h"

struct copy_compare;

/* The comparison's share of -m (of each worker's share with --workers):
 * an eighth (64 MiB of the default 512m), taken from the share for
 * buffered client data; 0 without --compare (docs/compare.md, Bounds and
 * cost). */
static inline uint64_t copy_compare_memory(const struct copy_options *o)
{
	return o->compare.on ? o->memory_bytes / (o->workers > 1 ? o->workers : 1) / 8 : 0;
}

/* NULL and err empty when --compare is off; NULL with err on failure. */
struct copy_compare *copy_compare_new(const struct copy_options *o, char *err, size_t errlen);
void copy_compare_free(struct copy_compare *cc);

/* A captured packet: true if it was the online server's (an answer),
 * taken here and not for the engine. */
bool copy_compare_answer(struct copy_compare *cc, uint64_t seed, uint64_t ts_us,
			 const struct packet *p);
/* A captured client packet of transfer t, copy 0's key. Before the engine
 * sees it (its route then asks for the answers' bytes). */
void copy_compare_request(struct copy_compare *cc, uint64_t ts_us, size_t transfer,
			  const struct session_key *key, const struct packet *p);
void copy_compare_sent(struct copy_compare *cc, const struct session_key *key,
		       const uint8_t *pkt, size_t len);
void copy_compare_summary(struct copy_compare *cc, const struct packet *p);
void copy_compare_end(struct copy_compare *cc, const struct session_key *key);
/* The session is replayed but not compared (compare_forget). */
void copy_compare_forget(struct copy_compare *cc, const struct session_key *key);
/* The payload a session's route asks for: all of each answer packet for
 * a compared session, else wanted. */
uint16_t copy_compare_payload(const struct copy_compare *cc, const struct session_key *key,
			      uint16_t wanted);

/* The latency table and the counts, to the log (exit and SIGUSR1). */
void copy_compare_report(const struct copy_compare *cc);

struct copy_compare_counters {
	struct compare_counters pairs;
	uint64_t log_written, log_dropped;
	uint64_t memory_bytes, memory_limit;	/* charged now, and the share of -m */
};
void copy_compare_counters(const struct copy_compare *cc, struct copy_compare_counters *out);

#endif
