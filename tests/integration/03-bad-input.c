/*
 * 03-bad-input: what a broken or hostile client may send. Bad requests
 * get an Error and leave the connection open; framing violations close
 * that one connection with the right WebSocket code. Through all of it a
 * second client (B) stays logged in and answered, and new clients can
 * still log in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_MESSAGE 65536
#define PRELOGIN_MAX 8192 /* the default prelogin_max_message_bytes */

struct state {
	struct h_server *s;
	struct rkc *b; /* logged in for the whole file */
};

static int
setup(void **state)
{
	static const char *const args[] = {"--max-message-bytes", "65536",
	                                   NULL};
	struct state *st = calloc(1, sizeof(*st));

	if (st == NULL || (st->s = h_server_up(args)) == NULL)
		goto fail;
	if ((st->b = h_connect_login(st->s, "ns.kobayashi", NULL)) == NULL)
		goto fail;
	*state = st;
	return 0;
fail:
	if (st != NULL)
		h_server_free(st->s);
	free(st);
	return -1;
}

static int
teardown(void **state)
{
	struct state *st = *state;
	int rc;

	rkc_close(st->b);
	rc = h_server_free(st->s);
	free(st);
	return rc;
}

/* B is still served, and a new client can log in. */
static void
assert_server_fine(struct state *st)
{
	Renkei__V1__Envelope *r = h_whoami_env(st->b);
	struct rkc *c;

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(r->whoami_response->user->login, "ns.kobayashi");
	h_env_free(r);
	c = h_connect_login(st->s, "dr.tanaka", NULL);
	assert_non_null(c);
	rkc_close(c);
}

/* This connection is open and logged in as `login`. */
static void
assert_open_as(struct rkc *c, const char *login)
{
	Renkei__V1__Envelope *r = h_whoami_env(c);

	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(r->whoami_response->user->login, login);
	h_env_free(r);
}

/* Send raw bytes as one binary message and return the next envelope. */
static Renkei__V1__Envelope *
send_raw(struct rkc *c, const void *data, size_t len)
{
	Renkei__V1__Envelope *env = NULL;

	if (rkc_send_frame(c, RKC_OP_BINARY, data, len, 1) != 0)
		fail_msg("send: %s", rkc_last_error(c));
	if (rkc_recv(c, H_TIMEOUT_MS, &env) != 0)
		fail_msg("no answer: %s", rkc_last_error(c));
	return env;
}

static void
test_undecodable_bytes(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	/* 0x0f: field 1 with wire type 7, which does not exist. */
	static const uint8_t garbage[] = {0x0f, 0xde, 0xad, 0xbe,
	                                  0xef, 0x00, 0xff};
	/* login_request (field 10) claiming 100 bytes, holding 2. */
	static const uint8_t truncated[] = {0x08, 0x05, 0x52, 0x64, 0x0a, 0x00};
	/* A varint that never ends. */
	static const uint8_t endless[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	Renkei__V1__Envelope *r;

	assert_non_null(a);
	r = send_raw(a, garbage, sizeof(garbage));
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	/* The id could not be read, so the answer carries 0. */
	assert_int_equal(r->request_id, 0);
	h_env_free(r);
	assert_open_as(a, "pt.ito");

	r = send_raw(a, truncated, sizeof(truncated));
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	/* Field 1 (request_id 5) was readable before the damage: the Error
	 * carries it, so the client knows which request failed. */
	assert_int_equal(r->request_id, 5);
	h_env_free(r);
	r = send_raw(a, endless, sizeof(endless));
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);
	assert_open_as(a, "pt.ito");
	rkc_close(a);
	assert_server_fine(st);
}

