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
 */
#include "bench.h"

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
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "rkc_http.h"
#include "ws_frame.h"

#define IN_CHUNK ((size_t)16384)
#define MAX_HEAD ((size_t)16384)
#define MAX_EVENTS 512
#define SWEEP_NS 100000000LL /* handshake timeouts: checked every 100 ms */

struct bench_loop {
	struct bench_target *t;
	struct bench_cbs cbs;
	int ep;
	int window;
	struct bconn **c;
	size_t n, cap;
	uint32_t *q;        /* indices waiting for a handshake slot */
	size_t q_head, q_n, q_cap;
	size_t handshaking;
	int64_t next_sweep;
};

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

static void
hs_end(struct bconn *c)
{
	if (c->hs) {
		c->hs = 0;
		c->loop->handshaking--;
	}
}

/* Free the socket and TLS; c keeps its buffers for reuse. */
static void
release(struct bconn *c, int graceful)
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
	hs_end(c);
}

static void
conn_fail(struct bconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
conn_fail(struct bconn *c, const char *fmt, ...)
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
	release(c, 0);
	c->state = BC_CLOSED;
	if (c->loop->cbs.closed != NULL)
		c->loop->cbs.closed(c, c->loop->cbs.arg);
}

static void
ensure(uint8_t **buf, size_t *cap, size_t need)
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
static int
flush(struct bconn *c)
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
		conn_fail(c, "TLS write failed (%s)",
		          e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS");
		return -1;
	}
	c->out_off = c->out_len = 0;
	set_events(c, EPOLLIN);
	return 0;
}

/* Queue one frame (masked, as a client must), payload packed in place. */
static uint8_t *
frame_begin(struct bconn *c, int opcode, size_t len, uint8_t mask[4])
{
	uint8_t hdr[RKC_WS_MAX_HEADER];
	size_t h;

	if (RAND_bytes(mask, 4) != 1)
		memset(mask, 0x5a, 4); /* cannot happen in practice; loopback only */
	h = rkc_ws_header_encode(hdr, 1, opcode, len, mask);
	ensure(&c->out, &c->out_cap, c->out_len + h + len);
	memcpy(c->out + c->out_len, hdr, h);
	c->out_len += h + len;
	return c->out + c->out_len - len;
}

static void
send_control(struct bconn *c, int opcode, const uint8_t *payload, size_t len)
{
	uint8_t mask[4], *p = frame_begin(c, opcode, len, mask);

	memcpy(p, payload, len);
	rkc_ws_mask(p, len, mask, 0);
	if (opcode == RKC_OP_CLOSE)
		c->close_sent = 1;
}

uint64_t
bl_send(struct bconn *c, Renkei__V1__Envelope *env)
{
	uint8_t mask[4], *p;
	size_t len;

	if ((c->state != BC_READY && c->state != BC_AUTH) || c->ssl == NULL)
		return 0;
	env->request_id = ++c->next_rid;
	len = renkei__v1__envelope__get_packed_size(env);
	p = frame_begin(c, RKC_OP_BINARY, len, mask);
	renkei__v1__envelope__pack(env, p);
	rkc_ws_mask(p, len, mask, 0);
	if (flush(c) != 0)
		return 0;
	return env->request_id;
}

static void
make_ready(struct bconn *c)
{
	c->state = BC_READY;
	c->t_ready = bench_now_ns();
	hs_end(c);
	if (c->loop->cbs.ready != NULL)
		c->loop->cbs.ready(c, c->loop->cbs.arg);
}

static void
send_auth(struct bconn *c)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__ResumeRequest rr = RENKEI__V1__RESUME_REQUEST__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;

	c->state = BC_AUTH;
	if (c->token != NULL) {
		rr.token = (char *)c->token;
		rr.device = "renkei-bench";
		env.body_case = RENKEI__V1__ENVELOPE__BODY_RESUME_REQUEST;
		env.resume_request = &rr;
	} else {
		lr.login = (char *)c->login;
		lr.password = (char *)c->password;
		lr.device = "renkei-bench";
		env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
		env.login_request = &lr;
	}
	(void)bl_send(c, &env);
}

