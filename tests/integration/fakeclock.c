/*
 * A test shim, LD_PRELOADed into a server under test (34-clock): the wall
 * clock (CLOCK_REALTIME) is shifted by the milliseconds written in the
 * file named by RENKEI_FAKE_CLOCK_FILE (read again at most every 20 ms),
 * so that a test can step the server's wall clock back without touching
 * the machine's. The monotonic clock is left alone. Never linked into
 * anything but this test.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*gettime_fn)(clockid_t, struct timespec *);

static long long offset_ms;
static long long read_at_ms;

static void
reread(gettime_fn real)
{
	struct timespec m;
	const char *path = getenv("RENKEI_FAKE_CLOCK_FILE");
	FILE *f;
	long long v;

	real(CLOCK_MONOTONIC, &m);
	long long now = (long long)m.tv_sec * 1000 + m.tv_nsec / 1000000;
	if (path == NULL || now - read_at_ms < 20)
		return;
	read_at_ms = now;
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fscanf(f, "%lld", &v) == 1)
		__atomic_store_n(&offset_ms, v, __ATOMIC_RELAXED);
	fclose(f);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static gettime_fn real;
	int rc;

	if (real == NULL)
		real = (gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	rc = real(id, ts);
	if (rc != 0 || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
		return rc;
	reread(real);
	long long off = __atomic_load_n(&offset_ms, __ATOMIC_RELAXED);
	long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec +
	               off * 1000000LL;
	ts->tv_sec = (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
	return 0;
}