static void
test_unknown_or_missing_body(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	/* request_id 7, then field 999 (length-delimited) "hi". */
	static const uint8_t unknown[] = {0x08, 0x07, 0xba, 0x3e,
	                                  0x02, 'h',  'i'};
	/* request_id 8 and nothing else. */
	static const uint8_t empty_body[] = {0x08, 0x08};
	Renkei__V1__Envelope *r;

	assert_non_null(a);
	r = send_raw(a, unknown, sizeof(unknown));
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_int_equal(r->request_id, 7);
	assert_string_equal(r->error->field, "body");
	h_env_free(r);

	r = send_raw(a, empty_body, sizeof(empty_body));
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_int_equal(r->request_id, 8);
	h_env_free(r);

	/* A zero-length message is an Envelope with nothing in it. */
	r = send_raw(a, "", 0);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);

	assert_open_as(a, "pt.ito");
	rkc_close(a);
	assert_server_fine(st);
}

static void
test_response_types_are_not_requests(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__WhoAmIResponse w = RENKEI__V1__WHO_AM_IRESPONSE__INIT;
	Renkei__V1__Error e = RENKEI__V1__ERROR__INIT;
	Renkei__V1__Event ev = RENKEI__V1__EVENT__INIT;

	assert_non_null(a);
	env.request_id = 9;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE;
	env.whoami_response = &w;
	r = h_call(a, &env);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "body");
	h_env_free(r);

	e.code = RENKEI__V1__CODE__INTERNAL;
	e.message = "client-made error";
	env.body_case = RENKEI__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	r = h_call(a, &env);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);

	env.body_case = RENKEI__V1__ENVELOPE__BODY_EVENT;
	env.event = &ev;
	r = h_call(a, &env);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	h_env_free(r);

	assert_open_as(a, "pt.ito");
	rkc_close(a);
	assert_server_fine(st);
}

static void
test_invalid_utf8(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect(st->s);
	Renkei__V1__Envelope *r;

	assert_non_null(a);
	/* C3 28: a lead byte followed by a non-continuation byte. */
	r = h_login_env(a, "dr.\xc3\x28tanaka", H_DEMO_PASSWORD, NULL);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "login");
	h_env_free(r);

	r = h_login_env(a, "dr.tanaka", "renkei-\xc3\x28", NULL);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "password");
	h_env_free(r);

	/* An overlong encoding of '/' and a lone surrogate are not UTF-8
	 * either. */
	r = h_login_env(a, "dr.tanaka", H_DEMO_PASSWORD, "dev\xc0\xaf");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "device");
	h_env_free(r);
	r = h_login_env(a, "dr.tanaka", H_DEMO_PASSWORD, "dev\xed\xa0\x80");
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "device");
	h_env_free(r);

	/* Nothing changed: the same connection logs in normally. */
	r = h_login_env(a, "dr.tanaka", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	assert_open_as(a, "dr.tanaka");
	rkc_close(a);
	assert_server_fine(st);
}

static void
test_text_frame_closes_1003(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	int code;

	assert_non_null(a);
	assert_int_equal(
	    rkc_send_frame(a, RKC_OP_TEXT, "{\"whoami\":{}}", 13, 1), 0);
	code = h_wait_close(a, H_TIMEOUT_MS, NULL);
	if (code != 1003)
		fail_msg("expected close 1003, got %d (%s)", code,
		         rkc_last_error(a));
	rkc_close(a);
	assert_server_fine(st);
}

/* A LoginRequest that packs to exactly `size` bytes (device padded). */
static uint8_t *
login_of_size(size_t size)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	char *dev = malloc(size + 1);
	uint8_t *buf;
	size_t n = size - 16;

	assert_non_null(dev);
	lr.login = "dr.tanaka";
	lr.password = "x";
	lr.device = dev;
	env.request_id = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	/* The varint lengths change size only at powers of 128: converge. */
	for (int i = 0; i < 8; i++) {
		memset(dev, 'd', n);
		dev[n] = '\0';
		size_t got = renkei__v1__envelope__get_packed_size(&env);
		if (got == size)
			break;
		n = got < size ? n + (size - got) : n - (got - size);
	}
	assert_int_equal(renkei__v1__envelope__get_packed_size(&env), size);
	buf = malloc(size);
	assert_non_null(buf);
	renkei__v1__envelope__pack(&env, buf);
	free(dev);
	return buf;
}

