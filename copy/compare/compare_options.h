/*
 * compare_options.h — doppel-copy's --compare options (docs/compare.md):
 *
 *   --compare SPEC          PROTO for every transfer, or PORT=PROTO[,...]
 *                           by the transfers' online ports; PROTO is raw,
 *                           http, redis, postgres or mysql
 *   --compare-log FILE      JSON lines, one per differing request
 *   --compare-log-size SIZE rotate the log past SIZE (64m), keeping FILE.1
 *   --compare-log-rate N    at most N lines a second (100); the rest counted
 *   --compare-head N        first bytes kept of each answer (256, at most 512)
 *   --compare-volatile LIST HTTP headers not compared (replaces the default
 *                           Date,Server,ETag,Set-Cookie,Last-Modified,Expires,Age)
 *   --compare-sessions N    sessions compared at once (10000)
 *   --compare-slower MS     log a request whose target answered more than
 *                           MS ms and twice later than online (10; 0 off)
 */
#ifndef DOPPEL_COMPARE_OPTIONS_H
#define DOPPEL_COMPARE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/compare/answer.h"

#define COMPARE_SPECS_MAX 32
#define COMPARE_VOLATILE_MAX 32

enum compare_option {
	COMPARE_OPT_SPEC = 0,
	COMPARE_OPT_LOG,
	COMPARE_OPT_LOG_SIZE,
	COMPARE_OPT_LOG_RATE,
	COMPARE_OPT_HEAD,
	COMPARE_OPT_VOLATILE,
	COMPARE_OPT_SESSIONS,
	COMPARE_OPT_SLOWER,
	COMPARE_OPT_COUNT
};

/* Their long names, in enum order. */
extern const char *const compare_option_names[COMPARE_OPT_COUNT];

struct compare_options {
	bool on;
	bool all;			/* one protocol for every transfer */
	enum compare_proto all_proto;
	size_t spec_count;
	struct { uint16_t port; enum compare_proto proto; } specs[COMPARE_SPECS_MAX];
	char *log_file;
	uint64_t log_size;
	unsigned log_rate;
	unsigned head;
	unsigned max_sessions;
	unsigned slower_ms;
	size_t volatile_count;		/* 0: the default list */
	char *volatile_headers[COMPARE_VOLATILE_MAX];
};

void compare_options_defaults(struct compare_options *o);
void compare_options_free(struct compare_options *o);
/* Apply one option's value; -1 with err naming what was wrong. */
int compare_option_apply(struct compare_options *o, enum compare_option which, const char *value,
			 char *err, size_t errlen);
/* The protocol for a transfer whose online port is port; -1 not compared. */
int compare_options_proto(const struct compare_options *o, uint16_t port);

#endif
