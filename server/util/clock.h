/*
 * clock — how far the wall clock can be trusted: whether the kernel
 * says it is synchronised (adjtimex(2), read only), and a watch that
 * notices the wall clock stepping back against the monotonic clock.
 *
 * Checkpoints sign the clock's state with their time (audit/), and the
 * service thread looks at the watch once a second (api/). Pure apart
 * from the one system call; no globals; a watch belongs to its caller.
 */
#ifndef RK_UTIL_CLOCK_H
#define RK_UTIL_CLOCK_H

#include <stdint.h>

enum rk_clock_sync {
	RK_CLOCK_UNSYNCED = 0, /* the kernel says STA_UNSYNC / TIME_ERROR */
	RK_CLOCK_SYNCED = 1,   /* kept by NTP (or PTP) */
	RK_CLOCK_UNKNOWN = 2,  /* adjtimex could not be asked */
};

/* The kernel's word on the wall clock now (an enum rk_clock_sync). */
int rk_clock_sync_state(void);

/* "synchronised", "not synchronised", "unknown". */
const char *rk_clock_sync_name(int state);

struct rk_clock_watch {
	int64_t wall_ms, mono_ms; /* at the last look; 0 = never looked */
};

/* Look at the clocks: returns how many ms the wall clock went back,
 * measured against the monotonic clock since the last look, when that
 * is more than threshold_ms; else 0. The first look only remembers.
 * NTP's slewing (the rate changed by at most 0.05 %) never comes near
 * a threshold of seconds between looks a second apart: a step does. */
int64_t rk_clock_watch_step(struct rk_clock_watch *w, int64_t wall_ms,
                            int64_t mono_ms, int64_t threshold_ms);

#endif