static void
test_message_at_limit_is_answered(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	uint8_t *msg = login_of_size(MAX_MESSAGE);
	Renkei__V1__Envelope *r;

	assert_non_null(a);
	/* Within the limit (after login): decoded and refused for its
	 * content. */
	r = send_raw(a, msg, MAX_MESSAGE);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "device");
	assert_int_equal(r->request_id, 1);
	h_env_free(r);

	/* The same in four fragments. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    rkc_send_frame(a, i == 0 ? RKC_OP_BINARY : RKC_OP_CONT,
		                   msg + i * (MAX_MESSAGE / 4), MAX_MESSAGE / 4,
		                   i == 3),
		    0);
	assert_int_equal(rkc_recv(a, H_TIMEOUT_MS, &r), 0);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "device");
	h_env_free(r);
	free(msg);
	rkc_close(a);
	assert_server_fine(st);
}

static void
expect_1009(struct rkc *a)
{
	int code = h_wait_close(a, H_TIMEOUT_MS, NULL);

	if (code != 1009)
		fail_msg("expected close 1009, got %d (%s)", code,
		         rkc_last_error(a));
}

static void
test_oversize_message_closes_1009(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	uint8_t *msg = login_of_size(MAX_MESSAGE + 1);

	assert_non_null(a);
	/* One byte over the limit. */
	assert_int_equal(
	    rkc_send_frame(a, RKC_OP_BINARY, msg, MAX_MESSAGE + 1, 1), 0);
	expect_1009(a);
	rkc_close(a);
	free(msg);

	/* 70000 bytes in one frame. */
	msg = calloc(1, 70000);
	assert_non_null(msg);
	a = h_connect_login(st->s, "pt.ito", NULL);
	assert_non_null(a);
	assert_int_equal(rkc_send_frame(a, RKC_OP_BINARY, msg, 70000, 1), 0);
	expect_1009(a);
	rkc_close(a);
	assert_server_fine(st);

	/* 70000 bytes in five fragments: only the total is over. */
	a = h_connect_login(st->s, "pt.ito", NULL);
	assert_non_null(a);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    rkc_send_frame(a, i == 0 ? RKC_OP_BINARY : RKC_OP_CONT,
		                   msg + i * 14000, 14000, i == 4),
		    0);
	expect_1009(a);
	rkc_close(a);
	free(msg);
	assert_server_fine(st);
}

/* Before login the limit is prelogin_max_message_bytes (8192 by
 * default), far below the limit after: at it a message is answered; one
 * byte more, in one frame or in fragments, closes with 1009. */
static void
test_prelogin_message_limit(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect(st->s);
	uint8_t *msg = login_of_size(PRELOGIN_MAX);
	Renkei__V1__Envelope *r;

	assert_non_null(a);
	r = send_raw(a, msg, PRELOGIN_MAX);
	h_assert_error(r, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(r->error->field, "device");
	h_env_free(r);
	free(msg);
	rkc_close(a);

	msg = login_of_size(PRELOGIN_MAX + 1);
	a = h_connect(st->s);
	assert_non_null(a);
	assert_int_equal(
	    rkc_send_frame(a, RKC_OP_BINARY, msg, PRELOGIN_MAX + 1, 1), 0);
	expect_1009(a);
	rkc_close(a);

	/* In fragments: the first 3000 bytes are fine, the total is not. */
	free(msg);
	msg = calloc(1, 3 * 3000);
	assert_non_null(msg);
	a = h_connect(st->s);
	assert_non_null(a);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    rkc_send_frame(a, i == 0 ? RKC_OP_BINARY : RKC_OP_CONT,
		                   msg + i * 3000, 3000, 0),
		    0);
	expect_1009(a);
	rkc_close(a);
	free(msg);
	assert_server_fine(st);
}

/* 2000 requests pipelined on one connection without reading an answer:
 * the server stops reading the socket while max_inflight are in flight
 * (renkei_rx_paused_total counts it), answers every one exactly once,
 * and keeps serving everyone else. */
