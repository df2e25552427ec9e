/*
 * 34-clock: trusted time. The server's wall clock is stepped back through
 * a preloaded shim (fakeclock.c; the machine's clock is never touched):
 *  - a step back smaller than clock_jump_ms passes unremarked;
 *  - a larger one is logged (CLOCK-JUMP, with how far) and recorded in
 *    the audit trail ("clock.jump", the size of the step in its reason),
 *    and a checkpoint is signed right after it;
 *  - every checkpoint carries the clock's state (adjtimex), and the chain
 *    still verifies.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct run {
	struct h_server *s;
	char offset[400];
};

static void
set_offset(const struct run *r, long ms)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", ms);
	assert_int_equal(h_write_file(r->offset, text, (size_t)n), 0);
}

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	const char *asan = getenv("ASAN_OPTIONS");
	char asan_opts[600];
	static const char *const args[] = {"--clock-jump-ms", "2000", NULL};
	int rc;

	r->s = h_server_new();
	if (r->s == NULL) {
		free(r);
		return -1;
	}
	snprintf(r->offset, sizeof(r->offset), "%s/clock-offset", r->s->dir);
	if (h_write_file(r->offset, "0\n", 2) != 0)
		return -1;
	/* Only the server gets the shim. A sanitizer's runtime would insist
	 * on being loaded first. */
	snprintf(asan_opts, sizeof(asan_opts), "%s%sverify_asan_link_order=0",
	         asan != NULL ? asan : "", asan != NULL && asan[0] ? ":" : "");
	setenv("ASAN_OPTIONS", asan_opts, 1);
	setenv("RENKEI_FAKE_CLOCK_FILE", r->offset, 1);
	setenv("LD_PRELOAD", RENKEI_FAKECLOCK, 1);
	rc = h_server_start(r->s, args);
	unsetenv("LD_PRELOAD");
	unsetenv("RENKEI_FAKE_CLOCK_FILE");
	if (asan != NULL)
		setenv("ASAN_OPTIONS", asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
	if (rc != 0) {
		h_server_free(r->s);
		free(r);
		return -1;
	}
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;
	int rc = h_server_free(r->s);
	free(r);
	return rc;
}

static void
test_backward_step_is_logged_and_recorded(void **state)
{
	struct run *r = *state;
	struct rkc *c;
	Renkei__V1__Envelope *env;
	sqlite3 *db;
	char *out = NULL, cmd[600];
	int64_t rec;

	c = h_connect_login(r->s, "ns.kobayashi", NULL);
	assert_non_null(c);

	/* One second back: drift, as far as the server is concerned. */
	set_offset(r, -1000);
	h_sleep_ms(2500);
	assert_int_equal(h_server_log_has(r->s, "CLOCK-JUMP"), 0);

	/* Seven seconds back in all: six more at once. */
	set_offset(r, -7000);
	assert_int_equal(h_server_wait_log(r->s, "event=CLOCK-JUMP", 5000), 0);
	/* About six seconds back (a loaded machine adds or takes a few
	 * hundred ms between two looks). */
	{
		char *log = h_read_file(r->s->log_path, NULL), *at;
		long back;
		assert_non_null(log);
		at = strstr(log, "back_ms=");
		assert_non_null(at);
		back = strtol(at + 8, NULL, 10);
		if (back < 5000 || back > 7000)
			fail_msg("CLOCK-JUMP back_ms=%ld, want about 6000", back);
		free(log);
	}

	/* The server goes on: a post after the step is taken. */
	env = h_post_env(c, "pt-yamada", "after-the-step",
	                 RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
	                 "時計が戻った後の記録");
	h_assert_body(env, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
	h_env_free(env);
	rkc_close(c);

	db = h_db_open(r->s);
	assert_non_null(db);
	rec = h_db_int(db, "SELECT coalesce(max(id), 0) FROM audit.records WHERE"
	                   " action = 'clock.jump' AND outcome = 0 AND reason LIKE"
	                   " 'the wall clock went back %'"); /* about 6 s: above */
	assert_true(rec > 0);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.records WHERE"
	                              " action = 'clock.jump'"),
	                 1);
	/* Signed at once, with the clock's state. */
	{
		char sql[200];
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM audit.checkpoints WHERE record_id >= %lld"
		         " AND clock_sync IN (0, 1, 2)",
		         (long long)rec);
		assert_true(h_db_int(db, sql) >= 1);
	}
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.checkpoints WHERE"
	                              " clock_sync IS NULL"),
	                 0);
	sqlite3_close(db);

	snprintf(cmd, sizeof(cmd), "'%s' audit verify --data '%s'", h_server_bin(),
	         r->s->dir);
	assert_int_equal(h_sh(cmd, &out), 0);
	assert_non_null(strstr(out, "OK: "));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backward_step_is_logged_and_recorded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
