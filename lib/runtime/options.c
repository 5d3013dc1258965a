/*
 * options.c — the value parsers of options.h: numbers, ports, durations,
 * sizes, addresses, MACs. Each is strict (the whole string must be used,
 * nothing overflows, no sign, nothing empty) and says what was wrong in
 * words that quote the input. The config file reader is config.c.
 */
#include "lib/runtime/options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int opt_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The decimal number at the start of s; *end points past it. strtoull
 * alone would skip spaces and accept a sign (negating "-1" to 2^64-1), so
 * the first character must be a digit. */
static int leading_number(const char *s, uint64_t *value, char **end, char *err, size_t errlen)
{
	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	if (s[0] == '-' && isdigit((unsigned char)s[1]))
		return opt_error(err, errlen, "'%s' is negative", s);
	if (!isdigit((unsigned char)s[0]))
		return opt_error(err, errlen, "'%s' is not a number", s);
	errno = 0;
	*value = strtoull(s, end, 10);
	if (errno == ERANGE)
		return opt_error(err, errlen, "'%s' is too large", s);
	return 0;
}

int opt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		   char *err, size_t errlen)
{
	uint64_t value = 0;
	char *end;

	if (leading_number(s, &value, &end, err, errlen) < 0)
		return -1;
	if (*end != '\0')
		return opt_error(err, errlen, "'%s' is not a number", s);
	if (value < min || value > max)
		return opt_error(err, errlen, "%s is out of range %llu..%llu", s,
				 (unsigned long long)min, (unsigned long long)max);
	*out = value;
	return 0;
}

int opt_parse_port(const char *s, uint16_t *out, char *err, size_t errlen)
{
	uint64_t value = 0;

	if (opt_parse_uint(s, 1, 65535, &value, err, errlen) < 0)
		return -1;
	*out = (uint16_t)value;
	return 0;
}

struct unit {
	const char *name;
	uint64_t factor;
};

/* A number followed by one of units (or by nothing: bare_factor). */
static int number_with_unit(const char *s, const struct unit *units, uint64_t bare_factor,
			    uint64_t *out, char *err, size_t errlen)
{
	uint64_t value = 0, factor = bare_factor;
	char *end;

	if (leading_number(s, &value, &end, err, errlen) < 0)
		return -1;
	if (*end == '.')
		return opt_error(err, errlen, "'%s' has a fraction: use a whole number of a smaller unit",
				 s);
	if (*end != '\0') {
		const struct unit *u = units;

		while (u->name && strcmp(u->name, end) != 0)
			u++;
		if (!u->name)
			return opt_error(err, errlen, "unknown unit '%s' in '%s'", end, s);
		factor = u->factor;
	}
	if (factor != 0 && value > UINT64_MAX / factor)
		return opt_error(err, errlen, "'%s' is too large", s);
	*out = value * factor;
	return 0;
}

int opt_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out_ms,
			  char *err, size_t errlen)
{
	static const struct unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 60 * 60 * 1000 }, { NULL, 0 },
	};

	return number_with_unit(s, units, default_unit_ms ? default_unit_ms : 1, out_ms,
				err, errlen);
}

int opt_parse_timeout_ms(const char *s, uint64_t min_ms, uint64_t *out_ms, char *err,
			 size_t errlen)
{
	uint64_t ms;

	if (opt_parse_duration_ms(s, 1000, &ms, err, errlen) < 0)
		return -1;
	if (ms < min_ms || ms > OPT_TIMEOUT_MAX_MS)
		return opt_error(err, errlen, "'%s' is out of range %llums..365 days", s,
				 (unsigned long long)min_ms);
	*out_ms = ms;
	return 0;
}

/* Binary multiples: k is 1024, as memory caps (-m) are counted in. */
int opt_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	static const struct unit units[] = {
		{ "k", 1ull << 10 }, { "K", 1ull << 10 }, { "m", 1ull << 20 }, { "M", 1ull << 20 },
		{ "g", 1ull << 30 }, { "G", 1ull << 30 }, { NULL, 0 },
	};

	return number_with_unit(s, units, 1, out, err, errlen);
}

int opt_parse_addr(const char *s, struct dp_addr *out, char *err, size_t errlen)
{
	struct dp_addr addr;

	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, s, &addr.v4) == 1)
		addr.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &addr.v6) == 1)
		addr.family = AF_INET6;
	else
		return opt_error(err, errlen, "'%s' is not an IPv4 or IPv6 address", s);
	*out = addr;
	return 0;
}

