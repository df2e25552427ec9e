/*
 * Raw TLS and WebSocket for the harness; see harness.h. For bytes rkc
 * would never send: several frames in one TLS record, unmasked frames,
 * reserved opcodes, hand-made upgrade requests. Blocking, with socket
 * timeouts bounding every SSL call.
 */
#define _GNU_SOURCE /* memmem */
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------ raw clients */

struct h_raw {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	uint8_t *in; /* received, not yet returned: [in_off, in_len) */
	size_t in_off, in_len, in_cap;
};

void
h_raw_close(struct h_raw *r)
{
	if (r == NULL)
		return;
	ERR_clear_error();
	SSL_free(r->ssl);
	if (r->fd >= 0)
		close(r->fd);
	SSL_CTX_free(r->ctx);
	free(r->in);
	free(r);
}

static void
set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	/* Socket timeouts bound every blocking SSL call. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* TLS to the server, verified against its CA and IP address. */
static struct h_raw *
raw_tls(const struct h_server *s, int timeout_ms)
{
	struct h_raw *r = calloc(1, sizeof(*r));
	struct sockaddr_in a;

	if (r == NULL)
		return NULL;
	r->fd = -1;
	r->ctx = SSL_CTX_new(TLS_client_method());
	if (r->ctx == NULL ||
	    SSL_CTX_load_verify_locations(r->ctx, s->ca, NULL) != 1 ||
	    SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if ((r->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		goto fail;
	set_timeouts(r->fd, timeout_ms);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)s->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(r->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto fail;
	if ((r->ssl = SSL_new(r->ctx)) == NULL ||
	    SSL_set_fd(r->ssl, r->fd) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl),
	                                  "127.0.0.1") != 1 ||
	    SSL_connect(r->ssl) != 1)
		goto fail;
	return r;
fail:
	fprintf(stderr, "harness: raw TLS connection to port %d failed\n",
	        s->port);
	ERR_print_errors_fp(stderr);
	h_raw_close(r);
	return NULL;
}

int
h_raw_write(struct h_raw *r, const void *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t n = len - done > (1u << 30) ? (1u << 30) : len - done;
		int w = SSL_write(r->ssl, (const uint8_t *)data + done, (int)n);
		if (w <= 0) {
			ERR_clear_error();
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

/* Read more bytes into r->in. >0 bytes read, 0 EOF/error, -1 timeout. */
static long
raw_fill(struct h_raw *r, int timeout_ms)
{
	int n;

	if (r->in_off > 0) {
		memmove(r->in, r->in + r->in_off, r->in_len - r->in_off);
		r->in_len -= r->in_off;
		r->in_off = 0;
	}
	if (r->in_cap - r->in_len < 16384) {
		size_t cap = r->in_cap ? r->in_cap * 2 : 65536;
		uint8_t *nb = realloc(r->in, cap);
		if (nb == NULL)
			return 0;
		r->in = nb;
		r->in_cap = cap;
	}
	set_timeouts(r->fd, timeout_ms > 0 ? timeout_ms : 1);
	errno = 0;
	n = SSL_read(r->ssl, r->in + r->in_len, (int)(r->in_cap - r->in_len));
	if (n > 0) {
		r->in_len += (size_t)n;
		return n;
	}
	if (SSL_get_error(r->ssl, n) == SSL_ERROR_SYSCALL &&
	    (errno == EAGAIN || errno == EWOULDBLOCK)) {
		ERR_clear_error();
		return -1;
	}
	ERR_clear_error();
	return 0;
}

int
h_raw_fd(const struct h_raw *r)
{
	return r->fd;
}

struct h_raw *
h_raw_connect(const struct h_server *s, const char *subprotocol, int timeout_ms)
{
	struct h_raw *r = raw_tls(s, timeout_ms);
	char req[512], *end;
	int64_t deadline = h_mono_ms() + timeout_ms;

	if (r == NULL)
		return NULL;
	snprintf(req, sizeof(req),
	         "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\n"
	         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	         "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
	         subprotocol ? "Sec-WebSocket-Protocol: " : "",
	         subprotocol ? subprotocol : "", subprotocol ? "\r\n" : "");
	if (h_raw_write(r, req, strlen(req)) != 0)
		goto fail;
	for (;;) {
		if (r->in_len > 0 &&
		    (end = memmem(r->in, r->in_len, "\r\n\r\n", 4)) != NULL)
			break;
		int64_t left = deadline - h_mono_ms();
		if (left <= 0 || raw_fill(r, (int)left) <= 0)
			goto fail;
	}
	if (r->in_len < 12 || memcmp(r->in, "HTTP/1.1 101", 12) != 0)
		goto fail;
	/* Frames may follow the head at once. */
	r->in_off = (size_t)(end + 4 - (char *)r->in);
	return r;
fail:
	fprintf(stderr,
	        "harness: raw WebSocket upgrade failed (%zu bytes: %.*s)\n",
	        r->in_len, (int)(r->in_len < 200 ? r->in_len : 200),
	        r->in ? (const char *)r->in : "");
	h_raw_close(r);
	return NULL;
}

size_t
h_ws_frame(uint8_t *out, size_t cap, int fin, int opcode, int masked,
           const void *payload, size_t len)
{
	static const uint8_t mask[4] = {0x5a, 0xc3, 0x0f, 0x96};
	size_t h = 2;

	if (len >= 126)
		h += len > 0xffff ? 8 : 2;
	if (masked)
		h += 4;
	if (cap < h + len)
		return 0;
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	out[1] = masked ? 0x80 : 0;
	if (len < 126) {
		out[1] |= (uint8_t)len;
	} else if (len <= 0xffff) {
		out[1] |= 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
	} else {
		out[1] |= 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	if (masked)
		memcpy(out + h - 4, mask, 4);
	for (size_t i = 0; i < len; i++)
		out[h + i] =
		    ((const uint8_t *)payload)[i] ^ (masked ? mask[i % 4] : 0);
	return h + len;
}

int
h_raw_recv_frame(struct h_raw *r, int timeout_ms, uint8_t **payload,
                 size_t *len)
{
	int64_t deadline = h_mono_ms() + timeout_ms;

	*payload = NULL;
	*len = 0;
	for (;;) {
		const uint8_t *p = r->in + r->in_off;
		size_t avail = r->in_len - r->in_off, h = 2;
		uint64_t n;

		if (avail >= 2) {
			n = p[1] & 0x7f;
			if (n == 126)
				h += 2;
			else if (n == 127)
				h += 8;
			if (avail >= h) {
				if (n == 126) {
					n = (uint64_t)p[2] << 8 | p[3];
				} else if (n == 127) {
					n = 0;
					for (int i = 0; i < 8; i++)
						n = n << 8 | p[2 + i];
				}
				if (p[1] & 0x80)
					return -1; /* servers never mask */
				if (avail >= h + n) {
					*payload = malloc(n + 1);
					if (*payload == NULL)
						return -1;
					memcpy(*payload, p + h, n);
					(*payload)[n] = 0;
					*len = n;
					r->in_off += h + n;
					return p[0] & 0x0f;
				}
			}
		}
		int64_t left = deadline - h_mono_ms();
		if (left <= 0 || raw_fill(r, (int)left) <= 0)
			return -1;
	}
}

/* Both exchanges: write request, read until the end of the head (or,
 * with to_eof, until the server closes), EOF, a reset or the deadline. */
static long
exchange(const struct h_server *s, const char *request, char *buf, size_t cap,
         int timeout_ms, int to_eof, int *closed)
{
	struct h_raw *r;
	int64_t deadline = h_mono_ms() + timeout_ms;
	size_t n;
	long got = 1;

	if (closed != NULL)
		*closed = 0;
	if (cap == 0 || (r = raw_tls(s, timeout_ms)) == NULL)
		return -1;
	if (h_raw_write(r, request, strlen(request)) == 0) {
		while (to_eof || r->in_len == 0 ||
		       memmem(r->in, r->in_len, "\r\n\r\n", 4) == NULL) {
			int64_t left = deadline - h_mono_ms();
			if (left <= 0 || (got = raw_fill(r, (int)left)) <= 0)
				break;
		}
	}
	if (closed != NULL)
		*closed = got == 0;
	n = r->in_len < cap - 1 ? r->in_len : cap - 1;
	if (n > 0)
		memcpy(buf, r->in, n);
	buf[n] = '\0';
	h_raw_close(r);
	return (long)n;
}

long
h_tls_exchange(const struct h_server *s, const char *request, char *buf,
               size_t cap, int timeout_ms)
{
	return exchange(s, request, buf, cap, timeout_ms, 0, NULL);
}

long
h_tls_exchange_eof(const struct h_server *s, const char *request, char *buf,
                   size_t cap, int timeout_ms, int *closed)
{
	return exchange(s, request, buf, cap, timeout_ms, 1, closed);
}