static void
auth_answer(struct bconn *c, Renkei__V1__Envelope *env)
{
	if (env->body_case == RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE) {
		if (c->token == NULL && env->login_response->token != NULL) {
			free(c->login_token);
			c->login_token = strdup(env->login_response->token);
		}
		make_ready(c);
	} else if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
		conn_fail(c, "%s refused: %s (%s)", c->token ? "resume" : "login",
		          env->error->message, rkc_code_name(env->error->code));
	} else {
		conn_fail(c, "unexpected answer to %s", c->token ? "resume" : "login");
	}
}

static void
deliver(struct bconn *c, const uint8_t *data, size_t len)
{
	Renkei__V1__Envelope *env = renkei__v1__envelope__unpack(NULL, len, data);

	if (env == NULL) {
		conn_fail(c, "the server sent an undecodable Envelope");
		return;
	}
	if (c->state == BC_AUTH)
		auth_answer(c, env);
	else if (c->loop->cbs.message != NULL)
		c->loop->cbs.message(c, env, bench_now_ns(), c->loop->cbs.arg);
	renkei__v1__envelope__free_unpacked(env, NULL);
}

/* Handle the complete frames in c->in. */
static void
frames(struct bconn *c)
{
	struct rkc_ws_header h;
	const char *desc = NULL;
	uint32_t gen = c->gen;
	uint8_t *p;
	size_t avail;
	int code;
	char reason[RKC_WS_MAX_CONTROL + 1];

	while ((c->state == BC_AUTH || c->state == BC_READY) && c->gen == gen) {
		avail = c->in_len - c->in_off;
		p = c->in + c->in_off;
		int r = rkc_ws_header_decode(p, avail, &h, &desc);
		if (r == RKC_WS_NEED_MORE)
			return;
		if (r != RKC_WS_OK)
			return conn_fail(c, "protocol error: %s", desc ? desc : "bad frame");
		if (h.masked)
			return conn_fail(c, "protocol error: masked frame from the server");
		if (h.len > BENCH_MAX_MESSAGE || c->msg_len + h.len > BENCH_MAX_MESSAGE)
			return conn_fail(c, "the server sent a message over 64 MiB");
		if (avail < h.hdr_len + h.len) {
			/* make room for the whole frame: reads then land in place */
			if (c->in_off > 0) {
				memmove(c->in, p, avail);
				c->in_len = avail;
				c->in_off = 0;
			}
			ensure(&c->in, &c->in_cap, h.hdr_len + h.len + IN_CHUNK);
			return;
		}
		p += h.hdr_len;
		c->in_off += h.hdr_len + h.len;
		switch (h.opcode) {
		case RKC_OP_BINARY:
		case RKC_OP_CONT:
			if ((h.opcode == RKC_OP_BINARY) == (c->msg_open != 0))
				return conn_fail(c, "protocol error: broken fragmentation");
			if (h.fin && !c->msg_open) {
				deliver(c, p, h.len);
				break;
			}
			ensure(&c->msg, &c->msg_cap, c->msg_len + h.len);
			memcpy(c->msg + c->msg_len, p, h.len);
			c->msg_len += h.len;
			c->msg_open = !h.fin;
			if (h.fin) {
				size_t mlen = c->msg_len;
				c->msg_len = 0;
				deliver(c, c->msg, mlen);
			}
			break;
		case RKC_OP_TEXT:
			return conn_fail(c, "protocol error: text message");
		case RKC_OP_PING:
			send_control(c, RKC_OP_PONG, p, h.len);
			(void)flush(c);
			break;
		case RKC_OP_PONG:
			break;
		case RKC_OP_CLOSE:
			(void)rkc_ws_close_parse(p, h.len, &code, reason, sizeof reason, &desc);
			if (!c->close_sent) {
				uint8_t pl[RKC_WS_MAX_CONTROL];
				size_t pn = rkc_ws_close_payload(pl, code, NULL);
				send_control(c, RKC_OP_CLOSE, pl, pn);
				(void)flush(c);
			}
			ERR_clear_error();
			return conn_fail(c, "the server closed the connection: %d %s", code,
			                 reason);
		default:
			return conn_fail(c, "protocol error: opcode %d", h.opcode);
		}
	}
}

