/*
 * rkc_util — internal helpers of the rkc client library (client-cli/lib),
 * not part of its API.
 *
 * Out-of-memory policy of the whole library, in one place: the x*alloc
 * helpers abort() when memory runs out, as the server does, so that no
 * caller has to handle a NULL it cannot recover from anyway.
 *
 * Deadlines are absolute times on the monotonic clock, in milliseconds;
 * RKC_FOREVER means "no deadline".
 */
#ifndef RKC_UTIL_H
#define RKC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define RKC_FOREVER INT64_MAX

/* Allocate n bytes (n == 0 allowed); never returns NULL. Free with free(). */
void *rkc_xmalloc(size_t n);
/* Zeroed allocation of n * size bytes; aborts on overflow or no memory. */
void *rkc_xcalloc(size_t n, size_t size);
/* realloc that never returns NULL. */
void *rkc_xrealloc(void *p, size_t n);
/* strdup that never returns NULL. */
char *rkc_xstrdup(const char *s);

/* Milliseconds on the monotonic clock. */
int64_t rkc_now_ms(void);
/* The deadline timeout_ms from now; timeout_ms < 0 gives RKC_FOREVER. */
int64_t rkc_deadline(int timeout_ms);
/* Milliseconds left until deadline (0 when passed), -1 for RKC_FOREVER:
 * what poll() takes. */
int rkc_remaining_ms(int64_t deadline);

/* snprintf into err (if errlen > 0), truncating. */
void rkc_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append ": <reason>" for the oldest OpenSSL error queued on this thread
 * (if any) to err, then clear the queue. */
void rkc_ssl_err_append(char *err, size_t errlen);

#endif