/* The port after "host:" or "[v6]:", its error naming the whole value. */
static int port_part(const char *whole, const char *port_text, uint16_t *port,
		     char *err, size_t errlen)
{
	char why[128];

	if (opt_parse_port(port_text, port, why, sizeof(why)) < 0)
		return opt_error(err, errlen, "bad port in '%s': %s", whole, why);
	return 0;
}

/* "[v6]" or "[v6]:port". */
static int bracketed_host_port(const char *s, uint16_t default_port, struct dp_addr *addr,
			       uint16_t *port, char *err, size_t errlen)
{
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN + 1];
	size_t len;

	if (!close)
		return opt_error(err, errlen, "missing ']' in '%s'", s);
	len = (size_t)(close - s - 1);
	if (len >= sizeof(host) || len == 0)
		return opt_error(err, errlen, "'%s' does not hold an IPv6 address in brackets", s);
	memcpy(host, s + 1, len);
	host[len] = '\0';
	if (inet_pton(AF_INET6, host, &addr->v6) != 1)
		return opt_error(err, errlen, "'%s' is not an IPv6 address", host);
	if (close[1] == ':')
		return port_part(s, close + 2, port, err, errlen);
	if (close[1] != '\0')
		return opt_error(err, errlen, "unexpected '%s' after ']' in '%s'", close + 1, s);
	if (default_port == 0)
		return opt_error(err, errlen, "'%s' has no port", s);
	*port = default_port;
	return 0;
}

/* With one colon it separates host and port; with more the whole value is
 * an IPv6 address (which then needs brackets to carry a port). */
int opt_parse_host_port(const char *s, uint16_t default_port, struct dp_addr *addr,
			uint16_t *port, char *err, size_t errlen)
{
	const char *colon;
	struct dp_addr parsed;
	uint16_t parsed_port = 0;
	char host[INET6_ADDRSTRLEN + 1];
	size_t len;

	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	memset(&parsed, 0, sizeof(parsed));
	if (s[0] == '[') {
		parsed.family = AF_INET6;
		if (bracketed_host_port(s, default_port, &parsed, &parsed_port, err, errlen) < 0)
			return -1;
		goto done;
	}
	colon = strchr(s, ':');
	if (!colon || strchr(colon + 1, ':')) {
		if (opt_parse_addr(s, &parsed, err, errlen) < 0)
			return -1;
		if (default_port == 0)
			return opt_error(err, errlen, "'%s' has no port", s);
		parsed_port = default_port;
		goto done;
	}
	len = (size_t)(colon - s);
	if (len == 0)
		return opt_error(err, errlen, "no address before the port in '%s'", s);
	if (len >= sizeof(host))
		return opt_error(err, errlen, "'%.*s' is not an IPv4 or IPv6 address", (int)len, s);
	memcpy(host, s, len);
	host[len] = '\0';
	if (opt_parse_addr(host, &parsed, err, errlen) < 0 ||
	    port_part(s, colon + 1, &parsed_port, err, errlen) < 0)
		return -1;
done:
	*addr = parsed;
	*port = parsed_port;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int opt_parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
	uint8_t parsed[6];

	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	for (int i = 0; i < 6; i++) {
		const char *pair = s + 3 * i;
		int high, low;

		/* Each pair is checked before the next is looked at, so the
		 * walk never passes the string's end. */
		high = hex_digit(pair[0]);
		low = high < 0 ? -1 : hex_digit(pair[1]);
		if (low < 0 || pair[2] != (i < 5 ? ':' : '\0'))
			return opt_error(err, errlen,
					 "'%s' is not a MAC address (expected six hex pairs like "
					 "02:00:5e:10:00:01)", s);
		parsed[i] = (uint8_t)(high << 4 | low);
	}
	memcpy(mac, parsed, 6);
	return 0;
}

int opt_parse_log_level(const char *s, enum log_level *out, char *err, size_t errlen)
{
	static const struct { const char *name; enum log_level level; } levels[] = {
		{ "err", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARNING },
		{ "notice", LOG_LEVEL_NOTICE }, { "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};

	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*out = levels[i].level;
			return 0;
		}
	}
	return opt_error(err, errlen, "'%s' is not a log level (err, warning, notice, info, debug)",
			 s);
}

int opt_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	if (!s || !*s)
		return opt_error(err, errlen, "empty value");
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
		*out = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
		*out = false;
	else
		return opt_error(err, errlen, "'%s' is not yes or no", s);
	return 0;
}
