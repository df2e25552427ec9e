/*
 * rkc — a blocking renkei client over one TLS WebSocket; see rkc.h.
 *
 * Reading. Bytes from TLS land in c->in and frames are parsed from there;
 * the pieces of a fragmented message collect in c->msg. A timeout may
 * strike in the middle of a frame or of a fragmented message: both stay
 * where they are and the next call carries on, so a timeout never loses
 * or misaligns anything received.
 *
 * Closing. The close handshake of RFC 6455 7.1: whoever receives a close
 * frame answers with one (echoing the code) unless it has sent its own;
 * rkc_close sends 1000 and waits a moment for the server's answer so that
 * the server sees an orderly end rather than a reset.
 *
 * Secrets. Requests carry passwords and tokens, responses carry tokens:
 * every buffer that held wire bytes is wiped with OPENSSL_cleanse before
 * it is freed or grown.
 *
 * A protocol violation by the server (reserved bits or opcodes, masked or
 * oversize frames, broken fragmentation) fails the connection with close
 * code 1002 or 1009; nothing after it is trusted. An Envelope that does
 * not decode only fails that one receive.
 */
#include "rkc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "rkc_http.h"
#include "rkc_tls.h"
#include "rkc_url.h"
#include "rkc_util.h"
#include "ws_frame.h"

#define RKC_MAX_MESSAGE ((size_t)64 << 20) /* bound on one received message */
#define RKC_READ_CHUNK ((size_t)16384)
#define RKC_MAX_HEAD ((size_t)16384)       /* bound on the upgrade answer */
#define RKC_CLOSE_WAIT_MS 2000             /* rkc_close waits this long at most */
#define RKC_DEFAULT_TIMEOUT_MS 10000
#define RKC_SUBPROTOCOL "renkei.v1"

struct rkc {
	struct rkc_tls tls;
	int timeout_ms;       /* connect, handshake, each write, close */
	int close_sent;
	int close_received;
	int broken;           /* transport gone or protocol failed: no more I/O */
	int close_code;       /* what the server's close frame said, 0 if none */
	char close_reason[RKC_WS_MAX_CONTROL];
	char err[256];

	uint8_t *in;          /* received bytes; [in_off, in_len) unparsed */
	size_t in_off, in_len, in_cap;

	uint8_t *msg;         /* fragments of the message being reassembled */
	size_t msg_len, msg_cap;
	int msg_op;           /* its opcode, 0 when none is in progress */

	uint64_t last_id;     /* request ids: last one used by rkc_call */

	Renkei__V1__Envelope **ev; /* ring of events kept by rkc_call */
	size_t ev_head, ev_count, ev_cap;
};

