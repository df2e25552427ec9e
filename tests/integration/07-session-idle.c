/*
 * 07-session-idle: a session unused for --session-idle-s ends — its
 * connections are told (Event session_ended), closed with 4001, and its
 * token no longer resumes — while a session used on any one of its
 * connections lives on, idle siblings included. The shortest allowed
 * idle time is 10 s, so this file takes about 13 s; it runs alone in
 * its own file so that ctest -j overlaps it with the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define IDLE_S 10

static int
setup(void **state)
{
	static const char *const args[] = {"--session-idle-s", "10", NULL};

	*state = h_server_up(args);
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return h_server_free(*state);
}

static void
test_idle_session_ends_used_one_lives(void **state)
{
	struct h_server *s = *state;
	char *idle_token = NULL, *busy_token = NULL;
	struct rkc *idle = h_connect_login(s, "ph.watanabe", &idle_token);
	struct rkc *busy = h_connect_login(s, "dds.kato", &busy_token);
	struct rkc *sibling = h_connect(s), *c;
	Renkei__V1__Envelope *r, *ev = NULL;
	int64_t t0 = h_mono_ms(), ended_at = 0;
	int code;

	assert_non_null(idle);
	assert_non_null(busy);
	assert_non_null(sibling);
	/* The busy session's second connection stays silent throughout. */
	r = h_resume_env(sibling, busy_token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_int_equal(r->login_response->idle_timeout_s, IDLE_S);
	h_env_free(r);

	/* Use the busy session every second; watch the idle one. */
	while (h_mono_ms() - t0 < (IDLE_S + 3) * 1000) {
		r = h_whoami_env(busy);
		h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
		h_env_free(r);
		if (ended_at != 0) {
			h_sleep_ms(1000);
			continue;
		}
		if (rkc_next_event(idle, 1000, &ev) != 0) {
			if (strcmp(rkc_last_error(idle), "timeout") != 0)
				fail_msg("idle connection ended without an "
				         "event: %s",
				         rkc_last_error(idle));
			continue;
		}
		ended_at = h_mono_ms();
		h_assert_body(ev, RENKEI__V1__ENVELOPE__BODY_EVENT);
		assert_int_equal(ev->event->kind_case,
		                 RENKEI__V1__EVENT__KIND_SESSION_ENDED);
		h_env_free(ev);
	}
	if (ended_at == 0)
		fail_msg("the idle session was not ended within %d s",
		         IDLE_S + 3);
	print_message("idle session ended after %lld ms\n",
	              (long long)(ended_at - t0));
	/* Not before its time (the login itself was its last use). */
	assert_true(ended_at - t0 >= (IDLE_S - 1) * 1000);
	code = h_wait_close(idle, H_TIMEOUT_MS, NULL);
	if (code != 4001)
		fail_msg("idle connection: expected close 4001, got %d (%s)",
		         code, rkc_last_error(idle));

	/* Its token is dead; the busy session's silent sibling is not. */
	c = h_connect(s);
	assert_non_null(c);
	r = h_resume_env(c, idle_token);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	rkc_close(c);
	r = h_whoami_env(sibling);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(r->whoami_response->user->login, "dds.kato");
	h_env_free(r);

	free(idle_token);
	free(busy_token);
	rkc_close(idle);
	rkc_close(busy);
	rkc_close(sibling);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_session_ends_used_one_lives),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
