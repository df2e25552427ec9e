/*
 * mem — allocation that never returns NULL.
 *
 * The project's out-of-memory rule, in one place: allocation failure logs
 * and aborts. Every other function may therefore assume allocation
 * succeeds. Bounded queues and size limits (not allocation failures) are
 * how the server protects itself from clients that ask for too much.
 */
#ifndef RK_UTIL_MEM_H
#define RK_UTIL_MEM_H

#include <stddef.h>

void *rk_malloc(size_t n);
void *rk_calloc(size_t nmemb, size_t size);
void *rk_realloc(void *p, size_t n);
char *rk_strdup(const char *s);
char *rk_strndup(const char *s, size_t n);

/* Append printf-formatted text to a growing string *buf (*len used of
 * *cap bytes, NUL-terminated), growing it as needed. */
void rk_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Overwrite n bytes at p so that the compiler cannot drop it (keys,
 * passwords, tokens), then free(p). NULL is fine. */
void rk_free_secret(void *p, size_t n);
/* The same for a NUL-terminated string. */
void rk_free_secret_str(char *s);

#endif
