/*
 * intercept_router_bench.c — doppel-intercept's route table
 * (intercept/router.h): routes added, response summaries looked up and
 * routes deleted per second, with --routes live routes spread over
 * --owners copy daemon connections.
 *
 * Lookups follow a pseudo-random order over the live routes (every lookup
 * must find its owner, or the program exits 1), plus as many lookups of
 * client ports no one registered (they must find nothing): intercept sees
 * both. Clients are 198.18.0.0/16 addresses, 60,000 ports each; the target
 * 198.19.0.1:8080. Each figure is the median of --runs runs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_addresses.h"
#include "bench_util.h"
#include "lib/net/addr.h"
#include "intercept/router.h"

#define PROGRAM "intercept_router_bench"
#define MAX_OWNERS 64u

/* A permutation walk: index i * step mod n visits every route once when
 * step and n share no factor. */
static uint64_t coprime_step(uint64_t n)
{
	uint64_t step = 2654435761u % n;

	if (step == 0)
		step = 1;
	for (;;) {
		uint64_t a = step, b = n;

		while (b) {
			uint64_t t = a % b;

			a = b;
			b = t;
		}
		if (a == 1)
			return step;
		step++;
	}
}

struct router_rates {
	double add, lookup, miss, del;
};

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", PROGRAM, what);
	exit(1);
}

/* --4tuple: routes keyed by the whole 4-tuple (ROUTE_4TUPLE), as a copy
 * daemon that announces it registers them. */
static bool four_tuple;

static enum router_add_result bench_add(struct router *r, struct router_owner *o,
					const struct dp_addr *client, uint16_t port,
					const struct dp_addr *target)
{
	return four_tuple ?
		router_add_4tuple(r, o, client, port, target, BENCH_TARGET_PORT) :
		router_add(r, o, client, port, target, BENCH_TARGET_PORT);
}

static int bench_del(struct router *r, struct router_owner *o, const struct dp_addr *client,
		     uint16_t port, const struct dp_addr *target)
{
	return four_tuple ? router_del_4tuple(r, o, client, port, target, BENCH_TARGET_PORT) :
			    router_del(r, o, client, port);
}

static struct router_rates run_once(uint64_t routes, uint64_t owner_count)
{
	struct router r;
	struct router_owner owners[MAX_OWNERS];
	struct router_rates rates;
	struct dp_addr target, client;
	uint64_t start, step = coprime_step(routes);
	uint16_t port;

	if (router_init(&r) < 0)
		die("router_init failed");
	for (uint64_t o = 0; o < owner_count; o++)
		router_owner_init(&owners[o]);
	bench_target(&target);

	start = bench_now_ns();
	for (uint64_t i = 0; i < routes; i++) {
		bench_client(i, &client, &port);
		if (bench_add(&r, &owners[i % owner_count], &client, port, &target) != ROUTER_ADDED)
			die("router_add did not add a new route");
	}
	rates.add = (double)routes / ((double)(bench_now_ns() - start) / 1e9);

	start = bench_now_ns();
	for (uint64_t i = 0; i < routes; i++) {
		uint64_t k = i * step % routes;

		bench_client(k, &client, &port);
		if (router_lookup(&r, &client, port, &target, BENCH_TARGET_PORT) != &owners[k % owner_count])
			die("a lookup did not find its route's owner");
	}
	rates.lookup = (double)routes / ((double)(bench_now_ns() - start) / 1e9);

	/* Ports above the registered ones (1024 .. 61023), same addresses. */
	start = bench_now_ns();
	for (uint64_t i = 0; i < routes; i++) {
		bench_client(i, &client, &port);
		port = (uint16_t)(BENCH_FIRST_PORT + BENCH_PORTS_PER_ADDRESS + i % 4000);
		if (router_lookup(&r, &client, port, &target, BENCH_TARGET_PORT))
			die("a lookup of an unregistered port found a route");
	}
	rates.miss = (double)routes / ((double)(bench_now_ns() - start) / 1e9);

	start = bench_now_ns();
	for (uint64_t i = 0; i < routes; i++) {
		uint64_t k = i * step % routes;

		bench_client(k, &client, &port);
		if (bench_del(&r, &owners[k % owner_count], &client, port, &target) != 1)
			die("router_del did not remove a route");
	}
	rates.del = (double)routes / ((double)(bench_now_ns() - start) / 1e9);
	if (r.count != 0)
		die("routes left after deleting them all");
	router_free(&r);
	return rates;
}

int main(int argc, char **argv)
{
	uint64_t routes = 1000000, owner_count = 4, runs = 5;
	double *add, *lookup, *miss, *del;
	struct bench_spread s;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--routes") && i + 1 < argc)
			routes = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, ROUTER_MAX_ROUTES), i++;
		else if (!strcmp(argv[i], "--owners") && i + 1 < argc)
			owner_count = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, MAX_OWNERS), i++;
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = bench_parse_count(PROGRAM, argv[i], argv[i + 1], 1, 1000), i++;
		else if (!strcmp(argv[i], "--4tuple"))
			four_tuple = true;
		else {
			fprintf(stderr, "usage: %s [--routes N] [--owners O] [--runs K] [--4tuple]\n",
				PROGRAM);
			return 2;
		}
	}
	add = calloc(runs, sizeof(double));
	lookup = calloc(runs, sizeof(double));
	miss = calloc(runs, sizeof(double));
	del = calloc(runs, sizeof(double));
	if (!add || !lookup || !miss || !del)
		die("out of memory");
	for (uint64_t run = 0; run < runs; run++) {
		struct router_rates rates = run_once(routes, owner_count);

		add[run] = rates.add;
		lookup[run] = rates.lookup;
		miss[run] = rates.miss;
		del[run] = rates.del;
	}
	printf("router: %llu routes over %llu owners, keyed by %s\n", (unsigned long long)routes,
	       (unsigned long long)owner_count, four_tuple ? "the 4-tuple" : "client address and port");
	printf("lookups_total=%llu\n", (unsigned long long)(2 * routes * runs));
	s = bench_spread_of(add, runs);
	bench_print_spread("router_add", "routes/s", &s, runs);
	s = bench_spread_of(lookup, runs);
	bench_print_spread("router_lookup (found)", "lookups/s", &s, runs);
	s = bench_spread_of(miss, runs);
	bench_print_spread("router_lookup (no route)", "lookups/s", &s, runs);
	s = bench_spread_of(del, runs);
	bench_print_spread("router_del", "routes/s", &s, runs);
	free(add);
	free(lookup);
	free(miss);
	free(del);
	return 0;
}
