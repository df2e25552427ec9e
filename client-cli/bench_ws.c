/*
 * The WebSocket side of a bench connection (see bench_net.c for the
 * loop): the answer to the upgrade, the login or resume that makes it
 * ready, frames both ways (masked, as a client's must be), and, for the
 * flood scenario, a message announced but never finished.
 */
#include "bench_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "rkc_http.h"
#include "ws_frame.h"

/* Queue one frame (masked, as a client must), payload packed in place. */
static uint8_t *
frame_begin(struct bconn *c, int opcode, size_t len, uint8_t mask[4])
{
	uint8_t hdr[RKC_WS_MAX_HEADER];
	size_t h;

	if (RAND_bytes(mask, 4) != 1)
		memset(mask, 0x5a, 4); /* cannot happen in practice; loopback only */
	h = rkc_ws_header_encode(hdr, 1, opcode, len, mask);
	bn_ensure(&c->out, &c->out_cap, c->out_len + h + len);
	memcpy(c->out + c->out_len, hdr, h);
	c->out_len += h + len;
	return c->out + c->out_len - len;
}

void
bws_send_control(struct bconn *c, int opcode, const uint8_t *payload, size_t len)
{
	uint8_t mask[4], *p = frame_begin(c, opcode, len, mask);

	memcpy(p, payload, len);
	rkc_ws_mask(p, len, mask, 0);
	if (opcode == RKC_OP_CLOSE)
		c->close_sent = 1;
}

uint64_t
bl_queue(struct bconn *c, Renkei__V1__Envelope *env)
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
	return env->request_id;
}

int
bl_kick(struct bconn *c)
{
	if (c->ssl == NULL)
		return -1;
	return bn_flush(c);
}

uint64_t
bl_send(struct bconn *c, Renkei__V1__Envelope *env)
{
	uint64_t rid = bl_queue(c, env);

	if (rid == 0 || bn_flush(c) != 0)
		return 0;
	return rid;
}

int
bl_send_partial(struct bconn *c, uint64_t declared, size_t sent)
{
	uint8_t hdr[RKC_WS_MAX_HEADER], mask[4], *p;
	size_t h;

	if (c->state != BC_READY || c->ssl == NULL || sent >= declared)
		return -1;
	if (RAND_bytes(mask, 4) != 1)
		memset(mask, 0x5a, 4);
	h = rkc_ws_header_encode(hdr, 1, RKC_OP_BINARY, declared, mask);
	bn_ensure(&c->out, &c->out_cap, c->out_len + h + sent);
	memcpy(c->out + c->out_len, hdr, h);
	p = c->out + c->out_len + h;
	/* A protobuf field 1 (request_id) and then bytes that never end. */
	memset(p, 0x41, sent);
	if (sent > 0)
		p[0] = 0x08;
	rkc_ws_mask(p, sent, mask, 0);
	c->out_len += h + sent;
	return bn_flush(c);
}

static void
make_ready(struct bconn *c)
{
	c->state = BC_READY;
	c->t_ready = bench_now_ns();
	bn_hs_end(c);
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
		/* Bench accounts have no second factor: a server that requires
		 * one (totp_required, staff by default) lets them only enrol. */
		for (size_t i = 0; i < env->login_response->n_pending; i++)
			if (env->login_response->pending[i] ==
			    RENKEI__V1__SIGN_IN_STEP__ENROL_SECOND_FACTOR) {
				bn_fail(c, "the server requires a second factor of bench "
				           "accounts: run it with --totp-required off "
				           "(scripts/run --totp-required off)");
				return;
			}
		if (c->token == NULL && env->login_response->token != NULL) {
			free(c->login_token);
			c->login_token = strdup(env->login_response->token);
		}
		make_ready(c);
	} else if (env->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR) {
		bn_fail(c, "%s refused: %s (%s)", c->token ? "resume" : "login",
		          env->error->message, rkc_code_name(env->error->code));
	} else {
		bn_fail(c, "unexpected answer to %s", c->token ? "resume" : "login");
	}
}

