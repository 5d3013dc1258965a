/*
 * watchdog.c — the self re-arming timer of watchdog.h. A failed send is
 * not fatal: systemd, which asked for the pings, decides what a missing
 * one means.
 */
#include "lib/runtime/watchdog.h"

#include "lib/runtime/sd_notify.h"

static void on_watchdog(struct loop *l, uint64_t id, void *arg)
{
	struct watchdog *w = arg;

	sd_notify_watchdog();
	loop_timer_add(l, w->period_ms, on_watchdog, w);
}

int watchdog_start(struct watchdog *w, struct loop *loop)
{
	w->period_ms = sd_watchdog_interval_ms() / 2;
	if (w->period_ms && !loop_timer_add(loop, w->period_ms, on_watchdog, w))
		return -1;
	return 0;
}
