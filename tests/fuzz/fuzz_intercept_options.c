/*
 * fuzz_intercept_options.c — libFuzzer harness for doppel-intercept's
 * command line and config file, intercept_options_parse()
 * (intercept/intercept_options.c). The input is an argv and a config file,
 * as argv_input.h describes. -h and -v print (to /dev/null here) and
 * return INTERCEPT_OPTIONS_EXIT; nothing in the parser exits, so every
 * input runs. -F is compiled by libpcap while parsing: no_name_lookup.c
 * keeps its host names from being resolved.
 *
 * A refusal must say why. What is accepted must hold what
 * doppel-intercept(8) (OPTIONS) promises: a known source,
 * ports and ranges in bounds, queue ranges in order, the payload prefix
 * the same for the source and the server, allow and match lists within
 * their arrays, every --match naming a port (kmod refuses a rule that
 * would swallow every TCP packet), and the source config's strings
 * pointing at the options' own copies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_check.h"
#include "argv_input.h"
#include "intercept/intercept_options.h"

static void check_accepted(const struct intercept_options *o)
{
	const struct source_config *s = &o->source_cfg;
	const struct server_config *v = &o->server_cfg;

	REQUIRE(o->source && (strcmp(o->source, "nfqueue") == 0 ||
			      strcmp(o->source, "pcap") == 0 || strcmp(o->source, "kmod") == 0));
	REQUIRE(v->port >= 1);
	REQUIRE(v->bind.family == 0 || fuzz_family_ok(&v->bind));
	REQUIRE(v->allow_count <= SERVER_MAX_ALLOW);
	for (size_t i = 0; i < v->allow_count; i++)
		REQUIRE(fuzz_family_ok(&v->allow[i]));
	REQUIRE(s->queue_first <= s->queue_last);
	REQUIRE(s->queue_maxlen >= 1);
	REQUIRE(v->payload_prefix <= INTERCEPT_MAX_PAYLOAD_PREFIX);
	/* the sources copy what the server sends: the larger of the two */
	REQUIRE(s->payload_prefix == server_payload_copied(v));
	REQUIRE(s->match_count <= SOURCE_MAX_MATCHES);
	for (size_t i = 0; i < s->match_count; i++) {
		REQUIRE(s->matches[i].port >= 1);
		REQUIRE(s->matches[i].addr.family == 0 || fuzz_family_ok(&s->matches[i].addr));
	}
	REQUIRE(s->device == o->device && s->filter == o->filter);
	REQUIRE(o->common.stats_interval_ms >= 1000 &&
		o->common.stats_interval_ms <= (uint64_t)365 * 24 * 3600 * 1000);
	REQUIRE(v->hold_unrouted_ms <= INTERCEPT_MAX_HOLD_UNROUTED_MS);
	REQUIRE(!o->common.log_file || o->common.log_file[0]);
	REQUIRE(!o->common.pid_file || o->common.pid_file[0]);
	REQUIRE(!o->common.stats_file || o->common.stats_file[0]);
	REQUIRE(o->common.log_level >= LOG_LEVEL_ERR && o->common.log_level <= LOG_LEVEL_DEBUG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct intercept_options o;
	struct argv_input a;
	char err[1024];
	enum intercept_options_result r;

	if (argv_input_build(&a, "doppel-intercept", data, size)) {
		err[0] = '\0';
		r = intercept_options_parse(&o, a.argc, a.argv, err, sizeof(err));
		REQUIRE(r == INTERCEPT_OPTIONS_RUN || r == INTERCEPT_OPTIONS_EXIT ||
			r == INTERCEPT_OPTIONS_LIST_STATS || r == INTERCEPT_OPTIONS_ERROR);
		if (r == INTERCEPT_OPTIONS_ERROR)
			REQUIRE(err[0] != '\0' && strlen(err) < sizeof(err));
		if (r == INTERCEPT_OPTIONS_RUN)
			check_accepted(&o);
		intercept_options_free(&o);
	}
	argv_input_free(&a);
	return 0;
}
