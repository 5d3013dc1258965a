/*
 * sd_notify.h — systemd's service notification protocol, without
 * libsystemd: a datagram of "VARIABLE=value" lines sent to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or an abstract name written with
 * a leading '@'). Used for Type=notify units and their watchdog.
 *
 * Each call returns 1 when the message was sent, 0 when NOTIFY_SOCKET is
 * unset (not started by systemd: nothing to do), or -1 with errno. Like
 * the other helpers these never log; the daemon decides what a failure means.
 */
#ifndef DOPPEL_SD_NOTIFY_H
#define DOPPEL_SD_NOTIFY_H

#include <stdint.h>

/* Send state as it is, e.g. "READY=1\nSTATUS=replaying". */
int sd_notify_send(const char *state);
int sd_notify_ready(void);	/* READY=1: start-up is done */
int sd_notify_stopping(void);	/* STOPPING=1: shutting down */
int sd_notify_watchdog(void);	/* WATCHDOG=1: still alive */
/* STATUS=... shown by systemctl status; newlines become spaces (they
 * would start a new variable), and the text is cut at 400 bytes. */
int sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval from WATCHDOG_USEC, in milliseconds (rounded up),
 * or 0 when there is no watchdog for this process (unset, malformed, or
 * WATCHDOG_PID names another process). Send WATCHDOG=1 at half of it. */
uint64_t sd_watchdog_interval_ms(void);

#endif
