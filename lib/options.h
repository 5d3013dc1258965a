/*
 * options.h — checked parsing of option and config values. Each parser
 * returns 0, or -1 with a message in err (errlen bytes) that names what was
 * wrong; it never logs. The caller prefixes the option's name.
 */
#ifndef DOPPEL_OPTIONS_H
#define DOPPEL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

int opt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		   char *err, size_t errlen);
/* A port 1..65535. */
int opt_parse_port(const char *s, uint16_t *out, char *err, size_t errlen);
/* A duration: a number with an optional unit ms, s, m, h (default unit_ms
 * milliseconds per bare unit, e.g. 1000 for "seconds"). */
int opt_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out_ms,
			  char *err, size_t errlen);
/* A size: a number with an optional suffix k, m, g (binary). */
int opt_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);
/* An IPv4 or IPv6 address. */
int opt_parse_addr(const char *s, struct dp_addr *out, char *err, size_t errlen);
/* host[:port] or [v6]:port, with default_port when none is given. */
int opt_parse_host_port(const char *s, uint16_t default_port, struct dp_addr *addr,
			uint16_t *port, char *err, size_t errlen);
/* A MAC address aa:bb:cc:dd:ee:ff. */
int opt_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen);

/*
 * Config files: "key = value" or "key value" lines; '#' starts a comment;
 * blank lines ignored. For each line cb(key, value, line_no, arg) is called;
 * a non-zero return stops parsing and is returned. A syntax error fills err
 * with "FILE:LINE: what" and returns -1. Opening failures return -1 too.
 */
typedef int (*config_line_fn)(const char *key, const char *value, unsigned line_no,
			      void *arg, char *err, size_t errlen);
int config_parse_file(const char *path, config_line_fn cb, void *arg, char *err, size_t errlen);

#endif