static void
test_pipelined_flood_is_paced(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect_login(st->s, "pt.ito", NULL);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__ListPatientsRequest lp = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	char *metrics = NULL;
	enum { N = 2000 };

	assert_non_null(a);
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST;
	env.list_patients_request = &lp;
	for (uint64_t i = 1; i <= N; i++) {
		env.request_id = 1000 + i;
		assert_int_equal(rkc_send(a, &env), 0);
	}
	/* Reads run on several reader threads: answers may come in any
	 * order, but each exactly once. */
	static char seen[N + 1];
	memset(seen, 0, sizeof(seen));
	for (uint64_t i = 1; i <= N; i++) {
		if (rkc_recv(a, H_TIMEOUT_MS, &r) != 0)
			fail_msg("answer %llu: %s", (unsigned long long)i,
			         rkc_last_error(a));
		assert_true(r->request_id > 1000 && r->request_id <= 1000 + N);
		assert_int_equal(seen[r->request_id - 1000]++, 0);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE);
		h_env_free(r);
	}
	rkc_close(a);
	assert_int_equal(h_https_get(st->s, "/metrics", &metrics), 200);
	assert_non_null(metrics);
	assert_null(strstr(metrics, "renkei_rx_paused_total 0\n"));
	assert_non_null(strstr(metrics, "renkei_rx_paused_total "));
	free(metrics);
	assert_server_fine(st);
}

/* The same burst in one write, so that TLS records of 16 KiB each carry
 * hundreds of requests: the server's pause comes in the middle of a
 * record whose rest it has already decrypted. libwebsockets 4.1 then
 * spun on that rest forever (its service thread at 100 % and no one
 * answered); the server now keeps what it has read itself and stops
 * reading only after the read. Every request is answered exactly once,
 * and everyone else is served meanwhile. */
static void
test_pipelined_in_large_records(void **state)
{
	struct state *st = *state;
	struct h_raw *r = h_raw_connect(st->s, "renkei.v1", H_TIMEOUT_MS);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	Renkei__V1__ListPatientsRequest lp = RENKEI__V1__LIST_PATIENTS_REQUEST__INIT;
	enum { N = 2000 };
	static char seen[N + 1];
	uint8_t buf[512], *burst, *payload;
	size_t n, off = 0, cap = (size_t)N * 32, len;
	int got = 0;

	assert_non_null(r);
	lr.login = "pt.ito";
	lr.password = H_DEMO_PASSWORD;
	env.request_id = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	burst = malloc(cap);
	assert_non_null(burst);
	n = renkei__v1__envelope__pack(&env, buf);
	off = h_ws_frame(burst, cap, 1, RKC_OP_BINARY, 1, buf, n);
	assert_int_equal(h_raw_write(r, burst, off), 0);
	assert_int_equal(h_raw_recv_frame(r, H_TIMEOUT_MS, &payload, &len), RKC_OP_BINARY);
	e = renkei__v1__envelope__unpack(NULL, len, payload);
	free(payload);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(e);

	env.body_case = RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_REQUEST;
	env.list_patients_request = &lp;
	off = 0;
	for (uint64_t i = 1; i <= N; i++) {
		env.request_id = 1000 + i;
		n = renkei__v1__envelope__pack(&env, buf);
		off += h_ws_frame(burst + off, cap - off, 1, RKC_OP_BINARY, 1, buf, n);
	}
	assert_int_equal(h_raw_write(r, burst, off), 0);
	free(burst);
	memset(seen, 0, sizeof(seen));
	while (got < N) {
		int op = h_raw_recv_frame(r, H_TIMEOUT_MS, &payload, &len);
		if (op != RKC_OP_BINARY)
			fail_msg("after %d of %d answers: %s", got, N,
			         op < 0 ? "no answer within 5 s" : "not a binary frame");
		e = renkei__v1__envelope__unpack(NULL, len, payload);
		free(payload);
		h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_LIST_PATIENTS_RESPONSE);
		assert_true(e->request_id > 1000 && e->request_id <= 1000 + N);
		assert_int_equal(seen[e->request_id - 1000]++, 0);
		h_env_free(e);
		if (++got % 500 == 0)
			assert_server_fine(st);
	}
	h_raw_close(r);
	assert_server_fine(st);
}

