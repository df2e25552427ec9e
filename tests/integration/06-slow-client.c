/*
 * 06-slow-client: a client that sends and never reads must not make the
 * server buffer without bound or stall others. With --out-queue-frames 16
 * --out-queue-bytes 65536 the server either culls it (close 1008,
 * "outbound queue full") or stops reading from it; either way other
 * clients keep being answered quickly throughout, and the server's memory
 * stays bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

#define FLOOD           200000
#define CHECK_EVERY     20000 /* requests between two probes of client B */
#define PROBE_MS        1000  /* B must be answered within this */
/* Under AddressSanitizer freed memory sits in a 256 MiB quarantine:
 * only the plain build can hold the server to a tight figure. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_LIMIT_KIB   (600L * 1024)
#else
#define RSS_LIMIT_KIB   (200L * 1024)
#endif
#define SEND_TIMEOUT_MS 3000

struct state {
	struct h_server *s;
	struct rkc *b; /* the well-behaved client */
};

static int
setup(void **state)
{
	static const char *const args[] = {"--out-queue-frames", "16",
	                                   "--out-queue-bytes", "65536", NULL};
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

/* B's WhoAmI; fails the test unless answered within PROBE_MS. */
static void
probe_b(struct state *st, long sent)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *r = NULL;
	Renkei__V1__WhoAmIRequest w = RENKEI__V1__WHO_AM_IREQUEST__INIT;

	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	env.whoami_request = &w;
	if (rkc_call(st->b, &env, PROBE_MS, &r) != 0)
		fail_msg(
		    "B not answered within %d ms after %ld flood requests: %s",
		    PROBE_MS, sent, rkc_last_error(st->b));
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	h_env_free(r);
}

/* Connect and log in with a short I/O timeout: a send that the server
 * does not take within it fails instead of hanging the test. */
static struct rkc *
connect_slow(const struct h_server *s)
{
	struct rkc_opts o;
	struct rkc *c;
	char err[256], *tok;

	h_opts(s, &o);
	o.timeout_ms = SEND_TIMEOUT_MS;
	c = rkc_connect(&o, err, sizeof(err));
	if (c == NULL)
		fail_msg("connect: %s", err);
	tok = h_login(c, "dr.tanaka");
	assert_non_null(tok);
	free(tok);
	return c;
}

static void
test_slow_reader_is_bounded(void **state)
{
	struct state *st = *state;
	struct rkc *a = connect_slow(st->s);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__WhoAmIRequest w = RENKEI__V1__WHO_AM_IREQUEST__INIT;
	long sent, read_back = 0, rss;
	int code = 0, send_failed = 0, rcvbuf = 65536;
	char why[256] = "";

	/* Loopback receive buffers may autotune up to tens of MB (tcp_rmem),
	 * enough to swallow every answer to the flood and leave nothing for
	 * the server to hold. A fixed small buffer makes the kernel's share
	 * small and the test independent of sysctl settings. */
	assert_int_equal(setsockopt(rkc_fd(a), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	                            sizeof(rcvbuf)),
	                 0);
	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	env.whoami_request = &w;
	for (sent = 0; sent < FLOOD; sent++) {
		env.request_id = (uint64_t)sent + 1;
		if (rkc_send(a, &env) != 0) {
			send_failed = 1;
			snprintf(why, sizeof(why), "%s", rkc_last_error(a));
			break;
		}
		if (sent % CHECK_EVERY == CHECK_EVERY - 1)
			probe_b(st, sent + 1);
	}
	/* Whatever state A is in, B is served now. */
	probe_b(st, sent);

	/*
	 * Correct outcomes (which one depends on timing and buffers):
	 *  - culled: a close frame 1008 naming the queue, or the connection
	 *    reset under our sends, with NET-CULL in the log;
	 *  - pushed back: the server stopped reading from A while its answers
	 *    could not go out (lws 4.1 does not read a connection while a
	 *    partial write is pending), so our send timed out.
	 * Wrong: every answer read back with no end (nothing bounded), any
	 * other close code, or a server that is slow or big afterwards.
	 */
	if (!send_failed) {
		code = h_wait_close(a, 15000, &read_back);
		if (code == -1)
			fail_msg(
			    "all %ld requests sent, %ld answers read, and the "
			    "connection is still open: nothing bounded the "
			    "queue",
			    sent, read_back);
		if (code != 1008 ||
		    strstr(rkc_close_reason(a), "queue") == NULL)
			fail_msg("expected close 1008 about the queue, got %d "
			         "\"%s\"",
			         code, rkc_close_reason(a));
	} else if (strcmp(why, "timeout") != 0) {
		/* Reset: only a cull closes a logged-in client like this. */
		code = h_wait_close(a, 2000, &read_back);
		if (code != 0 && code != 1008)
			fail_msg("closed with %d (%s)", code,
			         rkc_close_reason(a));
	}
	print_message(
	    "sent %ld, read back %ld, send failure: %s, close code %d\n", sent,
	    read_back, send_failed ? why : "none", code);
	if (!send_failed || strcmp(why, "timeout") != 0)
		assert_int_equal(
		    h_server_wait_log(st->s, "event=NET-CULL", 2000), 0);
	else
		print_message("the server pushed back (stopped reading A)\n");
	rkc_abort(a);

	probe_b(st, sent);
	rss = h_server_rss_kib(st->s);
	print_message("server VmRSS %ld KiB\n", rss);
	assert_true(rss > 0);
	assert_true(rss < RSS_LIMIT_KIB);

	/* New clients are served. */
	a = h_connect_login(st->s, "cm.nakamura", NULL);
	assert_non_null(a);
	rkc_close(a);
}

