/* Internal helpers of the rkc client library; see rkc_util.h. */
#include "rkc_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

static void
oom(size_t n)
{
	/* Nothing sensible is left to do; say so and stop, like the server. */
	fprintf(stderr, "rkc: out of memory (%zu bytes)\n", n);
	abort();
}

void *
rkc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
rkc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
rkc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
rkc_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = rkc_xmalloc(n);

	memcpy(p, s, n);
	return p;
}

int64_t
rkc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rkc_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return RKC_FOREVER;
	return rkc_now_ms() + timeout_ms;
}

int
rkc_remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline == RKC_FOREVER)
		return -1;
	left = deadline - rkc_now_ms();
	if (left <= 0)
		return 0;
	if (left > 24 * 3600 * 1000)
		return 24 * 3600 * 1000;
	return (int)left;
}

void
rkc_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
rkc_ssl_err_append(char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	const char *reason;
	char buf[256];
	size_t used;

	if (e != 0 && err != NULL && errlen > 0) {
		/* The reason alone ("certificate verify failed") reads better
		 * than the full "error:0A000086:SSL routines::..." line. */
		reason = ERR_reason_error_string(e);
		if (reason == NULL) {
			ERR_error_string_n(e, buf, sizeof buf);
			reason = buf;
		}
		used = strlen(err);
		if (used < errlen)
			snprintf(err + used, errlen - used, ": %s", reason);
	}
	ERR_clear_error();
}
