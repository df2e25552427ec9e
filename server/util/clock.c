#include "util/clock.h"

#include <sys/timex.h>

int
rk_clock_sync_state(void)
{
	struct timex tx = {0}; /* modes 0: only read */
	int st = adjtimex(&tx);

	if (st < 0)
		return RK_CLOCK_UNKNOWN;
	if (st == TIME_ERROR || (tx.status & STA_UNSYNC) != 0)
		return RK_CLOCK_UNSYNCED;
	return RK_CLOCK_SYNCED;
}

const char *
rk_clock_sync_name(int state)
{
	switch (state) {
	case RK_CLOCK_SYNCED:
		return "synchronised";
	case RK_CLOCK_UNSYNCED:
		return "not synchronised";
	default:
		return "unknown";
	}
}

int64_t
rk_clock_watch_step(struct rk_clock_watch *w, int64_t wall_ms,
                    int64_t mono_ms, int64_t threshold_ms)
{
	int64_t back = 0;

	if (w->mono_ms != 0) {
		/* What the wall clock should have moved, less what it did. */
		int64_t lag = (mono_ms - w->mono_ms) - (wall_ms - w->wall_ms);
		if (lag > threshold_ms)
			back = lag;
	}
	w->wall_ms = wall_ms;
	w->mono_ms = mono_ms;
	return back;
}
