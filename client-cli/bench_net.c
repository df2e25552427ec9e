/*
 * The bench's event loop: many client connections in one thread, each a
 * state machine TCP connect -> TLS handshake -> WebSocket upgrade ->
 * ResumeRequest (or LoginRequest) -> ready, then binary frames carrying
 * Envelopes both ways. See bench.h.
 *
 * epoll is level-triggered: EPOLLIN always, EPOLLOUT only while bytes
 * wait to be written (or the handshake wants to write). Reads drain SSL
 * until WANT_READ, so nothing decrypted is ever left inside OpenSSL
 * without the socket being readable.
 *
 * The epoll cookie is (generation << 32 | index): a connection closed and
 * started again inside one batch of events gets a new generation, so a
 * stale event for its old socket is recognised and skipped. Connections
 * are never freed before bl_free, so a scenario may keep pointers.
 *
 * Handshakes are expensive for both sides (the server does one ECDHE and
 * one signature per connection); starting thousands at once only fills
 * the listen backlog and turns into SYN retransmits, which would make the
 * connect times measure the kernel's 1 s retry timer. So at most `window`
 * handshakes run at once, the rest wait in a queue.
 *
 * This file is the loop, TCP and TLS and the bytes both ways; what the
 * bytes say (the upgrade answer, frames, login) is bench_ws.c's.
 */
#include "bench_loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ws_frame.h"

#define MAX_EVENTS 512
#define SWEEP_NS 100000000LL /* handshake timeouts: checked every 100 ms */

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

/* ---- the loop */

struct bench_loop *
bl_new(struct bench_target *t, const struct bench_cbs *cbs, int window)
{
	struct bench_loop *l = calloc(1, sizeof *l);

	if (l == NULL)
		abort();
	l->t = t;
	l->cbs = *cbs;
	l->window = window > 0 ? window : 64;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	return l;
}

size_t
bl_pending(const struct bench_loop *l)
{
	return l->handshaking + (l->q_n - l->q_head);
}

size_t
bl_out_pending(const struct bconn *c)
{
	return c->out_len - c->out_off;
}

