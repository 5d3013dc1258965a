/*
 * log.c — the logging behind log.h. Each line is built whole in one buffer
 * and written with a single writev(2), so lines from several processes
 * sharing stderr or the log file (O_APPEND) never interleave. Control
 * characters in a message become '?': one call, one line, whatever the
 * message quotes (a packet's bytes, a config line).
 *
 *   stderr:      [<N>]name: message[: strerror][ (N similar lines suppressed)]
 *   log file:    2024-05-01T12:00:00.123+0200 [warning] name: message...
 *
 * The "<N>" prefix is journald's: with SyslogLevelPrefix (the default)
 * journald strips it and files the line at priority N.
 */
#include "lib/runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048	/* longer messages are cut and end in "..." */
#define LOG_NAME_MAX 64

static struct {
	char name[LOG_NAME_MAX];
	enum log_level verbosity;
	bool journal;
	int file_fd;
} log_state = { "doppel", LOG_LEVEL_INFO, false, -1 };

/* A line under construction; once full, further text is dropped and the
 * line is marked cut. */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool cut;
};

static void line_vappend(struct line *ln, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void line_append(struct line *ln, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line_vappend(struct line *ln, const char *fmt, va_list ap)
{
	size_t room = sizeof(ln->buf) - ln->len;
	int n;

	if (ln->cut)
		return;
	n = vsnprintf(ln->buf + ln->len, room, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		ln->len = sizeof(ln->buf) - 1;
		ln->cut = true;
		memcpy(ln->buf + ln->len - 3, "...", 3);
		return;
	}
	ln->len += (size_t)n;
}

static void line_append(struct line *ln, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_vappend(ln, fmt, ap);
	va_end(ap);
}

/* One writev per line: atomic against other writers of the same pipe or
 * O_APPEND file. A failure is dropped: there is nowhere left to report it. */
static void write_line(int fd, const char *prefix, size_t prefix_len, const struct line *msg)
{
	struct iovec iov[3] = {
		{ (void *)prefix, prefix_len },
		{ (void *)msg->buf, msg->len },
		{ (void *)"\n", 1 },
	};

	while (writev(fd, iov, 3) < 0 && errno == EINTR)
		;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERR:
		return "error";
	case LOG_LEVEL_WARNING:
		return "warning";
	case LOG_LEVEL_NOTICE:
		return "notice";
	case LOG_LEVEL_INFO:
		return "info";
	case LOG_LEVEL_DEBUG:
		return "debug";
	}
	return "unknown";
}

/* Local time with its offset and milliseconds, e.g. 2024-05-01T12:00:00.123+0200. */
static size_t format_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char date[32], zone[8];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	n = snprintf(buf, len, "%s.%03ld%s ", date, ts.tv_nsec / 1000000, zone);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* The message proper: "name: [fatal: ]message[: strerror][ (N ... suppressed)]". */
static void build_message(struct line *ln, const char *what, int errnum, unsigned suppressed,
			  const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void build_message(struct line *ln, const char *what, int errnum, unsigned suppressed,
			  const char *fmt, va_list ap)
{
	char errbuf[128];

	line_append(ln, "%s: %s", log_state.name, what);
	line_vappend(ln, fmt, ap);
	for (size_t i = 0; i < ln->len; i++)
		if ((unsigned char)ln->buf[i] < 0x20 || ln->buf[i] == 0x7f)
			ln->buf[i] = '?';
	if (errnum >= 0)
		line_append(ln, ": %s", strerror_r(errnum, errbuf, sizeof(errbuf)));
	if (suppressed)
		line_append(ln, " (%u similar line%s suppressed)", suppressed,
			    suppressed == 1 ? "" : "s");
}

/* Format once, then write to stderr and the log file. errnum < 0: no
 * strerror part. */
static void emit(enum log_level level, const char *what, int errnum, unsigned suppressed,
		 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void emit(enum log_level level, const char *what, int errnum, unsigned suppressed,
		 const char *fmt, va_list ap)
{
	struct line msg = { .len = 0 };
	char prefix[64];
	size_t len = 0;

	build_message(&msg, what, errnum, suppressed, fmt, ap);
	if (log_state.journal)
		len = (size_t)snprintf(prefix, sizeof(prefix), "<%d>", (int)level);
	write_line(STDERR_FILENO, prefix, len, &msg);

	if (log_state.file_fd >= 0) {
		len = format_timestamp(prefix, sizeof(prefix));
		len += (size_t)snprintf(prefix + len, sizeof(prefix) - len, "[%s] ",
					level_name(level));
		write_line(log_state.file_fd, prefix, len, &msg);
	}
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected; only when stderr is still that stream does it reach journald
 * (a child whose stderr was redirected must not print prefixes). */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int used = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &used) != 2 || env[used] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *name, enum log_level verbosity)
{
	snprintf(log_state.name, sizeof(log_state.name), "%s", name ? name : "doppel");
	log_set_level(verbosity);
	log_state.journal = stderr_is_journal();
}

void log_set_level(enum log_level verbosity)
{
	if (verbosity < LOG_LEVEL_ERR)
		verbosity = LOG_LEVEL_ERR;
	if (verbosity > LOG_LEVEL_DEBUG)
		verbosity = LOG_LEVEL_DEBUG;
	log_state.verbosity = verbosity;
}

enum log_level log_get_level(void)
{
	return log_state.verbosity;
}

void log_set_journal(bool on)
{
	log_state.journal = on;
}

/* The new file is opened before the old one is closed, so a failed reopen
 * (after log rotation, say) keeps logging where it was. */
int log_open_file(const char *path)
{
	int fd = -1;

	if (path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0)
			return -1;
	}
	if (log_state.file_fd >= 0)
		close(log_state.file_fd);
	log_state.file_fd = fd;
	return 0;
}

/* Every entry point saves errno first thing and passes it here: formatting
 * and writing may change errno, log_warn must report the caller's, and the
 * caller finds errno as it left it. */
static void log_entry(enum log_level level, const char *what, int saved_errno, bool with_errno,
		      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void log_entry(enum log_level level, const char *what, int saved_errno, bool with_errno,
		      const char *fmt, va_list ap)
{
	if (level <= log_state.verbosity)
		emit(level, what, with_errno ? saved_errno : -1, 0, fmt, ap);
	errno = saved_errno;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	log_entry(level, "", errno, false, fmt, ap);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_WARNING, "", saved, true, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_WARNING, "", saved, false, fmt, ap);
	va_end(ap);
}

void log_notice(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_NOTICE, "", saved, false, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_INFO, "", saved, false, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_DEBUG, "", saved, false, fmt, ap);
	va_end(ap);
}

/* Fatal lines are errors, never filtered (verbosity is at least ERR). */
void log_fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_ERR, "fatal: ", saved, true, fmt, ap);
	va_end(ap);
	exit(1);
}

void log_fatalx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_entry(LOG_LEVEL_ERR, "fatal: ", saved, false, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned long long now_ms)
{
	/* printed == 0 only for a fresh (zeroed) struct: its window starts
	 * with its first line, not at time 0. */
	if (rl->printed == 0 || now_ms < rl->window_start_ms ||
	    now_ms - rl->window_start_ms >= LOG_RATELIMIT_INTERVAL_MS) {
		rl->window_start_ms = now_ms;
		rl->printed = 0;
	}
	if (rl->printed < LOG_RATELIMIT_BURST) {
		rl->printed++;
		rl->to_report = rl->suppressed;
		rl->suppressed = 0;
		return true;
	}
	if (rl->suppressed < ~0u)
		rl->suppressed++;
	return false;
}

void log_ratelimited(struct log_ratelimit *rl, unsigned long long now_ms,
		     enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level <= log_state.verbosity && log_ratelimit_ok(rl, now_ms)) {
		va_start(ap, fmt);
		emit(level, "", -1, rl->to_report, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}
