/*
 * 04-durability: what the server promised before it died is still true
 * after it restarts on the same data — a session is committed before the
 * client gets its token, so a SIGKILL right after the answer loses
 * nothing — and a graceful stop (SIGTERM) closes clients with 1001.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static int
setup(void **state)
{
	*state = h_server_up(NULL);
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return h_server_free(*state);
}

static void
assert_resumes(struct h_server *s, const char *token, const char *login)
{
	struct rkc *c = h_connect(s);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_resume_env(c, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_string_equal(r->login_response->user->login, login);
	h_env_free(r);
	r = h_whoami_env(c);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_string_equal(r->whoami_response->user->login, login);
	h_env_free(r);
	rkc_close(c);
}

static void
test_session_survives_sigkill(void **state)
{
	struct h_server *s = *state;
	char *tokens[3] = {NULL, NULL, NULL};
	static const char *const logins[3] = {"dr.tanaka", "ns.kobayashi",
	                                      "cm.nakamura"};
	struct rkc *c[3];
	int st;

	/* Three sessions; the last answer arrives just before the kill. */
	for (int i = 0; i < 3; i++) {
		c[i] = h_connect_login(s, logins[i], &tokens[i]);
		assert_non_null(c[i]);
	}
	st = h_server_stop(s, SIGKILL, 5000);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (int i = 0; i < 3; i++)
		rkc_abort(c[i]);

	assert_int_equal(h_server_restart(s), 0);
	for (int i = 0; i < 3; i++) {
		assert_resumes(s, tokens[i], logins[i]);
		free(tokens[i]);
	}
}

static void
test_logout_survives_sigkill(void **state)
{
	struct h_server *s = *state;
	char *token = NULL;
	struct rkc *c = h_connect_login(s, "ph.watanabe", &token);
	Renkei__V1__Envelope *r;

	/* A logout acknowledged before the crash stays a logout. */
	assert_non_null(c);
	r = h_logout_env(c);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGOUT_RESPONSE);
	h_env_free(r);
	h_server_stop(s, SIGKILL, 5000);
	rkc_abort(c);
	assert_int_equal(h_server_restart(s), 0);

	c = h_connect(s);
	assert_non_null(c);
	r = h_resume_env(c, token);
	h_assert_error(r, RENKEI__V1__CODE__UNAUTHENTICATED);
	h_env_free(r);
	rkc_close(c);
	free(token);
}

static void
test_sigterm_closes_clients_1001(void **state)
{
	struct h_server *s = *state;
	char *token = NULL;
	struct rkc *a = h_connect_login(s, "dr.tanaka", &token);
	struct rkc *b = h_connect(s); /* not logged in: told all the same */
	int st, code;

	assert_non_null(a);
	assert_non_null(b);
	kill(s->pid, SIGTERM);
	code = h_wait_close(a, 10000, NULL);
	if (code != 1001)
		fail_msg("logged-in client: expected close 1001, got %d (%s)",
		         code, rkc_last_error(a));
	code = h_wait_close(b, 10000, NULL);
	if (code != 1001)
		fail_msg("anonymous client: expected close 1001, got %d (%s)",
		         code, rkc_last_error(b));
	rkc_close(a);
	rkc_close(b);

	/* h_server_stop reaps it (the signal again is harmless). */
	st = h_server_stop(s, SIGTERM, 15000);
	if (!h_exited_cleanly(st)) {
		h_server_dump_log(s, 30);
		fail_msg("graceful stop did not exit 0 (wait status 0x%x)", st);
	}
	assert_int_equal(h_server_log_has(s, "event=SERVER-STOPPED clean=1"),
	                 1);

	/* The session outlives a graceful restart too. */
	assert_int_equal(h_server_restart(s), 0);
	assert_resumes(s, token, "dr.tanaka");
	free(token);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_session_survives_sigkill),
	    cmocka_unit_test(test_logout_survives_sigkill),
	    cmocka_unit_test(test_sigterm_closes_clients_1001),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