/* Pack env as one masked binary frame at out; returns its length. */
static size_t
frame_env(uint8_t *out, size_t cap, const Renkei__V1__Envelope *env)
{
	uint8_t buf[512];
	size_t n = renkei__v1__envelope__get_packed_size(env);

	assert_true(n <= sizeof(buf));
	renkei__v1__envelope__pack(env, buf);
	n = h_ws_frame(out, cap, 1, RKC_OP_BINARY, 1, buf, n);
	assert_true(n > 0);
	return n;
}

/*
 * The queue bound itself, made deterministic: a client that is logged in
 * writes BURST requests in one go (one TLS write: the server decodes them
 * all in one read, before any of its answers can go out) and reads
 * nothing. The server must cull it at out_queue_frames: close 1008 about
 * the queue, after at most that many answers.
 */
#define BURST 2000

static void
test_burst_beyond_queue_is_culled(void **state)
{
	struct state *st = *state;
	struct h_raw *r = h_raw_connect(st->s, "renkei.v1", 5000);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *resp;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	Renkei__V1__WhoAmIRequest w = RENKEI__V1__WHO_AM_IREQUEST__INIT;
	uint8_t *burst, *payload;
	size_t len, off = 0, cap = (size_t)BURST * 16;
	int op, answers = 0, code = -1;

	assert_non_null(r);
	lr.login = "pt.ito";
	lr.password = H_DEMO_PASSWORD;
	lr.device = "burst";
	env.request_id = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	burst = malloc(cap);
	assert_non_null(burst);
	len = frame_env(burst, cap, &env);
	assert_int_equal(h_raw_write(r, burst, len), 0);
	assert_int_equal(h_raw_recv_frame(r, H_TIMEOUT_MS, &payload, &len),
	                 RKC_OP_BINARY);
	resp = renkei__v1__envelope__unpack(NULL, len, payload);
	free(payload);
	h_assert_body(resp, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(resp);

	env.body_case = RENKEI__V1__ENVELOPE__BODY_WHOAMI_REQUEST;
	env.whoami_request = &w;
	for (int i = 0; i < BURST; i++) {
		env.request_id = (uint64_t)i + 2;
		off += frame_env(burst + off, cap - off, &env);
	}
	assert_int_equal(h_raw_write(r, burst, off), 0);
	free(burst);
	h_sleep_ms(200); /* read nothing meanwhile */

	while ((op = h_raw_recv_frame(r, H_TIMEOUT_MS, &payload, &len)) >= 0) {
		if (op == RKC_OP_CLOSE) {
			if (len >= 2)
				code = payload[0] << 8 | payload[1];
			print_message("close %d \"%.*s\" after %d answers\n",
			              code, (int)(len >= 2 ? len - 2 : 0),
			              len >= 2 ? (const char *)payload + 2 : "",
			              answers);
			if (len < 2 ||
			    strstr((const char *)payload + 2, "queue") == NULL)
				code = -2;
			free(payload);
			break;
		}
		if (op == RKC_OP_BINARY)
			answers++;
		free(payload);
	}
	h_raw_close(r);
	if (code == -1)
		fail_msg("no close frame after %d of %d answers", answers,
		         BURST);
	assert_int_equal(code, 1008);
	assert_true(answers <= 16);
	assert_int_equal(h_server_wait_log(st->s, "event=NET-CULL", 2000), 0);

	probe_b(st, BURST);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_beyond_queue_is_culled),
	    cmocka_unit_test(test_slow_reader_is_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
