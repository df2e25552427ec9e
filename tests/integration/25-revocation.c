/*
 * 25-revocation: `renkei-server user disable` run beside the running
 * server takes effect on connections already open: through the server's
 * local channel, or (--offline) written behind its back, found by its
 * one-second look and by the guard of every write. 59-admin covers the
 * protocol request and the offline command with the server stopped. The disabled user's
 * watching connection gets SessionEnded and close 4001 within a second,
 * and no post made after the disable reaches it; a write sent on it right
 * after the disable is refused, never carried out; a new login is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h_server *srv;
static const char *const yamada[] = {"pt-yamada"};
static const char *const suzuki[] = {"pt-suzuki"};

static int
group_setup(void **state)
{
	(void)state;
	srv = h_server_up(NULL);
	return srv != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

static struct rkc *
watcher(const char *login, const char *const *board)
{
	struct rkc *c = h_connect_login(srv, login, NULL);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_sync_env(c, board, 1, 0, 1);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_SYNC_RESPONSE);
	h_env_free(r);
	return c;
}

/* offline: write to the databases behind the server's back (as another
 * process would), so that the server's own look (revoke.c) and the write
 * guard are what close the sessions; else through its local channel. */
static void
disable(const char *login, int offline)
{
	char cmd[700], *out = NULL;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s user disable %s --reason test%s --data %s",
	         h_server_bin(), login, offline ? " --offline" : "", srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("user disable: exit %d: %s", rc, out);
	free(out);
}

static void
test_disable_closes_the_watcher(void **state)
{
	struct rkc *ns = watcher("ns.kobayashi", yamada);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope *r;
	uint64_t after;
	int64_t t0, dt;
	int code, ended, leaked;

	(void)state;
	assert_non_null(dr);
	disable("ns.kobayashi", 0);
	t0 = h_mono_ms();
	/* Posted right after the disable committed: it must not reach her. */
	r = h_post_env(dr, "pt-yamada", "after-disable",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "本日の訪問：褥瘡改善");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	after = r->post_response->post->id;
	h_env_free(r);

	code = h_until_closed(ns, 3000, after, &ended, &leaked, NULL, 0);
	dt = h_mono_ms() - t0;
	print_message("revocation: closed with %d after %lld ms\n", code,
	              (long long)dt);
	assert_int_equal(code, 4001);
	assert_true(ended);
	assert_false(leaked);
	assert_true(dt <= 1000);
	rkc_close(ns);
	rkc_close(dr);

	/* And no new session. */
	ns = h_connect(srv);
	assert_non_null(ns);
	r = h_login_env(ns, "ns.kobayashi", H_DEMO_PASSWORD, NULL);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	rkc_close(ns);
}

/* Disabled behind the server's back, with nothing else happening: the
 * server's own look closes it. */
static void
test_disable_alone_closes_within_a_second(void **state)
{
	struct rkc *ph = watcher("ph.watanabe", suzuki);
	int64_t t0, dt;
	int code, ended, leaked;

	(void)state;
	disable("ph.watanabe", 1);
	t0 = h_mono_ms();
	code = h_until_closed(ph, 3000, 0, &ended, &leaked, NULL, 0);
	dt = h_mono_ms() - t0;
	print_message("revocation without writes: closed with %d after %lld ms\n",
	              code, (long long)dt);
	assert_int_equal(code, 4001);
	assert_true(ended);
	assert_true(dt <= 1000);
	rkc_close(ph);
}

/* A write on the disabled user's open connection, sent at once: refused
 * (or the connection already closed), and nothing stored. */
static void
test_write_after_disable_is_refused(void **state)
{
	struct rkc *cm = h_connect_login(srv, "cm.nakamura", NULL);
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	Renkei__V1__Envelope *r;

	(void)state;
	assert_non_null(cm);
	assert_non_null(dr);
	disable("cm.nakamura", 1);
	r = h_post_env(cm, "pt-yamada", "cm-after-disable",
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	               "サービス担当者会議の日程");
	if (r != NULL) {
		h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
		h_env_free(r);
	}
	r = h_timeline_env(dr, "pt-yamada");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	for (size_t i = 0; i < r->timeline_response->n_posts; i++)
		assert_string_not_equal(r->timeline_response->posts[i]->client_id,
		                        "cm-after-disable");
	h_env_free(r);
	rkc_close(cm);
	rkc_close(dr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disable_closes_the_watcher),
	    cmocka_unit_test(test_disable_alone_closes_within_a_second),
	    cmocka_unit_test(test_write_after_disable_is_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
