/*
 * watchdog.h — systemd's watchdog (WatchdogSec= in the unit): WATCHDOG=1
 * from a timer on the daemon's own event loop, so that a loop that hangs
 * stops the pings and systemd restarts the daemon.
 */
#ifndef DOPPEL_WATCHDOG_H
#define DOPPEL_WATCHDOG_H

#include <stdint.h>

#include "lib/runtime/loop.h"

struct watchdog {
	uint64_t period_ms;	/* half of WATCHDOG_USEC; 0: no watchdog */
};

/* Read WATCHDOG_USEC (sd_notify.h) and, when systemd watches this process,
 * send WATCHDOG=1 every half interval from loop, for as long as the loop
 * runs; *w must live as long. 0 (armed, or no watchdog asked for), or -1
 * when the timer could not be allocated. */
int watchdog_start(struct watchdog *w, struct loop *loop);

#endif
