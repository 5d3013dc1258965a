/*
 * stats_check.c — see stats_check.h.
 */
#include "stats_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void assert_metric_name(const char *name)
{
	assert_non_null(name);
	assert_true(name[0] >= 'a' && name[0] <= 'z');
	assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(name));
}

void unit_assert_stats_list(const struct stats *s)
{
	assert_true(s->count > 0);
	for (size_t i = 0; i < s->count; i++) {
		const struct stat_def *d = &s->defs[i];

		assert_metric_name(d->name);
		assert_true(d->type == STAT_COUNTER || d->type == STAT_GAUGE);
		assert_non_null(d->help);
		assert_true(strlen(d->help) > 5);
		assert_null(strchr(d->help, '\n'));
		if (d->family) {
			assert_metric_name(d->family);
			assert_metric_name(d->label);
			assert_non_null(d->label_value);
			assert_true(*d->label_value);
		}
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(d->name, s->defs[j].name);
		for (size_t j = 0; j < stats_file_key_count; j++)
			assert_string_not_equal(d->name, stats_file_keys[j].name);
	}
}

/* Where "key": is in json, and that it is there once. */
static const char *find_key_once(const char *json, const char *name)
{
	char key[128];
	const char *at;

	snprintf(key, sizeof(key), "\"%s\": ", name);
	at = strstr(json, key);
	if (!at)
		fail_msg("key %s missing from %s", name, json);
	assert_null(strstr(at + 1, key));
	return at + strlen(key);
}

void unit_assert_stats_json(const char *json, const struct stats *s)
{
	size_t keys = 0;

	assert_int_equal(json[0], '{');
	for (size_t i = 0; i < s->count; i++) {
		const char *value = find_key_once(json, s->defs[i].name);
		char *end;
		unsigned long long v = strtoull(value, &end, 10);

		assert_true(end > value);
		assert_int_equal(v, s->values[i]);
		assert_true(*end == ',' || *end == '}');
	}
	for (size_t i = 0; i < stats_file_key_count; i++)
		find_key_once(json, stats_file_keys[i].name);
	/* Keys hold no quotes, and no value holds '": ', so each of these
	 * ends one key. */
	for (const char *p = json; (p = strstr(p, "\": ")); p++)
		keys++;
	assert_int_equal(keys, s->count + stats_file_key_count);
}