static void
set_events(struct bconn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->fd < 0 || c->events == ev)
		return;
	memset(&e, 0, sizeof e);
	e.events = ev;
	e.data.u64 = (uint64_t)c->gen << 32 | c->idx;
	if (epoll_ctl(c->loop->ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

void
bn_hs_end(struct bconn *c)
{
	if (c->hs) {
		c->hs = 0;
		c->loop->handshaking--;
	}
}

/* Free the socket and TLS; c keeps its buffers for reuse. */
void
bn_release(struct bconn *c, int graceful)
{
	if (c->ssl != NULL) {
		if (graceful && c->fd >= 0)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->events = 0;
	c->in_off = c->in_len = 0;
	c->out_off = c->out_len = 0;
	c->msg_len = 0;
	c->msg_open = 0;
	c->close_sent = 0;
	c->gen++;
	bn_hs_end(c);
}

void
bn_fail(struct bconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void
bn_fail(struct bconn *c, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	e = ERR_peek_error();
	if (e != 0) {
		size_t n = strlen(c->why);
		snprintf(c->why + n, sizeof c->why - n, ": %s", ERR_reason_error_string(e));
	}
	bn_release(c, 0);
	c->state = BC_CLOSED;
	if (c->loop->cbs.closed != NULL)
		c->loop->cbs.closed(c, c->loop->cbs.arg);
}

void
bn_ensure(uint8_t **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : IN_CHUNK;

	if (need <= *cap)
		return;
	while (ncap < need)
		ncap *= 2;
	*buf = xrealloc(*buf, ncap);
	*cap = ncap;
}

/* Write what is queued. 0, or -1 when the connection failed. */
int
bn_flush(struct bconn *c)
{
	int n, e;

	while (c->out_off < c->out_len) {
		size_t left = c->out_len - c->out_off;
		ERR_clear_error();
		if (left > INT32_MAX)
			left = INT32_MAX;
		n = SSL_write(c->ssl, c->out + c->out_off, (int)left);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			set_events(c, EPOLLIN | EPOLLOUT);
			return 0;
		}
		if (e == SSL_ERROR_WANT_READ)
			return 0; /* EPOLLIN is always on: the read side retries */
		bn_fail(c, "TLS write failed (%s)",
		          e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS");
		return -1;
	}
	c->out_off = c->out_len = 0;
	set_events(c, EPOLLIN);
	return 0;
}

static void
conn_read(struct bconn *c)
{
	uint32_t gen = c->gen;
	int n, e;

	while (c->gen == gen && c->ssl != NULL) {
		if (c->in_off == c->in_len)
			c->in_off = c->in_len = 0;
		if (c->in_cap - c->in_len < IN_CHUNK && c->in_off > 0) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		bn_ensure(&c->in, &c->in_cap, c->in_len + IN_CHUNK);
		ERR_clear_error();
		n = SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len));
		if (n > 0) {
			c->in_len += (size_t)n;
			if (c->state == BC_UPGRADE)
				bws_upgrade_answer(c);
			else
				bws_frames(c);
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			return;
		if (e == SSL_ERROR_WANT_WRITE) {
			set_events(c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0) ||
		    (e == SSL_ERROR_SSL &&
		     ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
			ERR_clear_error();
			return bn_fail(c, "the server closed the connection");
		}
		return bn_fail(c, "TLS read failed (%s)",
		                 e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS");
	}
}

static void
tls_step(struct bconn *c)
{
	char req[3072];
	uint8_t *p;
	int r, e, n;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r != 1) {
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return set_events(c, EPOLLIN);
		if (e == SSL_ERROR_WANT_WRITE)
			return set_events(c, EPOLLIN | EPOLLOUT);
		long vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK)
			return bn_fail(c, "the server's certificate is not trusted: %s",
			                 X509_verify_cert_error_string(vr));
		return bn_fail(c, "TLS handshake failed (%s)",
		                 e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS");
	}
	if (SSL_get_verify_result(c->ssl) != X509_V_OK || SSL_get0_peer_certificate(c->ssl) == NULL)
		return bn_fail(c, "the server's certificate is not trusted");
	if (rkc_ws_make_key(c->ws_key) != 0)
		return bn_fail(c, "no random bytes for the WebSocket key");
	n = snprintf(req, sizeof req,
	             "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: renkei.v1\r\n"
	             "User-Agent: renkei-bench/1\r\n\r\n",
	             c->loop->t->path, c->loop->t->host_header, c->ws_key);
	if (n < 0 || (size_t)n >= sizeof req)
		return bn_fail(c, "URL too long");
	c->state = BC_UPGRADE;
	bn_ensure(&c->out, &c->out_cap, c->out_len + (size_t)n);
	p = c->out + c->out_len;
	memcpy(p, req, (size_t)n);
	c->out_len += (size_t)n;
	if (bn_flush(c) == 0)
		conn_read(c); /* the answer may already be buffered */
}

static void
tcp_done(struct bconn *c)
{
	struct bench_target *t = c->loop->t;
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)
		return bn_fail(c, "cannot connect: %s", strerror(soerr ? soerr : errno));
	c->ssl = SSL_new(t->ctx);
	if (c->ssl == NULL)
		return bn_fail(c, "SSL_new failed");
	if (t->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), t->host) != 1)
			return bn_fail(c, "cannot verify against address %s", t->host);
	} else if (SSL_set1_host(c->ssl, t->host) != 1 ||
	           SSL_set_tlsext_host_name(c->ssl, t->host) != 1) {
		return bn_fail(c, "cannot verify against host name %s", t->host);
	}
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		return bn_fail(c, "SSL_set_fd failed");
	SSL_set_connect_state(c->ssl);
	c->state = BC_TLS;
	tls_step(c);
}

static void
conn_start(struct bconn *c)
{
	struct bench_target *t = c->loop->t;
	int one = 1;

	c->t_begin = bench_now_ns();
	c->t_ready = 0;
	c->why[0] = '\0';
	c->next_rid = 0;
	c->hs = 1;
	c->loop->handshaking++;
	c->state = BC_TCP;
	c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return bn_fail(c, "socket: %s", strerror(errno));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (c->sourcelen > 0 &&
	    bind(c->fd, (const struct sockaddr *)&c->source, c->sourcelen) != 0)
		return bn_fail(c, "cannot bind the source address: %s", strerror(errno));
	if (connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) == 0)
		return tcp_done(c);
	if (errno != EINPROGRESS)
		return bn_fail(c, "cannot connect: %s", strerror(errno));
	set_events(c, EPOLLOUT);
}

