#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static void
oom(size_t n)
{
	fprintf(stderr, "renkei: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
rk_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *
rk_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
rk_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *
rk_strdup(const char *s)
{
	return rk_strndup(s, strlen(s));
}

char *
rk_strndup(const char *s, size_t n)
{
	char *d = rk_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void
rk_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void
rk_free_secret_str(char *s)
{
	if (s != NULL)
		rk_free_secret(s, strlen(s));
}

void
rk_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int need;

	for (;;) {
		va_start(ap, fmt);
		need = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (need >= 0 && (size_t)need < *cap - *len) {
			*len += (size_t)need;
			return;
		}
		*cap = *cap * 2 + (size_t)(need > 0 ? need : 0);
		*buf = rk_realloc(*buf, *cap);
	}
}
