/*
 * fuzz_copy_options.c — libFuzzer harness for doppel-copy's command line
 * and config file, copy_options_parse() (copy/copy_options.c and
 * copy_option_lists.c). The input is an argv and a config file, as
 * argv_input.h describes; copy_options_parse never exits (-h and -v are
 * results), so every input runs.
 *
 * A refusal must say why. What is accepted must hold what doppel-copy(8)
 * (OPTIONS) promises, since the daemon relies on it without
 * checking again: every range, the required options, -c's family, -o's
 * MAC form, no two copies on one client port; and the capture filter
 * built from -x must compile with libpcap.
 */
#include <math.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_check.h"
#include "argv_input.h"
#include "copy/copy_options.h"

#define DAY_MS ((uint64_t)24 * 3600 * 1000)

static void check_transfers(const struct copy_options *o)
{
	const struct copy_transfer *first = &o->transfers[0];

	REQUIRE(o->transfer_count >= 1 && o->transfer_count <= COPY_MAX_TRANSFERS);
	for (size_t i = 0; i < o->transfer_count; i++) {
		const struct copy_transfer *t = &o->transfers[i];

		REQUIRE(fuzz_family_ok(&t->target_addr) && t->target_port >= 1);
		REQUIRE(t->online_port >= 1);
		REQUIRE(!t->has_online_addr || t->online_addr.family == t->target_addr.family);
		REQUIRE(!t->has_src_mac || t->has_next_hop_mac);
		for (size_t k = 0; k < o->client_addr_count; k++)
			REQUIRE(o->client_addrs[k].family == t->target_addr.family);
		if (o->output_device) {
			REQUIRE(t->has_next_hop_mac);
			REQUIRE(memcmp(t->next_hop_mac, first->next_hop_mac, 6) == 0);
		}
		/* One capture address and port, one transfer. */
		for (size_t k = 0; k < i; k++)
			REQUIRE(o->transfers[k].online_port != t->online_port ||
				o->transfers[k].has_online_addr != t->has_online_addr ||
				(t->has_online_addr &&
				 !dp_addr_equal(&o->transfers[k].online_addr, &t->online_addr)));
	}
}

/* The filter built from -x compiles (it is what the capture opens with). */
static void check_filter(const struct copy_options *o)
{
	static char filter[65536];
	struct bpf_program program;
	pcap_t *dead;

	REQUIRE(copy_options_build_filter(o, filter, sizeof(filter)) == 0);
	dead = pcap_open_dead(DLT_EN10MB, 256);
	REQUIRE(dead != NULL);
	if (pcap_compile(dead, &program, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		fprintf(stderr, "filter '%s': %s\n", filter, pcap_geterr(dead));
		REQUIRE(!"the filter built from -x compiles");
	}
	pcap_freecode(&program);
	pcap_close(dead);
}

static void check_accepted(const struct copy_options *o)
{
	check_transfers(o);
	REQUIRE(o->intercept_count >= 1 && o->intercept_count <= COPY_MAX_INTERCEPTS);
	for (size_t i = 0; i < o->intercept_count; i++)
		REQUIRE(fuzz_family_ok(&o->intercepts[i].addr) && o->intercepts[i].port >= 1);
	REQUIRE(o->intercept_port >= 1);
	REQUIRE(o->intercept_conns >= 1 && o->intercept_conns <= 64);
	REQUIRE((o->client_addrs != NULL) == (o->client_addr_count > 0));
	REQUIRE(o->client_addr_count <= COPY_MAX_CLIENT_ADDRS);
	REQUIRE(o->copies >= 1 && o->copies <= COPY_MAX_COPIES);
	REQUIRE(o->port_shift >= 1);
	for (unsigned d = 1; d < o->copies; d++)
		REQUIRE((uint64_t)d * o->port_shift % 65535 != 0);
	REQUIRE(o->percent >= 1 && o->percent <= 100);
	REQUIRE(isfinite(o->speed) && o->speed >= 0 && o->speed <= 1e6);
	REQUIRE(o->repeat >= 1 && o->repeat <= 1000000);
	REQUIRE(!o->offline_file || o->capture_kind == CAPTURE_OFFLINE);
	REQUIRE(o->session_timeout_ms >= 1000 && o->session_timeout_ms <= 365 * DAY_MS);
	REQUIRE(o->keepalive_timeout_ms <= 365 * DAY_MS);
	REQUIRE(o->common.stats_interval_ms >= 1000 && o->common.stats_interval_ms <= 365 * DAY_MS);
	REQUIRE(o->memory_bytes >= (1u << 20) && o->memory_bytes <= ((uint64_t)1 << 40));
	REQUIRE(o->mtu >= 576);
	REQUIRE(o->mss == 0 || (o->mss >= 64 && o->mss <= 65495));
	REQUIRE(o->common.log_level >= LOG_LEVEL_ERR && o->common.log_level <= LOG_LEVEL_DEBUG);
	/* Strings are set only to something. */
	REQUIRE(!o->device || o->device[0]);
	REQUIRE(!o->filter || o->filter[0]);
	REQUIRE(!o->common.log_file || o->common.log_file[0]);
	REQUIRE(!o->common.pid_file || o->common.pid_file[0]);
	REQUIRE(!o->common.stats_file || o->common.stats_file[0]);
	REQUIRE(!o->output_device || o->output_device[0]);
	check_filter(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct copy_options o;
	struct argv_input a;
	char err[1024];
	enum copy_options_result r;

	if (argv_input_build(&a, "doppel-copy", data, size)) {
		err[0] = '\0';
		r = copy_options_parse(&o, a.argc, a.argv, err, sizeof(err));
		REQUIRE(r == COPY_OPTIONS_RUN || r == COPY_OPTIONS_HELP ||
			r == COPY_OPTIONS_VERSION || r == COPY_OPTIONS_LIST_STATS ||
			r == COPY_OPTIONS_ERROR);
		if (r == COPY_OPTIONS_ERROR)
			REQUIRE(err[0] != '\0' && strlen(err) < sizeof(err));
		if (r == COPY_OPTIONS_RUN)
			check_accepted(&o);
		copy_options_free(&o);
	}
	argv_input_free(&a);
	return 0;
}
