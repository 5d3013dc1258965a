/*
 * compare_options.c — parsing doppel-copy's --compare options
 * (compare_options.h).
 */
#include "copy/compare/compare_options.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/options.h"

const char *const compare_option_names[COMPARE_OPT_COUNT] = {
	[COMPARE_OPT_SPEC] = "compare",
	[COMPARE_OPT_LOG] = "compare-log",
	[COMPARE_OPT_LOG_SIZE] = "compare-log-size",
	[COMPARE_OPT_LOG_RATE] = "compare-log-rate",
	[COMPARE_OPT_HEAD] = "compare-head",
	[COMPARE_OPT_VOLATILE] = "compare-volatile",
	[COMPARE_OPT_SESSIONS] = "compare-sessions",
	[COMPARE_OPT_SLOWER] = "compare-slower",
};

void compare_options_defaults(struct compare_options *o)
{
	memset(o, 0, sizeof(*o));
	o->log_size = (uint64_t)64 << 20;
	o->log_rate = 100;
	o->head = 256;
	o->max_sessions = 10000;
	o->slower_ms = 10;
}

static void free_volatile(struct compare_options *o)
{
	for (size_t i = 0; i < o->volatile_count; i++)
		free(o->volatile_headers[i]);
	o->volatile_count = 0;
}

void compare_options_free(struct compare_options *o)
{
	free(o->log_file);
	o->log_file = NULL;
	free_volatile(o);
}

static int proto_of(const char *name, enum compare_proto *p, char *err, size_t errlen)
{
	if (compare_proto_parse(name, p) < 0)
		return opt_error(err, errlen, "'%s' is not a protocol to compare "
				 "(raw, http, redis, postgres or mysql)", name);
	return 0;
}

static int parse_spec(struct compare_options *o, const char *value, char *err, size_t errlen)
{
	char buf[512];

	if (!*value)
		return opt_error(err, errlen, "empty value (a protocol, or PORT=PROTO,...)");
	if (strlen(value) >= sizeof(buf))
		return opt_error(err, errlen, "'%.40s...' is too long", value);
	snprintf(buf, sizeof(buf), "%s", value);
	o->spec_count = 0;
	o->all = false;
	if (!strchr(buf, '=')) {
		if (proto_of(buf, &o->all_proto, err, errlen) < 0)
			return -1;
		o->all = o->on = true;
		return 0;
	}
	for (char *item = buf, *next; item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		char *eq = strchr(item, '=');
		uint64_t port;

		if (!eq)
			return opt_error(err, errlen, "'%s' is not PORT=PROTO", item);
		*eq = '\0';
		if (opt_parse_uint(item, 1, 65535, &port, err, errlen) < 0)
			return -1;
		if (o->spec_count == COMPARE_SPECS_MAX)
			return opt_error(err, errlen, "more than %d ports", COMPARE_SPECS_MAX);
		if (proto_of(eq + 1, &o->specs[o->spec_count].proto, err, errlen) < 0)
			return -1;
		o->specs[o->spec_count++].port = (uint16_t)port;
	}
	o->on = true;
	return 0;
}

static int parse_volatile(struct compare_options *o, const char *value, char *err, size_t errlen)
{
	char buf[1024];

	if (strlen(value) >= sizeof(buf))
		return opt_error(err, errlen, "the list is too long");
	snprintf(buf, sizeof(buf), "%s", value);
	free_volatile(o);
	for (char *item = buf, *next; item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		while (*item == ' ')
			item++;
		size_t len = strlen(item);

		while (len && item[len - 1] == ' ')
			item[--len] = '\0';
		if (!len)
			return opt_error(err, errlen, "an empty header name in '%s'", value);
		for (char *p = item; *p; p++) {
			if (!isgraph((unsigned char)*p) || *p == ':')
				return opt_error(err, errlen, "'%s' is not a header name", item);
			*p = (char)tolower((unsigned char)*p);
		}
		if (o->volatile_count == COMPARE_VOLATILE_MAX)
			return opt_error(err, errlen, "more than %d headers", COMPARE_VOLATILE_MAX);
		o->volatile_headers[o->volatile_count] = strdup(item);
		if (!o->volatile_headers[o->volatile_count])
			return opt_error(err, errlen, "out of memory");
		o->volatile_count++;
	}
	return 0;
}

int compare_option_apply(struct compare_options *o, enum compare_option which, const char *value,
			 char *err, size_t errlen)
{
	uint64_t v;

	switch (which) {
	case COMPARE_OPT_SPEC:
		return parse_spec(o, value, err, errlen);
	case COMPARE_OPT_LOG:
		if (!*value)
			return opt_error(err, errlen, "empty file name");
		free(o->log_file);
		o->log_file = strdup(value);
		return o->log_file ? 0 : opt_error(err, errlen, "out of memory");
	case COMPARE_OPT_LOG_SIZE:
		if (opt_parse_size(value, &v, err, errlen) < 0)
			return -1;
		if (v < 4096 || v > ((uint64_t)1 << 40))
			return opt_error(err, errlen, "'%s' is out of range 4k..1024g", value);
		o->log_size = v;
		return 0;
	case COMPARE_OPT_LOG_RATE:
		if (opt_parse_uint(value, 1, 1000000, &v, err, errlen) < 0)
			return -1;
		o->log_rate = (unsigned)v;
		return 0;
	case COMPARE_OPT_HEAD:
		if (opt_parse_uint(value, 0, ANSWER_HEAD_MAX, &v, err, errlen) < 0)
			return -1;
		o->head = (unsigned)v;
		return 0;
	case COMPARE_OPT_VOLATILE:
		return parse_volatile(o, value, err, errlen);
	case COMPARE_OPT_SESSIONS:
		if (opt_parse_uint(value, 1, 10000000, &v, err, errlen) < 0)
			return -1;
		o->max_sessions = (unsigned)v;
		return 0;
	case COMPARE_OPT_SLOWER:
		if (opt_parse_uint(value, 0, 3600 * 1000, &v, err, errlen) < 0)
			return -1;
		o->slower_ms = (unsigned)v;
		return 0;
	default:
		return opt_error(err, errlen, "not handled");
	}
}

int compare_options_proto(const struct compare_options *o, uint16_t port)
{
	if (!o->on)
		return -1;
	if (o->all)
		return (int)o->all_proto;
	for (size_t i = 0; i < o->spec_count; i++)
		if (o->specs[i].port == port)
			return (int)o->specs[i].proto;
	return -1;
}
