/*
 * options.h — checked parsing of option and config values (options.c) and
 * of config files (config.c). Each parser returns 0, or -1 with a message
 * in err (errlen bytes) that names what was wrong; it never logs. The
 * caller prefixes the option's name. Output is written only on success.
 */
#ifndef DOPPEL_OPTIONS_H
#define DOPPEL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "lib/runtime/log.h"
#include "lib/net/addr.h"

/* Fill err (errlen bytes; either may be 0/NULL) and return -1: for the
 * parsers here and for config_line_fn callbacks. */
int opt_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int opt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		   char *err, size_t errlen);
/* A port 1..65535. */
int opt_parse_port(const char *s, uint16_t *out, char *err, size_t errlen);
/* A duration: a whole number with an optional unit ms, s, m, h (default
 * unit_ms milliseconds per bare unit, e.g. 1000 for "seconds"). */
int opt_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out_ms,
			  char *err, size_t errlen);
/* A timeout or interval of a daemon: a duration as above with bare numbers
 * in seconds, at least min_ms and at most 365 days. */
#define OPT_TIMEOUT_MAX_MS ((uint64_t)365 * 24 * 3600 * 1000)
int opt_parse_timeout_ms(const char *s, uint64_t min_ms, uint64_t *out_ms, char *err,
			 size_t errlen);
/* A size: a number with an optional suffix k, m, g (either case; binary:
 * k = 1024, m = 1024^2, g = 1024^3). */
int opt_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);
/* An IPv4 or IPv6 address. */
int opt_parse_addr(const char *s, struct dp_addr *out, char *err, size_t errlen);
/* host[:port] or [v6]:port, with default_port when none is given (0: a
 * port is required). host is a literal address, never a name to resolve;
 * a bare IPv6 address (two colons or more) takes the default port. */
int opt_parse_host_port(const char *s, uint16_t default_port, struct dp_addr *addr,
			uint16_t *port, char *err, size_t errlen);
/* A MAC address aa:bb:cc:dd:ee:ff. */
int opt_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen);
/* A log level: err, warning, notice, info or debug (--log-level). */
int opt_parse_log_level(const char *s, enum log_level *out, char *err, size_t errlen);
/* A config file's flag: yes, true, 1 or no, false, 0. */
int opt_parse_bool(const char *s, bool *out, char *err, size_t errlen);

/*
 * Config files: "key = value" or "key value" lines; '#' at the start of a
 * line or after white space starts a comment; blank lines ignored. Keys
 * are letters, digits, '_', '-' and '.'; the value is the rest of the line
 * (inner spaces kept) and may not be empty. Lines longer than
 * CONFIG_LINE_MAX are refused. For each line cb(key, value, line_no, arg)
 * is called (key and value live only during the call); a non-zero return stops parsing and is returned, with the
 * message the callback put in err prefixed by "FILE:LINE: ". A syntax
 * error fills err with "FILE:LINE: what" and returns -1. Opening and read
 * failures return -1 with "FILE: reason" (and errno).
 */
#define CONFIG_LINE_MAX 4096
typedef int (*config_line_fn)(const char *key, const char *value, unsigned line_no,
			      void *arg, char *err, size_t errlen);
int config_parse_file(const char *path, config_line_fn cb, void *arg, char *err, size_t errlen);

#endif
