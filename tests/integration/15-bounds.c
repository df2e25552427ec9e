/*
 * 15-bounds: sockets are counted from the TCP accept to their end, and
 * past max_connections_per_address (4 here) another from the same
 * address is closed at accept, before TLS; when one ends, its place is
 * free again. WebSocket connections and HTTPS requests count alike.
 *
 * And a session's request rate (5 writes per second here, a burst of 10):
 * past it a request is RESOURCE_EXHAUSTED with a retry hint, nothing is
 * stored, and after the hint the same request goes through.
 *
 * And a connection the server closes because it timed out (no login
 * within login_timeout_s, 2 s here) that does not answer the close frame
 * is reset close_grace_s (2 s) after the close began, not kept for lws's
 * close timeouts or the ping hang-up.
 *
 * And keepalive (ping_interval_s 5, ping_hangup_s 10 here): a connection
 * that sends nothing gets a ping after 5 s; one that answers stays open,
 * one that does not is reset after 10 s.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PER_ADDRESS 4

static int
setup(void **state)
{
	static const char *const args[] = {"--max-connections-per-address", "4",
	                                   "--rate-write-per-s", "5",
	                                   "--login-timeout-s", "2", "--log-level", "debug",
	                                   "--ping-interval-s", "5", "--ping-hangup-s", "10",
	                                   NULL};
	struct h_server *s = h_server_up(args);

	*state = s;
	return s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return h_server_free(*state);
}

/* The value of a metric line "name value" in /metrics, or -1. */
static long
metric(struct h_server *s, const char *name)
{
	char *body = NULL, *at;
	long v = -1;

	if (h_https_get(s, "/metrics", &body) == 200 && body != NULL &&
	    (at = strstr(body, name)) != NULL)
		v = strtol(at + strlen(name), NULL, 10);
	free(body);
	return v;
}

static void
test_per_address_limit(void **state)
{
	struct h_server *s = *state;
	struct rkc *c[PER_ADDRESS], *extra = NULL;
	char *body = NULL;

	for (int i = 0; i < PER_ADDRESS; i++)
		assert_non_null(c[i] = h_connect_login(s, "ns.kobayashi", NULL));
	/* The fifth socket, WebSocket or HTTPS, is closed at accept. */
	extra = h_connect(s);
	assert_null(extra);
	assert_int_equal(h_https_get(s, "/healthz", &body), -1);
	free(body);
	/* The others are served all along. */
	for (int i = 0; i < PER_ADDRESS; i++) {
		Renkei__V1__Envelope *r = h_whoami_env(c[i]);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
		h_env_free(r);
	}
	/* One ends: its place is free again (the server counts the end of
	 * the socket, a moment after the client's close). */
	rkc_close(c[0]);
	for (int i = 0; i < 100 && extra == NULL; i++) {
		h_sleep_ms(50);
		extra = h_connect(s);
	}
	assert_non_null(extra);
	rkc_close(extra);
	for (int i = 1; i < PER_ADDRESS; i++)
		rkc_close(c[i]);
	/* All gone: /metrics can be read, and tells of the refusals. */
	long refused = -1;
	for (int i = 0; i < 100 && refused < 0; i++) {
		h_sleep_ms(50);
		refused = metric(s, "\nrenkei_refused_connections_total{reason=\"per_address\"} ");
	}
	assert_true(refused >= 2);
	assert_int_equal(metric(s, "\nrenkei_sockets "), 1); /* this request */
}