static void
enqueue(struct bconn *c)
{
	struct bench_loop *l = c->loop;

	if (l->q_head == l->q_n)
		l->q_head = l->q_n = 0;
	if (l->q_n == l->q_cap) {
		l->q_cap = l->q_cap ? l->q_cap * 2 : 256;
		l->q = xrealloc(l->q, l->q_cap * sizeof *l->q);
	}
	l->q[l->q_n++] = c->idx;
	c->state = BC_QUEUED;
}

static struct bconn *
conn_new(struct bench_loop *l, void *user)
{
	struct bconn *c = calloc(1, sizeof *c);

	if (c == NULL)
		abort();
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->c = xrealloc(l->c, l->cap * sizeof *l->c);
	}
	c->loop = l;
	c->idx = (uint32_t)l->n;
	c->fd = -1;
	c->user = user;
	l->c[l->n++] = c;
	return c;
}

struct bconn *
bl_open(struct bench_loop *l, const char *token, void *user)
{
	struct bconn *c = conn_new(l, user);

	c->token = token;
	enqueue(c);
	return c;
}

struct bconn *
bl_open_login(struct bench_loop *l, const char *login, const char *password, void *user)
{
	struct bconn *c = conn_new(l, user);

	c->login = login;
	c->password = password;
	enqueue(c);
	return c;
}

void
bl_reopen(struct bconn *c, const char *token)
{
	if (c->fd >= 0)
		bn_release(c, 0);
	c->token = token;
	c->login = c->password = NULL;
	enqueue(c);
}

void
bl_drop(struct bconn *c, int graceful)
{
	uint8_t pl[RKC_WS_MAX_CONTROL];

	if (graceful && c->state == BC_READY && c->ssl != NULL) {
		size_t n = rkc_ws_close_payload(pl, RKC_WS_CLOSE_NORMAL, NULL);
		bws_send_control(c, RKC_OP_CLOSE, pl, n);
		(void)bn_flush(c); /* best effort: we do not wait for the answer */
	}
	bn_release(c, graceful && c->state == BC_READY);
	c->state = BC_IDLE;
}

static void
sweep(struct bench_loop *l, int64_t now)
{
	static const char *const names[] = {"idle", "queued", "TCP connect", "TLS handshake",
	                                    "WebSocket upgrade", "login", "ready", "closed"};

	for (size_t i = 0; i < l->n; i++) {
		struct bconn *c = l->c[i];
		if (c->hs && now - c->t_begin > (int64_t)BENCH_CONNECT_TIMEOUT_MS * 1000000)
			bn_fail(c, "timed out in %s", names[c->state]);
	}
}

int
bl_poll(struct bench_loop *l, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int64_t now;
	int n, i;

	while (l->handshaking < (size_t)l->window && l->q_head < l->q_n) {
		struct bconn *c = l->c[l->q[l->q_head++]];
		if (c->state == BC_QUEUED)
			conn_start(c);
	}
	n = epoll_wait(l->ep, ev, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);
		struct bconn *c = idx < l->n ? l->c[idx] : NULL;
		if (c == NULL || c->gen != gen || c->fd < 0)
			continue; /* closed since: a stale event */
		switch (c->state) {
		case BC_TCP:
			tcp_done(c);
			break;
		case BC_TLS:
			tls_step(c);
			break;
		case BC_UPGRADE:
		case BC_AUTH:
		case BC_READY:
			if ((ev[i].events & EPOLLOUT) && bn_flush(c) != 0)
				break;
			if (c->gen == gen && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				conn_read(c);
			if (c->gen == gen && c->out_off < c->out_len)
				(void)bn_flush(c);
			break;
		default:
			break;
		}
	}
	now = bench_now_ns();
	if (now >= l->next_sweep) {
		sweep(l, now);
		l->next_sweep = now + SWEEP_NS;
	}
	return 0;
}

void
bl_free(struct bench_loop *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct bconn *c = l->c[i];
		bn_release(c, 0);
		free(c->in);
		free(c->out);
		free(c->msg);
		free(c->login_token);
		free(c);
	}
	free(l->c);
	free(l->q);
	close(l->ep);
	free(l);
}