static void set_err(struct rkc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_err(struct rkc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

static void
wipe_free(void *p, size_t len)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

/* Grow a buffer holding `used` bytes to new_cap, wiping the old one
 * (realloc would leave its copy behind in freed memory). */
static uint8_t *
regrow(uint8_t *old, size_t used, size_t old_cap, size_t new_cap)
{
	uint8_t *p = rkc_xmalloc(new_cap);

	if (used > 0)
		memcpy(p, old, used);
	wipe_free(old, old_cap);
	return p;
}

/* ---- events */

static void
ev_push(struct rkc *c, Renkei__V1__Envelope *env)
{
	Renkei__V1__Envelope **nv;
	size_t ncap, i;

	if (c->ev_count == c->ev_cap) {
		ncap = c->ev_cap ? c->ev_cap * 2 : 8;
		nv = rkc_xcalloc(ncap, sizeof *nv);
		for (i = 0; i < c->ev_count; i++)
			nv[i] = c->ev[(c->ev_head + i) % c->ev_cap];
		free(c->ev);
		c->ev = nv;
		c->ev_cap = ncap;
		c->ev_head = 0;
	}
	c->ev[(c->ev_head + c->ev_count) % c->ev_cap] = env;
	c->ev_count++;
}

static Renkei__V1__Envelope *
ev_pop(struct rkc *c)
{
	Renkei__V1__Envelope *env;

	if (c->ev_count == 0)
		return NULL;
	env = c->ev[c->ev_head];
	c->ev[c->ev_head] = NULL;
	c->ev_head = (c->ev_head + 1) % c->ev_cap;
	c->ev_count--;
	return env;
}

/* ---- sending */

static int
send_frame(struct rkc *c, int opcode, const void *data, size_t len, int fin)
{
	uint8_t mask[4], *frame;
	size_t flen;
	int rc;

	if (c->broken) {
		if (c->err[0] == '\0')
			set_err(c, "connection is closed");
		return -1;
	}
	/* RFC 6455 5.3: a fresh unpredictable mask for every frame */
	if (RAND_bytes(mask, sizeof mask) != 1) {
		set_err(c, "RAND_bytes failed");
		return -1;
	}
	frame = rkc_ws_frame_build(fin, opcode, data, len, mask, &flen);
	rc = rkc_tls_write(&c->tls, frame, flen, rkc_deadline(c->timeout_ms), c->err,
	                   sizeof c->err);
	wipe_free(frame, flen);
	if (rc != 0) {
		c->broken = 1;
		return -1;
	}
	if (opcode == RKC_OP_CLOSE)
		c->close_sent = 1;
	return 0;
}

static int
send_close(struct rkc *c, int code, const char *reason)
{
	uint8_t payload[RKC_WS_MAX_CONTROL];
	size_t n = rkc_ws_close_payload(payload, code, reason);

	return send_frame(c, RKC_OP_CLOSE, payload, n, 1);
}

/* The server broke the protocol: tell it why (best effort) and stop
 * trusting the stream. Always returns -1. */
static int
fail_protocol(struct rkc *c, int code, const char *why)
{
	if (!c->close_sent && !c->broken)
		(void)send_close(c, code, why);
	c->broken = 1;
	set_err(c, "protocol error: %s", why);
	return -1;
}

/* Set the error that says why the connection can no longer be used.
 * Always returns -1. */
static int
closed_err(struct rkc *c)
{
	if (c->close_received) {
		if (c->close_code == 0)
			set_err(c, "connection closed by the server (no close code)");
		else
			set_err(c, "connection closed by the server (code %d%s%s)",
			        c->close_code, c->close_reason[0] ? ": " : "",
			        c->close_reason);
	} else if (c->err[0] == '\0' || !c->broken) {
		set_err(c, "connection is closed");
	}
	return -1;
}

/* ---- receiving */

/* Make at least `need` unparsed bytes available in c->in. Returns 0, or
 * -1 with c->err set ("timeout" on timeout). */
static int
fill(struct rkc *c, size_t need, int64_t deadline)
{
	size_t want;
	long n;

	while (c->in_len - c->in_off < need) {
		if (c->in_off > 0) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		want = need > RKC_READ_CHUNK ? need : RKC_READ_CHUNK;
		if (c->in_cap < want) {
			c->in = regrow(c->in, c->in_len, c->in_cap, want);
			c->in_cap = want;
		}
		n = rkc_tls_read(&c->tls, c->in + c->in_len, c->in_cap - c->in_len,
		                 deadline, c->err, sizeof c->err);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n == RKC_IO_TIMEOUT) {
			set_err(c, "timeout");
			return -1;
		}
		c->broken = 1;
		if (n == RKC_IO_EOF)
			set_err(c, c->in_len > c->in_off
			                   ? "connection closed by the server in the middle of a frame"
			                   : "connection closed by the server without a close frame");
		return -1;
	}
	return 0;
}

/* Read one whole frame. Returns 0 with *h and *payload (unmasked,
 * NUL-terminated, never NULL; caller wipes and frees), or -1. */
static int
read_frame(struct rkc *c, int64_t deadline, struct rkc_ws_header *h, uint8_t **payload)
{
	const char *why = "invalid frame";
	int r;

	*payload = NULL;
	if (c->broken)
		return closed_err(c);
	for (;;) {
		r = rkc_ws_header_decode(c->in + c->in_off, c->in_len - c->in_off, h, &why);
		if (r == RKC_WS_OK)
			break;
		if (r == RKC_WS_INVALID)
			return fail_protocol(c, RKC_WS_CLOSE_PROTOCOL, why);
		if (fill(c, h->hdr_len, deadline) != 0)
			return -1;
	}
	if (h->masked)
		return fail_protocol(c, RKC_WS_CLOSE_PROTOCOL, "the server sent a masked frame");
	if (h->len > RKC_MAX_MESSAGE)
		return fail_protocol(c, RKC_WS_CLOSE_TOO_BIG, "frame larger than 64 MiB");
	if (fill(c, h->hdr_len + (size_t)h->len, deadline) != 0)
		return -1;
	*payload = rkc_xmalloc((size_t)h->len + 1);
	memcpy(*payload, c->in + c->in_off + h->hdr_len, (size_t)h->len);
	(*payload)[h->len] = 0;
	c->in_off += h->hdr_len + (size_t)h->len;
	return 0;
}

/* Record the server's close frame and answer it (RFC 6455 5.5.1). */
static void
got_close(struct rkc *c, const uint8_t *p, size_t len)
{
	const char *why = NULL;
	int valid;

	valid = rkc_ws_close_parse(p, len, &c->close_code, c->close_reason,
	                           sizeof c->close_reason, &why) == 0;
	c->close_received = 1;
	if (!c->close_sent && !c->broken) {
		if (valid)
			(void)send_close(c, c->close_code, "");
		else
			(void)send_close(c, RKC_WS_CLOSE_PROTOCOL, why);
	}
}

/* A whole message arrived. Returns 0 with *out, or -1. */
static int
deliver(struct rkc *c, int opcode, const uint8_t *data, size_t len,
        Renkei__V1__Envelope **out)
{
	if (opcode != RKC_OP_BINARY) {
		set_err(c, "the server sent a text message (renkei.v1 uses binary messages only)");
		return -1;
	}
	*out = renkei__v1__envelope__unpack(NULL, len, data);
	if (*out == NULL) {
		set_err(c, "the server sent a message that is not a valid Envelope (%zu bytes)", len);
		return -1;
	}
	return 0;
}

static void
msg_append(struct rkc *c, const uint8_t *p, size_t len)
{
	size_t ncap;

	if (c->msg_len + len > c->msg_cap) {
		ncap = c->msg_cap ? c->msg_cap : 4096;
		while (ncap < c->msg_len + len)
			ncap *= 2;
		c->msg = regrow(c->msg, c->msg_len, c->msg_cap, ncap);
		c->msg_cap = ncap;
	}
	memcpy(c->msg + c->msg_len, p, len);
	c->msg_len += len;
}

int
rkc_recv(struct rkc *c, int timeout_ms, Renkei__V1__Envelope **out)
{
	int64_t deadline = rkc_deadline(timeout_ms);
	struct rkc_ws_header h;
	uint8_t *p;
	size_t len;
	int rc, op;

	*out = NULL;
	if (c->close_received || c->broken)
		return closed_err(c);
	for (;;) {
		if (read_frame(c, deadline, &h, &p) != 0)
			return -1;
		len = (size_t)h.len;
		switch (h.opcode) {
		case RKC_OP_PING:
			rc = c->close_sent ? 0 : send_frame(c, RKC_OP_PONG, p, len, 1);
			wipe_free(p, len);
			if (rc != 0)
				return -1;
			continue;
		case RKC_OP_PONG:
			wipe_free(p, len);
			continue;
		case RKC_OP_CLOSE:
			got_close(c, p, len);
			wipe_free(p, len);
			return closed_err(c);
		case RKC_OP_TEXT:
		case RKC_OP_BINARY:
			if (c->msg_op != 0) {
				wipe_free(p, len);
				return fail_protocol(c, RKC_WS_CLOSE_PROTOCOL,
				                     "new message before the fragmented one ended");
			}
			if (h.fin) {
				rc = deliver(c, h.opcode, p, len, out);
				wipe_free(p, len);
				return rc;
			}
			c->msg_op = h.opcode;
			c->msg_len = 0;
			msg_append(c, p, len);
			wipe_free(p, len);
			continue;
		case RKC_OP_CONT:
			if (c->msg_op == 0) {
				wipe_free(p, len);
				return fail_protocol(c, RKC_WS_CLOSE_PROTOCOL,
				                     "continuation frame without a message to continue");
			}
			if (len > RKC_MAX_MESSAGE - c->msg_len) {
				wipe_free(p, len);
				return fail_protocol(c, RKC_WS_CLOSE_TOO_BIG,
				                     "message larger than 64 MiB");
			}
			msg_append(c, p, len);
			wipe_free(p, len);
			if (!h.fin)
				continue;
			op = c->msg_op;
			c->msg_op = 0;
			rc = deliver(c, op, c->msg, c->msg_len, out);
			OPENSSL_cleanse(c->msg, c->msg_len);
			c->msg_len = 0;
			return rc;
		default:
			/* rkc_ws_header_decode refuses reserved opcodes */
			wipe_free(p, len);
			return fail_protocol(c, RKC_WS_CLOSE_PROTOCOL, "reserved opcode");
		}
	}
}

int
rkc_recv_frame(struct rkc *c, int timeout_ms, uint8_t **data, size_t *len)
{
	struct rkc_ws_header h;
	const char *why = NULL;
	uint8_t *p;

	*data = NULL;
	*len = 0;
	if (read_frame(c, rkc_deadline(timeout_ms), &h, &p) != 0)
		return -1;
	if (h.opcode == RKC_OP_CLOSE) {
		/* raw mode: record, but let the caller decide about answering */
		(void)rkc_ws_close_parse(p, (size_t)h.len, &c->close_code, c->close_reason,
		                         sizeof c->close_reason, &why);
		c->close_received = 1;
	}
	*data = p;
	*len = (size_t)h.len;
	return h.opcode;
}

/* ---- the opening handshake */

static int
upgrade(struct rkc *c, const struct rkc_url *u, const struct rkc_opts *opts,
        int64_t deadline, char *err, size_t errlen)
{
	char key[RKC_WS_KEY_LEN + 1], accept[RKC_WS_ACCEPT_LEN + 1];
	char hosthdr[RKC_URL_HOST_MAX + 16];
	char req[RKC_URL_PATH_MAX + 1024];
	size_t head_len = 0;
	int n;
	long got;

	if (rkc_ws_make_key(key) != 0 || rkc_ws_accept_for(key, accept) != 0) {
		rkc_seterr(err, errlen, "cannot make a WebSocket key");
		rkc_ssl_err_append(err, errlen);
		return -1;
	}
	if (rkc_url_host_header(u, hosthdr, sizeof hosthdr) != 0) {
		rkc_seterr(err, errlen, "host name too long");
		return -1;
	}
	n = snprintf(req, sizeof req,
	             "GET %s HTTP/1.1\r\n"
	             "Host: %s\r\n"
	             "Upgrade: websocket\r\n"
	             "Connection: Upgrade\r\n"
	             "Sec-WebSocket-Key: %s\r\n"
	             "Sec-WebSocket-Version: 13\r\n"
	             "%s"
	             "User-Agent: renkei-rkc/1\r\n"
	             "\r\n",
	             u->path, hosthdr, key,
	             opts->no_subprotocol ? "" : "Sec-WebSocket-Protocol: " RKC_SUBPROTOCOL "\r\n");
	if (n < 0 || (size_t)n >= sizeof req) {
		rkc_seterr(err, errlen, "URL too long");
		return -1;
	}
	if (rkc_tls_write(&c->tls, req, (size_t)n, deadline, err, errlen) != 0)
		return -1;

	while ((head_len = rkc_http_head_end((const char *)c->in, c->in_len)) == 0) {
		if (c->in_len >= RKC_MAX_HEAD || c->in_len >= c->in_cap) {
			rkc_seterr(err, errlen, "the server's answer to the WebSocket upgrade is too long");
			return -1;
		}
		got = rkc_tls_read(&c->tls, c->in + c->in_len, c->in_cap - c->in_len,
		                   deadline, err, errlen);
		if (got > 0) {
			c->in_len += (size_t)got;
			continue;
		}
		if (got == RKC_IO_TIMEOUT)
			rkc_seterr(err, errlen, "timed out waiting for the WebSocket upgrade");
		else if (got == RKC_IO_EOF)
			rkc_seterr(err, errlen, "the server closed the connection during the WebSocket upgrade");
		return -1;
	}
	if (rkc_http_upgrade_check((const char *)c->in, head_len, accept,
	                           opts->no_subprotocol ? NULL : RKC_SUBPROTOCOL, err,
	                           errlen) != 0)
		return -1;
	/* bytes after the head are already frames */
	c->in_off = head_len;
	return 0;
}

/* ---- lifetime */

static void
free_all(struct rkc *c)
{
	Renkei__V1__Envelope *env;

	rkc_tls_close(&c->tls, 1);
	wipe_free(c->in, c->in_cap);
	wipe_free(c->msg, c->msg_cap);
	while ((env = ev_pop(c)) != NULL)
		renkei__v1__envelope__free_unpacked(env, NULL);
	free(c->ev);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

struct rkc *
rkc_connect(const struct rkc_opts *opts, char *err, size_t errlen)
{
	struct rkc_url u;
	const char *why = "invalid URL";
	struct rkc *c;
	int64_t deadline;

	rkc_seterr(err, errlen, "%s", "");
	if (opts == NULL || opts->url == NULL) {
		rkc_seterr(err, errlen, "no server URL");
		return NULL;
	}
	if (rkc_url_parse(opts->url, &u, &why) != 0) {
		rkc_seterr(err, errlen, "invalid server URL '%s': %s", opts->url, why);
		return NULL;
	}
	c = rkc_xcalloc(1, sizeof *c);
	rkc_tls_init(&c->tls);
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : RKC_DEFAULT_TIMEOUT_MS;
	c->in_cap = RKC_READ_CHUNK;
	c->in = rkc_xmalloc(c->in_cap);
	deadline = rkc_deadline(c->timeout_ms);
	if (rkc_tls_connect(&c->tls, &u, opts->ca_file, opts->tls_max_version,
	                    opts->source_addr, opts->cert_file, opts->key_file, deadline,
	                    err, errlen) != 0 ||
	    upgrade(c, &u, opts, deadline, err, errlen) != 0) {
		free_all(c);
		return NULL;
	}
	return c;
}

void
rkc_close(struct rkc *c)
{
	struct rkc_ws_header h;
	int64_t deadline;
	uint8_t *p;
	int wait;

	if (c == NULL)
		return;
	if (!c->broken && !c->close_sent)
		(void)send_close(c, RKC_WS_CLOSE_NORMAL, "");
	if (!c->broken && c->close_sent && !c->close_received) {
		/* wait for the server's answer; anything else is discarded */
		wait = c->timeout_ms < RKC_CLOSE_WAIT_MS ? c->timeout_ms : RKC_CLOSE_WAIT_MS;
		deadline = rkc_deadline(wait);
		while (read_frame(c, deadline, &h, &p) == 0) {
			if (h.opcode == RKC_OP_CLOSE) {
				(void)rkc_ws_close_parse(p, (size_t)h.len, &c->close_code,
				                         c->close_reason, sizeof c->close_reason,
				                         NULL);
				c->close_received = 1;
			}
			wipe_free(p, (size_t)h.len);
			if (c->close_received)
				break;
		}
	}
	free_all(c);
}

void
rkc_abort(struct rkc *c)
{
	if (c == NULL)
		return;
	/* no close frame, no TLS close_notify: just drop the socket */
	c->tls.fatal = 1;
	free_all(c);
}

const char *
rkc_last_error(const struct rkc *c)
{
	if (c == NULL)
		return "no connection";
	return c->err[0] != '\0' ? c->err : "no error";
}

int
rkc_send(struct rkc *c, const Renkei__V1__Envelope *env)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (c->close_sent || c->close_received || c->broken)
		return closed_err(c);
	len = renkei__v1__envelope__get_packed_size(env);
	buf = rkc_xmalloc(len);
	if (renkei__v1__envelope__pack(env, buf) != len) {
		wipe_free(buf, len);
		set_err(c, "cannot encode the Envelope");
		return -1;
	}
	rc = send_frame(c, RKC_OP_BINARY, buf, len, 1);
	wipe_free(buf, len);
	return rc;
}

int
rkc_send_frame(struct rkc *c, int opcode, const void *data, size_t len, int fin)
{
	return send_frame(c, opcode, data, len, fin);
}

int
rkc_send_request(struct rkc *c, Renkei__V1__Envelope *req)
{
	req->request_id = ++c->last_id;
	return rkc_send(c, req);
}

int
rkc_call(struct rkc *c, Renkei__V1__Envelope *req, int timeout_ms,
         Renkei__V1__Envelope **resp)
{
	int64_t deadline = rkc_deadline(timeout_ms);
	Renkei__V1__Envelope *env;
	uint64_t id;

	*resp = NULL;
	if (rkc_send_request(c, req) != 0)
		return -1;
	id = req->request_id;
	for (;;) {
		if (rkc_recv(c, rkc_remaining_ms(deadline), &env) != 0)
			return -1;
		if (env->request_id == id) {
			*resp = env;
			return 0;
		}
		if (env->request_id == 0)
			ev_push(c, env);
		else /* the late answer to an earlier call that timed out */
			renkei__v1__envelope__free_unpacked(env, NULL);
	}
}

int
rkc_next_event(struct rkc *c, int timeout_ms, Renkei__V1__Envelope **out)
{
	int64_t deadline = rkc_deadline(timeout_ms);
	Renkei__V1__Envelope *env;

	*out = ev_pop(c);
	if (*out != NULL)
		return 0;
	for (;;) {
		if (rkc_recv(c, rkc_remaining_ms(deadline), &env) != 0)
			return -1;
		if (env->request_id == 0) {
			*out = env;
			return 0;
		}
		/* a late answer to a call that timed out: nobody waits for it */
		renkei__v1__envelope__free_unpacked(env, NULL);
	}
}

int
rkc_close_code(const struct rkc *c)
{
	return c->close_code;
}

const char *
rkc_close_reason(const struct rkc *c)
{
	return c->close_reason;
}

int
rkc_fd(const struct rkc *c)
{
	return c->tls.fd;
}
