/*
 * doppel-compare-report — reads doppel-copy's --compare-log (JSON lines,
 * docs/compare.md) and prints what differed, the most frequent first,
 * grouped by request (HTTP method and path, Redis command, the first words
 * of an SQL statement), kind of difference and the two verdicts.
 *
 *   doppel-compare-report [-n TOP] [FILE...]     (no FILE: standard input)
 *
 * Exit status: 0, 1 when a file cannot be read, 2 for a bad option. Lines
 * that are not the log's JSON objects are counted and named, not fatal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/net/hash.h"

#define LINE_MAX_BYTES (64 * 1024)

struct group {
	char *key;		/* request \t kind \t online \t target */
	uint64_t count;
	uint64_t online_ttfb, target_ttfb;	/* sums, microseconds */
	char example[96];	/* a session and time where it happened */
};

struct report {
	struct group *slots;
	size_t cap, used;
	uint64_t lines, bad, partial;
	char first_bad[512];
	uint64_t kinds[6];
};

static const char *const kinds[] = { "status", "body", "missing", "malformed", "slower", "?" };

static int kind_index(const char *k)
{
	for (int i = 0; i < 5; i++)
		if (!strcmp(k, kinds[i]))
			return i;
	return 5;
}

static struct group *slot_for(struct report *r, const char *key)
{
	if ((r->used + 1) * 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct group *s = calloc(cap, sizeof(*s));

		if (!s)
			return NULL;
		for (size_t i = 0; i < r->cap; i++) {
			if (!r->slots[i].key)
				continue;
			size_t j = hash_fnv1a(HASH_FNV1A_OFFSET, r->slots[i].key,
					      strlen(r->slots[i].key)) % cap;

			while (s[j].key)
				j = (j + 1) % cap;
			s[j] = r->slots[i];
		}
		free(r->slots);
		r->slots = s;
		r->cap = cap;
	}
	size_t j = hash_fnv1a(HASH_FNV1A_OFFSET, key, strlen(key)) % r->cap;

	while (r->slots[j].key && strcmp(r->slots[j].key, key))
		j = (j + 1) % r->cap;
	if (!r->slots[j].key) {
		r->slots[j].key = strdup(key);
		if (!r->slots[j].key)
			return NULL;
		r->used++;
	}
	return &r->slots[j];
}

static const char *str(json_object *o, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static int64_t num(json_object *o, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : 0;
}

static void bad_line(struct report *r, const char *file, uint64_t n, const char *why)
{
	if (!r->bad++)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s:%" PRIu64 ": %s", file, n, why);
}

static void take_line(struct report *r, const char *file, uint64_t n, const char *line)
{
	json_object *o = json_tokener_parse(line), *online, *target;
	const char *request, *kind, *ov, *tv;

	if (!o || !json_object_is_type(o, json_type_object)) {
		bad_line(r, file, n, "not a JSON object");
		json_object_put(o);
		return;
	}
	if (!(request = str(o, "request")) || !(kind = str(o, "kind")) ||
	    !json_object_object_get_ex(o, "online", &online) ||
	    !json_object_object_get_ex(o, "target", &target) ||
	    !(ov = str(online, "verdict")) || !(tv = str(target, "verdict"))) {
		bad_line(r, file, n, "not a --compare-log line (request, kind, online, target)");
		json_object_put(o);
		return;
	}
	char key[1024];

	snprintf(key, sizeof(key), "%s\t%s\t%s\t%s", request, kind, ov, tv);
	struct group *g = slot_for(r, key);

	if (g) {
		if (!g->count) {
			const char *session = str(o, "session"), *when = str(o, "time");

			snprintf(g->example, sizeof(g->example), "%s at %s", session ? session : "?",
				 when ? when : "?");
		}
		g->count++;
		g->online_ttfb += (uint64_t)num(online, "ttfb_us");
		g->target_ttfb += (uint64_t)num(target, "ttfb_us");
	}
	json_object *partial;

	if (json_object_object_get_ex(o, "partial", &partial) && json_object_get_boolean(partial))
		r->partial++;
	r->kinds[kind_index(kind)]++;
	r->lines++;
	json_object_put(o);
}

static int read_file(struct report *r, const char *name)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
	char *line = malloc(LINE_MAX_BYTES);
	uint64_t n = 0;

	if (!f || !line) {
		fprintf(stderr, "doppel-compare-report: %s: %s\n", name, strerror(errno));
		free(line);
		return -1;
	}
	while (fgets(line, LINE_MAX_BYTES, f)) {
		size_t len = strlen(line);

		n++;
		if (len && line[len - 1] != '\n' && !feof(f)) {
			bad_line(r, name, n, "longer than 64 KiB");
			int ch;

			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		if (len > 1)
			take_line(r, name, n, line);
	}
	if (f != stdin)
		fclose(f);
	free(line);
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (!x->key || !y->key)
		return !x->key - !y->key;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->key, y->key);
}

static void print(struct report *r, unsigned top)
{
	printf("%" PRIu64 " requests answered differently or later:", r->lines);
	for (int i = 0; i < 5; i++)
		printf(" %" PRIu64 " %s", r->kinds[i], kinds[i]);
	printf("\n");
	if (r->partial)
		printf("(%" PRIu64 " with the target's answer cut by intercept's --route-payload: "
		       "their bodies were not compared)\n", r->partial);
	if (r->bad)
		printf("%" PRIu64 " lines skipped; the first: %s\n", r->bad, r->first_bad);
	if (!r->used)
		return;
	qsort(r->slots, r->cap, sizeof(*r->slots), by_count);
	printf("\n%8s  %-9s  %-40s  %-24s  %s\n", "count", "kind", "request", "online -> target",
	       "first ttfb online/target (ms, mean)");
	for (size_t i = 0; i < r->used && i < top; i++) {
		struct group *g = &r->slots[i];
		char *f[4] = { NULL }, buf[1024], *rest = buf;

		/* strsep, not strtok: an empty verdict is a field of its own. */
		snprintf(buf, sizeof(buf), "%s", g->key);
		for (int k = 0; k < 4; k++)
			f[k] = strsep(&rest, "\t");
		char verdicts[64];

		snprintf(verdicts, sizeof(verdicts), "%s -> %s", f[2] && *f[2] ? f[2] : "-",
			 f[3] && *f[3] ? f[3] : "-");
		printf("%8" PRIu64 "  %-9s  %-40s  %-24s  %.2f/%.2f  e.g. %s\n", g->count,
		       f[1] ? f[1] : "", f[0] ? f[0] : "", verdicts,
		       g->online_ttfb / 1000.0 / (double)g->count,
		       g->target_ttfb / 1000.0 / (double)g->count, g->example);
	}
	if (r->used > top)
		printf("(%zu more groups; -n to show more)\n", r->used - top);
}

int main(int argc, char **argv)
{
	struct report r = { 0 };
	unsigned top = 20;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		char *end;

		switch (opt) {
		case 'n':
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || errno || !v || v > 1000000) {
				fprintf(stderr, "doppel-compare-report: -n '%s': not a number 1..1000000\n",
					optarg);
				return 2;
			}
			top = (unsigned)v;
			break;
		default:
			fprintf(stderr, "usage: doppel-compare-report [-n TOP] [FILE...]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind == argc && read_file(&r, "-") < 0)
		status = 1;
	for (int i = optind; i < argc; i++)
		if (read_file(&r, argv[i]) < 0)
			status = 1;
	print(&r, top);
	for (size_t i = 0; i < r.cap; i++)
		free(r.slots[i].key);
	free(r.slots);
	return status;
}
