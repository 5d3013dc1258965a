/*
 * stats_check.h — checks a daemon's statistics tests share: its one list
 * of keys is well formed, and the JSON file carries exactly that list.
 */
#ifndef DOPPEL_STATS_CHECK_H
#define DOPPEL_STATS_CHECK_H

#include "lib/runtime/stats.h"

/* Every key is non-empty, of [a-z0-9_] (a JSON key and a Prometheus
 * metric name alike), unique, with a help line and a type; a key in a
 * labelled family names its label and value. */
void unit_assert_stats_list(const struct stats *s);
/* json (as written by stats_write_json) has every key of s once, with its
 * value, plus the stats_file_keys, and nothing else. */
void unit_assert_stats_json(const char *json, const struct stats *s);

#endif
