/*
 * log.h — relayd-style logging: warn (with errno), warnx (without), info,
 * debug, fatal (exits). Lines go to stderr; when the process was started by
 * systemd (JOURNAL_STREAM is set) each line carries a "<N>" syslog priority
 * prefix that journald understands. Every function checks its format.
 */
#ifndef DOPPEL_LOG_H
#define DOPPEL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* syslog's own numbers, so journald reads the prefixes right. */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* name: the program's name for the line prefix; verbosity: the most verbose
 * level printed (LOG_LEVEL_INFO by default). */
void log_init(const char *name, enum log_level verbosity);
void log_set_level(enum log_level verbosity);
enum log_level log_get_level(void);
/* Also append every line to this file (-l); NULL stops. 0, or -1 with errno. */
int log_open_file(const char *path);
/* Force or suppress the "<N>" prefixes (tests; default: JOURNAL_STREAM). */
void log_set_journal(bool on);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Rate-limited: at most LOG_RATELIMIT_BURST lines per
 * LOG_RATELIMIT_INTERVAL_MS window for this call site (one zeroed struct
 * per site); suppressed lines are counted and reported with the next one
 * printed. The window restarts with the first line after it ends. */
#define LOG_RATELIMIT_BURST 10
#define LOG_RATELIMIT_INTERVAL_MS 5000
struct log_ratelimit {
	unsigned long long window_start_ms;
	unsigned printed, suppressed;
	unsigned to_report;	/* set when a line is allowed: how many were
				 * suppressed before it, for the caller to say */
};
bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned long long now_ms);
/* log_vmsg behind log_ratelimit_ok: a line filtered out by its level uses
 * none of the budget; an allowed line after suppressed ones ends with
 * " (N similar lines suppressed)". now_ms: loop_now_ms() in the daemons. */
void log_ratelimited(struct log_ratelimit *rl, unsigned long long now_ms,
		     enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