/* The answer to the upgrade request, then frames. */
static void
upgrade_answer(struct bconn *c)
{
	const char *head = (const char *)c->in + c->in_off;
	size_t len = c->in_len - c->in_off, hl = rkc_http_head_end(head, len);
	char val[256], accept[RKC_WS_ACCEPT_LEN + 1];
	int status;

	if (hl == 0) {
		if (len > MAX_HEAD)
			conn_fail(c, "the upgrade answer is too long");
		return;
	}
	status = rkc_http_status(head, hl);
	if (status != 101)
		return conn_fail(c, "the server refused the WebSocket upgrade: HTTP %d", status);
	if (rkc_ws_accept_for(c->ws_key, accept) != 0 ||
	    rkc_http_header(head, hl, "Sec-WebSocket-Accept", val, sizeof val) != 1 ||
	    strcmp(val, accept) != 0)
		return conn_fail(c, "WebSocket upgrade: wrong Sec-WebSocket-Accept");
	if (rkc_http_header(head, hl, "Sec-WebSocket-Protocol", val, sizeof val) != 1 ||
	    strcmp(val, "renkei.v1") != 0)
		return conn_fail(c, "the server did not accept subprotocol renkei.v1");
	c->in_off += hl;
	if (c->token != NULL || c->login != NULL)
		send_auth(c);
	else
		make_ready(c);
	frames(c);
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
		ensure(&c->in, &c->in_cap, c->in_len + IN_CHUNK);
		ERR_clear_error();
		n = SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len));
		if (n > 0) {
			c->in_len += (size_t)n;
			if (c->state == BC_UPGRADE)
				upgrade_answer(c);
			else
				frames(c);
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
			return conn_fail(c, "the server closed the connection");
		}
		return conn_fail(c, "TLS read failed (%s)",
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
			return conn_fail(c, "the server's certificate is not trusted: %s",
			                 X509_verify_cert_error_string(vr));
		return conn_fail(c, "TLS handshake failed (%s)",
		                 e == SSL_ERROR_SYSCALL ? strerror(errno) : "TLS");
	}
	if (SSL_get_verify_result(c->ssl) != X509_V_OK || SSL_get0_peer_certificate(c->ssl) == NULL)
		return conn_fail(c, "the server's certificate is not trusted");
	if (rkc_ws_make_key(c->ws_key) != 0)
		return conn_fail(c, "no random bytes for the WebSocket key");
	n = snprintf(req, sizeof req,
	             "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: renkei.v1\r\n"
	             "User-Agent: renkei-bench/1\r\n\r\n",
	             c->loop->t->path, c->loop->t->host_header, c->ws_key);
	if (n < 0 || (size_t)n >= sizeof req)
		return conn_fail(c, "URL too long");
	c->state = BC_UPGRADE;
	ensure(&c->out, &c->out_cap, c->out_len + (size_t)n);
	p = c->out + c->out_len;
	memcpy(p, req, (size_t)n);
	c->out_len += (size_t)n;
	if (flush(c) == 0)
		conn_read(c); /* the answer may already be buffered */
}

static void
tcp_done(struct bconn *c)
{
	struct bench_target *t = c->loop->t;
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)
		return conn_fail(c, "cannot connect: %s", strerror(soerr ? soerr : errno));
	c->ssl = SSL_new(t->ctx);
	if (c->ssl == NULL)
		return conn_fail(c, "SSL_new failed");
	if (t->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), t->host) != 1)
			return conn_fail(c, "cannot verify against address %s", t->host);
	} else if (SSL_set1_host(c->ssl, t->host) != 1 ||
	           SSL_set_tlsext_host_name(c->ssl, t->host) != 1) {
		return conn_fail(c, "cannot verify against host name %s", t->host);
	}
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		return conn_fail(c, "SSL_set_fd failed");
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
		return conn_fail(c, "socket: %s", strerror(errno));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) == 0)
		return tcp_done(c);
	if (errno != EINPROGRESS)
		return conn_fail(c, "cannot connect: %s", strerror(errno));
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
		release(c, 0);
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
		send_control(c, RKC_OP_CLOSE, pl, n);
		(void)flush(c); /* best effort: we do not wait for the answer */
	}
	release(c, graceful && c->state == BC_READY);
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
			conn_fail(c, "timed out in %s", names[c->state]);
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
			if ((ev[i].events & EPOLLOUT) && flush(c) != 0)
				break;
			if (c->gen == gen && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				conn_read(c);
			if (c->gen == gen && c->out_off < c->out_len)
				(void)flush(c);
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
		release(c, 0);
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