static void
deliver(struct bconn *c, const uint8_t *data, size_t len)
{
	Renkei__V1__Envelope *env = renkei__v1__envelope__unpack(NULL, len, data);

	if (env == NULL) {
		bn_fail(c, "the server sent an undecodable Envelope");
		return;
	}
	if (c->state == BC_AUTH)
		auth_answer(c, env);
	else if (c->loop->cbs.message != NULL)
		c->loop->cbs.message(c, env, bench_now_ns(), c->loop->cbs.arg);
	renkei__v1__envelope__free_unpacked(env, NULL);
}

/* Handle the complete frames in c->in. */
void
bws_frames(struct bconn *c)
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
			return bn_fail(c, "protocol error: %s", desc ? desc : "bad frame");
		if (h.masked)
			return bn_fail(c, "protocol error: masked frame from the server");
		if (h.len > BENCH_MAX_MESSAGE || c->msg_len + h.len > BENCH_MAX_MESSAGE)
			return bn_fail(c, "the server sent a message over 64 MiB");
		if (avail < h.hdr_len + h.len) {
			/* make room for the whole frame: reads then land in place */
			if (c->in_off > 0) {
				memmove(c->in, p, avail);
				c->in_len = avail;
				c->in_off = 0;
			}
			bn_ensure(&c->in, &c->in_cap, h.hdr_len + h.len + IN_CHUNK);
			return;
		}
		p += h.hdr_len;
		c->in_off += h.hdr_len + h.len;
		switch (h.opcode) {
		case RKC_OP_BINARY:
		case RKC_OP_CONT:
			if ((h.opcode == RKC_OP_BINARY) == (c->msg_open != 0))
				return bn_fail(c, "protocol error: broken fragmentation");
			if (h.fin && !c->msg_open) {
				deliver(c, p, h.len);
				break;
			}
			bn_ensure(&c->msg, &c->msg_cap, c->msg_len + h.len);
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
			return bn_fail(c, "protocol error: text message");
		case RKC_OP_PING:
			bws_send_control(c, RKC_OP_PONG, p, h.len);
			(void)bn_flush(c);
			break;
		case RKC_OP_PONG:
			break;
		case RKC_OP_CLOSE:
			(void)rkc_ws_close_parse(p, h.len, &code, reason, sizeof reason, &desc);
			if (!c->close_sent) {
				uint8_t pl[RKC_WS_MAX_CONTROL];
				size_t pn = rkc_ws_close_payload(pl, code, NULL);
				bws_send_control(c, RKC_OP_CLOSE, pl, pn);
				(void)bn_flush(c);
			}
			ERR_clear_error();
			return bn_fail(c, "the server closed the connection: %d %s", code,
			                 reason);
		default:
			return bn_fail(c, "protocol error: opcode %d", h.opcode);
		}
	}
}

/* The answer to the upgrade request, then frames. */
void
bws_upgrade_answer(struct bconn *c)
{
	const char *head = (const char *)c->in + c->in_off;
	size_t len = c->in_len - c->in_off, hl = rkc_http_head_end(head, len);
	char val[256], accept[RKC_WS_ACCEPT_LEN + 1];
	int status;

	if (hl == 0) {
		if (len > MAX_HEAD)
			bn_fail(c, "the upgrade answer is too long");
		return;
	}
	status = rkc_http_status(head, hl);
	if (status != 101)
		return bn_fail(c, "the server refused the WebSocket upgrade: HTTP %d", status);
	if (rkc_ws_accept_for(c->ws_key, accept) != 0 ||
	    rkc_http_header(head, hl, "Sec-WebSocket-Accept", val, sizeof val) != 1 ||
	    strcmp(val, accept) != 0)
		return bn_fail(c, "WebSocket upgrade: wrong Sec-WebSocket-Accept");
	if (rkc_http_header(head, hl, "Sec-WebSocket-Protocol", val, sizeof val) != 1 ||
	    strcmp(val, "renkei.v1") != 0)
		return bn_fail(c, "the server did not accept subprotocol renkei.v1");
	c->in_off += hl;
	if (c->token != NULL || c->login != NULL)
		send_auth(c);
	else
		make_ready(c);
	bws_frames(c);
}