static void
test_prelogin_request_limit_1008(void **state)
{
	struct state *st = *state;
	struct rkc *a = h_connect(st->s);
	Renkei__V1__Envelope *r, env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__WhoAmIRequest w = RENKEI__V1__WHO_AM_IREQUEST__INIT;
	long answered = 0;
	int code;

	assert_non_null(a);
	/* prelogin_max_requests is 10: these are all answered... */
	for (int i = 0; i < 10; i++) {
		r = h_whoami_env(a);
		h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
		h_env_free(r);
	}
	/* ... and the connection is still open after them. */
	assert_int_equal(rkc_recv(a, 300, &r), -1);
	assert_string_equal(rkc_last_error(a), "timeout");

	/* The eleventh is one too many. */
	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	env.whoami_request = &w;
	env.request_id = 11;
	assert_int_equal(rkc_send(a, &env), 0);
	code = h_wait_close(a, H_TIMEOUT_MS, &answered);
	if (code != 1008)
		fail_msg("expected close 1008, got %d (%s)", code,
		         rkc_last_error(a));
	assert_true(answered <= 1);
	assert_non_null(strstr(rkc_close_reason(a), "before login"));
	rkc_close(a);
	assert_server_fine(st);
}

/* Send one hand-made frame on a fresh raw connection and return the
 * close code the server answers with (-1: none, connection just ended). */
static int
raw_close_code(struct state *st, const uint8_t *frame, size_t len)
{
	struct h_raw *r = h_raw_connect(st->s, "renkei.v1", 5000);
	uint8_t *payload;
	size_t plen;
	int op, code = -1;

	assert_non_null(r);
	assert_int_equal(h_raw_write(r, frame, len), 0);
	while ((op = h_raw_recv_frame(r, H_TIMEOUT_MS, &payload, &plen)) >= 0) {
		if (op == RKC_OP_CLOSE && plen >= 2)
			code = payload[0] << 8 | payload[1];
		free(payload);
		if (op == RKC_OP_CLOSE)
			break;
	}
	h_raw_close(r);
	return code;
}

static void
test_framing_violations_close_1002(void **state)
{
	struct state *st = *state;
	static const uint8_t whoami[] = {0x08, 0x01, 0x7a, 0x00};
	uint8_t f[64];
	size_t n;
	int code;

	/* (An unmasked client frame should close with 1002 too, RFC 6455
	 * 5.1, but libwebsockets 4.1 serves it; not tested here.) */

	/* A reserved opcode. */
	n = h_ws_frame(f, sizeof(f), 1, 0x3, 1, whoami, sizeof(whoami));
	code = raw_close_code(st, f, n);
	if (code != 1002)
		fail_msg("opcode 3: expected close 1002, got %d", code);

	/* A continuation with no message to continue. */
	n = h_ws_frame(f, sizeof(f), 1, RKC_OP_CONT, 1, whoami, sizeof(whoami));
	code = raw_close_code(st, f, n);
	if (code != 1002)
		fail_msg("lone continuation: expected close 1002, got %d",
		         code);

	assert_server_fine(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_undecodable_bytes),
	    cmocka_unit_test(test_unknown_or_missing_body),
	    cmocka_unit_test(test_response_types_are_not_requests),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_text_frame_closes_1003),
	    cmocka_unit_test(test_message_at_limit_is_answered),
	    cmocka_unit_test(test_oversize_message_closes_1009),
	    cmocka_unit_test(test_prelogin_message_limit),
	    cmocka_unit_test(test_pipelined_flood_is_paced),
	    cmocka_unit_test(test_pipelined_in_large_records),
	    cmocka_unit_test(test_prelogin_request_limit_1008),
	    cmocka_unit_test(test_framing_violations_close_1002),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
