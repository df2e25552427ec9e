/*
 * 02-auth: login, resume, throttling, logout and the lifetime a session
 * reports. Each test uses its own demo users so that failure counts and
 * sessions of one test cannot leak into another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SESSION_MAX_S  3600
#define SESSION_IDLE_S 600

static int
setup(void **state)
{
	static const char *const args[] = {"--login-max-failures",
	                                   "3",
	                                   "--login-delay-s",
	                                   "2",
	                                   "--session-max-s",
	                                   "3600",
	                                   "--session-idle-s",
	                                   "600",
	                                   NULL};

	*state = h_server_up(args);
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return h_server_free(*state);
}

static int
is_base64url(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static void
assert_expiry(int64_t expires_at_ms, int64_t t0, int64_t t1)
{
	/* Absolute end = login time + session_max_s, login time being
	 * somewhere between our send and our receive. */
	assert_in_range(expires_at_ms, t0 + SESSION_MAX_S * 1000 - 2000,
	                t1 + SESSION_MAX_S * 1000 + 2000);
}

static void
test_login_ok(void **state)
{
	struct rkc *c = h_connect(*state);
	Renkei__V1__Envelope *r, *w;
	Renkei__V1__LoginResponse *lr;
	int64_t t0, t1;

	assert_non_null(c);
	t0 = h_now_ms();
	r = h_login_env(c, "dr.tanaka", H_DEMO_PASSWORD, "pixel-8");
	t1 = h_now_ms();
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	lr = r->login_response;
	assert_int_equal(strlen(lr->token), 43);
	assert_true(is_base64url(lr->token));
	assert_non_null(lr->user);
	assert_string_equal(lr->user->login, "dr.tanaka");
	assert_string_equal(lr->user->display_name, "田中 誠");
	assert_int_equal(lr->user->profession,
	                 RENKEI__V1__PROFESSION__PHYSICIAN);
	assert_non_null(lr->user->organisation);
	assert_string_equal(lr->user->organisation->code, "org-clinic-hikari");
	assert_string_equal(lr->user->organisation->name,
	                    "光が丘みどり在宅クリニック");
	assert_string_equal(lr->user->organisation->kind, "clinic");
	assert_expiry(lr->expires_at_ms, t0, t1);
	assert_int_equal(lr->idle_timeout_s, SESSION_IDLE_S);

	w = h_whoami_env(c);
	h_assert_body(w, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(w->whoami_response->user->login, "dr.tanaka");
	assert_string_equal(w->whoami_response->user->display_name, "田中 誠");
	assert_int_equal(w->whoami_response->expires_at_ms, lr->expires_at_ms);
	assert_int_equal(w->whoami_response->idle_timeout_s, SESSION_IDLE_S);
	h_env_free(w);

	/* One session per connection. */
	w = h_login_env(c, "dr.tanaka", H_DEMO_PASSWORD, NULL);
	h_assert_error(w, RENKEI__V1__CODE__FAILED_PRECONDITION);
	h_env_free(w);
	h_env_free(r);
	rkc_close(c);
}

static void
test_login_family_has_no_organisation(void **state)
{
	struct rkc *c = h_connect(*state);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_login_env(c, "family.yamada", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_int_equal(r->login_response->user->profession,
	                 RENKEI__V1__PROFESSION__FAMILY);
	assert_null(r->login_response->user->organisation);
	h_env_free(r);
	rkc_close(c);
}

static void
test_wrong_password_and_unknown_login(void **state)
{
	struct rkc *c = h_connect(*state);
	Renkei__V1__Envelope *r, *u, *bad;

	assert_non_null(c);
	r = h_login_env(c, "ph.watanabe", "not-the-password", NULL);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);

	/* An unknown login must be indistinguishable from a wrong password. */
	u = h_login_env(c, "no.such.user", "not-the-password", NULL);
	h_assert_error(u, RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_string_equal(u->error->message, r->error->message);
	assert_string_equal(u->error->field, r->error->field);

	/* So must a login that is not even well-formed. */
	bad = h_login_env(c, "Robert'); DROP TABLE users;--", "x", NULL);
	h_assert_error(bad, RENKEI__V1__CODE__UNAUTHENTICATED);
	assert_string_equal(bad->error->message, r->error->message);
	h_env_free(bad);

	bad = h_login_env(c, "ph.watanabe", "", NULL);
	h_assert_error(bad, RENKEI__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(bad->error->field, "password");
	h_env_free(bad);

	/* Still open, still logged out, and the right password works. */
	bad = h_whoami_env(c);
	h_assert_error(bad, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(bad);
	bad = h_login_env(c, "ph.watanabe", H_DEMO_PASSWORD, NULL);
	h_assert_body(bad, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(bad);

	h_env_free(r);
	h_env_free(u);
	rkc_close(c);
}

static void
test_resume(void **state)
{
	struct h_server *s = *state;
	char *token = NULL;
	struct rkc *a = h_connect_login(s, "cm.nakamura", &token);
	struct rkc *b = h_connect(s), *c = h_connect(s);
	Renkei__V1__Envelope *r, *w, *first;
	char garbage[44];

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	first = h_whoami_env(a);
	h_assert_body(first, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);

	r = h_resume_env(b, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	/* The token is handed out once, at login. */
	assert_string_equal(r->login_response->token, "");
	assert_string_equal(r->login_response->user->login, "cm.nakamura");
	assert_int_equal(r->login_response->user->profession,
	                 RENKEI__V1__PROFESSION__CARE_MANAGER);
	/* Resuming does not stretch the absolute lifetime. */
	assert_int_equal(r->login_response->expires_at_ms,
	                 first->whoami_response->expires_at_ms);
	h_env_free(r);

	w = h_whoami_env(b);
	h_assert_body(w, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(w->whoami_response->user->login, "cm.nakamura");
	h_env_free(w);

	/* Garbage of the wrong length, and of the right length. */
	r = h_resume_env(c, "garbage");
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	memset(garbage, 'A', 43);
	garbage[43] = '\0';
	r = h_resume_env(c, garbage);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	/* The real token with one character changed. */
	snprintf(garbage, sizeof(garbage), "%s", token);
	garbage[20] = garbage[20] == 'x' ? 'y' : 'x';
	r = h_resume_env(c, garbage);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	r = h_whoami_env(c);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	/* ... and the right one still works on that connection. */
	r = h_resume_env(c, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);

	h_env_free(first);
	free(token);
	rkc_close(a);
	rkc_close(b);
	rkc_close(c);
}

/* Wrong passwords slow a login down (from this address), never lock it:
 * after login_max_failures, the next attempt waits login_delay_s, even
 * with the right password (no check is made), with a retry hint; other
 * logins are not affected; after the wait the right password works. */
static void
test_throttle(void **state)
{
	struct rkc *c = h_connect(*state);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	for (int i = 0; i < 4; i++) { /* 3 free, the 4th makes it wait */
		r = h_login_env(c, "cw.yamamoto", "wrong-password", NULL);
		h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
		h_env_free(r);
	}
	r = h_login_env(c, "cw.yamamoto", H_DEMO_PASSWORD, NULL);
	h_assert_error(r, RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
	assert_true(r->error->retry_after_ms > 0 && r->error->retry_after_ms <= 2000);
	h_env_free(r);
	/* Per login: others are not affected. */
	r = h_login_env(c, "dds.kato", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);

	/* --login-delay-s 2: after it, the right password works. */
	h_sleep_ms(2500);
	c = h_connect(*state);
	assert_non_null(c);
	r = h_login_env(c, "cw.yamamoto", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

/* An attacker who knows a login (they are printed on every board) and
 * sends wrong passwords for it from one address slows only themselves:
 * the owner logs in from another address at once, and the attacker's
 * wait never exceeds login_delay_max_s (here 300 s). */
static void
test_throttle_other_address(void **state)
{
	struct h_server *s = *state;
	struct rkc *a, *c;
	Renkei__V1__Envelope *r;
	int refused = 0, waits = 0;

	/* A connection each (prelogin_max_requests closes a connection
	 * that keeps trying), all from 127.0.0.2. */
	for (int i = 0; i < 30; i++) {
		a = h_connect_from(s, "127.0.0.2");
		assert_non_null(a);
		r = h_login_env(a, "dr.tanaka", "not-her-password", NULL);
		assert_non_null(r);
		if (h_env_code(r) == RENKEI__V1__CODE__UNAUTHENTICATED) {
			refused++;
		} else {
			h_assert_error(r, RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
			assert_true(r->error->retry_after_ms > 0 &&
			            r->error->retry_after_ms <= 300 * 1000);
			waits++;
		}
		h_env_free(r);
		rkc_close(a);
	}
	assert_int_equal(refused, 4); /* 3 free, the 4th sets the wait */
	assert_int_equal(waits, 26);
	/* Even the right password waits, from the attacker's address. */
	a = h_connect_from(s, "127.0.0.2");
	assert_non_null(a);
	r = h_login_env(a, "dr.tanaka", H_DEMO_PASSWORD, NULL);
	h_assert_error(r, RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
	h_env_free(r);
	rkc_close(a);

	/* dr.tanaka, from her own address, is not slowed at all. */
	c = h_connect_from(s, "127.0.0.1");
	assert_non_null(c);
	r = h_login_env(c, "dr.tanaka", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	rkc_close(c);
}

static void
test_logout_ends_session_everywhere(void **state)
{
	struct h_server *s = *state;
	char *token = NULL;
	struct rkc *a = h_connect_login(s, "pt.ito", &token);
	struct rkc *b = h_connect(s), *c;
	Renkei__V1__Envelope *r, *ev = NULL;
	int code;

	assert_non_null(a);
	assert_non_null(b);
	r = h_resume_env(b, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);

	r = h_logout_env(a);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE);
	h_env_free(r);

	/* B is told, then closed with 4001. */
	if (rkc_next_event(b, H_TIMEOUT_MS, &ev) != 0)
		fail_msg("no session_ended event on B: %s", rkc_last_error(b));
	assert_int_equal(ev->request_id, 0);
	h_assert_body(ev, RENKEI__V1__ENVELOPE__BODY_EVENT);
	assert_int_equal(ev->event->kind_case,
	                 RENKEI__V1__EVENT__KIND_SESSION_ENDED);
	assert_true(strlen(ev->event->session_ended->reason) > 0);
	h_env_free(ev);
	code = h_wait_close(b, H_TIMEOUT_MS, NULL);
	if (code != 4001)
		fail_msg("B: expected close 4001, got %d (%s)", code,
		         rkc_last_error(b));

	/* A stays open but logged out, and may log in again. */
	r = h_whoami_env(a);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);

	/* The old token is dead, on a new connection too. */
	c = h_connect(s);
	assert_non_null(c);
	r = h_resume_env(c, token);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	rkc_close(c);

	r = h_login_env(a, "pt.ito", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_string_not_equal(r->login_response->token, token);
	h_env_free(r);

	free(token);
	rkc_close(a);
	rkc_close(b);
}

/*
 * A login that had failed before leaves its throttle row behind, and the
 * next password check for it steps onto that row. Whatever a read op
 * does, the next one on the same reader thread must see the writer's
 * newer commits: here, that a logged-out session has ended. (A statement
 * left mid-row pins the reader's old snapshot, and a token that was
 * logged out resumes.) One reader thread makes this deterministic.
 */
static int
setup_one_reader(void **state)
{
	static const char *const args[] = {"--store-readers", "1", NULL};

	/* This test's own server; teardown_one_reader frees it even when the
	 * test fails. */
	*state = h_server_up(args);
	return *state != NULL ? 0 : -1;
}

static int
teardown_one_reader(void **state)
{
	return h_server_free(*state);
}

static void
test_logged_out_token_dead_after_failure_row(void **state)
{
	struct h_server *s = *state;
	struct rkc *a, *b, *c;
	Renkei__V1__Envelope *r;
	char *token = NULL;

	a = h_connect_login(s, "msw.yoshida", &token);
	assert_non_null(a);

	c = h_connect(s);
	assert_non_null(c);
	r = h_login_env(c, "ccc.sasaki", "wrong-password", NULL);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	r = h_login_env(c, "ccc.sasaki", H_DEMO_PASSWORD, NULL);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);

	r = h_logout_env(a);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE);
	h_env_free(r);

	b = h_connect(s);
	assert_non_null(b);
	r = h_resume_env(b, token);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);

	free(token);
	rkc_close(a);
	rkc_close(b);
	rkc_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_login_ok),
	    cmocka_unit_test(test_login_family_has_no_organisation),
	    cmocka_unit_test(test_wrong_password_and_unknown_login),
	    cmocka_unit_test(test_resume),
	    cmocka_unit_test(test_throttle),
	    cmocka_unit_test(test_throttle_other_address),
	    cmocka_unit_test(test_logout_ends_session_everywhere),
	    cmocka_unit_test_setup_teardown(
	        test_logged_out_token_dead_after_failure_row, setup_one_reader,
	        teardown_one_reader),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