static void
test_session_rate(void **state)
{
	struct h_server *s = *state;
	struct rkc *c = h_connect_login(s, "ns.kobayashi", NULL);
	Renkei__V1__Envelope *r;
	char cid[32];
	int ok = 0, limited = 0, i;
	uint32_t wait_ms = 0;

	assert_non_null(c);
	for (i = 0; i < 30; i++) {
		snprintf(cid, sizeof(cid), "rate-%d", i);
		r = h_post_env(c, "pt-yamada", cid,
		               RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "訪問");
		assert_non_null(r);
		if (r->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
			assert_int_equal(limited, 0); /* the burst first, then refusals */
			ok++;
		} else {
			h_assert_error(r, RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
			assert_true(r->error->retry_after_ms > 0);
			assert_true(r->error->retry_after_ms <= 1000);
			wait_ms = r->error->retry_after_ms;
			limited++;
		}
		h_env_free(r);
		if (limited == 3)
			break;
	}
	assert_true(ok >= 9 && ok <= 12); /* ~2 s worth, and what refilled */
	assert_int_equal(limited, 3);
	/* After the hint the refused post goes through, once. */
	h_sleep_ms((int)wait_ms + 20);
	r = h_post_env(c, "pt-yamada", cid, RENKEI__V1__VISIBILITY__VISIBILITY_ALL,
	               "訪問");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	assert_false(r->post_response->duplicate);
	h_env_free(r);
	/* Reads have a rate of their own. */
	r = h_timeline_env(c, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

static void
test_timed_out_socket_is_reset(void **state)
{
	struct h_server *s = *state;
	long resets = metric(s, "\nrenkei_close_resets_total "), open = -1;
	struct h_raw *r = h_raw_connect(s, "renkei.v1", 5000);
	uint8_t *payload = NULL;
	size_t len = 0;
	int op, code = -1;
	int64_t t0, took;

	assert_true(resets >= 0);
	assert_non_null(r);
	/* It never logs in and reads nothing, so it never answers the close
	 * frame of the login timeout either. Its socket ends anyway, within
	 * the grace of the start of the close (lws alone would hold it 5 s
	 * for a TLS shutdown that never comes, and the ping hang-up is 75 s). */
	assert_int_equal(h_server_wait_log(s, "event=NET-CLOSE-START code=4002", 10000), 0);
	t0 = h_mono_ms();
	while ((open = metric(s, "\nrenkei_sockets ")) != 1 && h_mono_ms() - t0 < 15000)
		h_sleep_ms(100);
	took = h_mono_ms() - t0;
	print_message("timed-out socket ended %lld ms after its close began\n",
	              (long long)took);
	assert_int_equal(open, 1); /* only this /metrics request */
	assert_true(took < 2000 + 1000);
	assert_int_equal(h_server_wait_log(s, "event=NET-CLOSE-RESET code=4002", 1000), 0);
	assert_true(metric(s, "\nrenkei_close_resets_total ") > resets);
	/* What reached it before: the close frame with 4002, then the end. */
	op = h_raw_recv_frame(r, 5000, &payload, &len);
	assert_int_equal(op, RKC_OP_CLOSE);
	if (len >= 2)
		code = payload[0] << 8 | payload[1];
	free(payload);
	assert_int_equal(code, 4002);
	t0 = h_mono_ms();
	assert_int_equal(h_raw_recv_frame(r, 5000, &payload, &len), -1);
	assert_true(h_mono_ms() - t0 < 1000);
	free(payload);
	h_raw_close(r);
}

static void
test_keepalive(void **state)
{
	struct h_server *s = *state;
	struct h_raw *r = h_raw_connect(s, "renkei.v1", 5000);
	struct rkc *c = h_connect_login(s, "ns.kobayashi", NULL);
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *e;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t buf[512], frame[600], *payload = NULL;
	size_t n, len = 0;
	long hangups = metric(s, "\nrenkei_hangups_total ");
	int64_t t0;
	int op, pings = 0;

	assert_non_null(r);
	assert_non_null(c);
	assert_true(hangups >= 0);
	/* The raw one logs in (so that the login timeout is not what ends
	 * it), then reads but never answers. */
	lr.login = "pt.ito";
	lr.password = H_DEMO_PASSWORD;
	env.request_id = 1;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	n = renkei__v1__envelope__pack(&env, buf);
	n = h_ws_frame(frame, sizeof(frame), 1, RKC_OP_BINARY, 1, buf, n);
	assert_int_equal(h_raw_write(r, frame, n), 0);
	assert_int_equal(h_raw_recv_frame(r, H_TIMEOUT_MS, &payload, &len), RKC_OP_BINARY);
	free(payload);
	t0 = h_mono_ms();
	for (;;) {
		int64_t t = h_mono_ms();
		op = h_raw_recv_frame(r, 200, &payload, &len);
		free(payload);
		payload = NULL;
		if (op == RKC_OP_PING) {
			print_message("ping after %lld ms\n", (long long)(h_mono_ms() - t0));
			pings++;
		} else if (op < 0 && h_mono_ms() - t < 150) {
			break; /* not a timeout: the end */
		}
		/* the other one reads meanwhile, so rkc answers its pings */
		assert_int_equal(rkc_recv(c, 20, &e), -1);
		assert_string_equal(rkc_last_error(c), "timeout");
		assert_true(h_mono_ms() - t0 < 20000);
	}
	print_message("silent connection ended after %lld ms\n",
	              (long long)(h_mono_ms() - t0));
	assert_true(pings >= 1);
	assert_true(h_mono_ms() - t0 >= 9000 && h_mono_ms() - t0 < 13000);
	h_raw_close(r);
	assert_true(metric(s, "\nrenkei_hangups_total ") > hangups);
	/* The other answered its pings (rkc does, while it reads): still open. */
	assert_int_equal(rkc_recv(c, 100, &e), -1);
	assert_string_equal(rkc_last_error(c), "timeout");
	e = h_whoami_env(c);
	h_assert_body(e, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	h_env_free(e);
	rkc_close(c);
}

int
main(void)
{
	/* Raw sockets the server resets on purpose: a write after the reset
	 * must fail with EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_per_address_limit),
	    cmocka_unit_test(test_session_rate),
	    cmocka_unit_test(test_timed_out_socket_is_reset),
	    cmocka_unit_test(test_keepalive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
