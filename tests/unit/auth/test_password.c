/* Unit tests: auth/password.c — one-time passwords to change, a new
 * password ending the other sessions, and who has a second factor (the
 * shortest password allowed), on a real SQLCipher store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit_store.h"

#include "auth/auth.h"
#include "auth/totp.h"
#include "store/store.h"

#define NOW 1767225600000LL

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
	struct auth_limits lim;
};

static void
add_user(struct fx *f, const char *login, enum profession prof, const char *org)
{
	char hash[160];
	struct rk_status st = {0};

	assert_int_equal(auth_password_hash("old pw 1", 1, 8, hash, sizeof(hash)), RK_OK);
	assert_int_equal(auth_user_add(f->sc, login, login, prof, org, hash, &st), RK_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rk_status st = {0};
	char err[256];

	unit_tmpdir(f->dir, "password");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	f->lim = (struct auth_limits){.max_failures = 3, .max_failures_address = 12,
	                              .delay_s = 60, .delay_max_s = 300, .quiet_s = 900,
	                              .session_max_s = 3600, .session_idle_s = 600,
	                              .argon2_t = 1, .argon2_m_kib = 8};
	assert_int_equal(auth_org_add(f->sc, "org-a", "みどり在宅クリニック", "clinic", "", &st),
	                 RK_OK);
	add_user(f, "dr.a", PROF_PHYSICIAN, "org-a");
	add_user(f, "fam.a", PROF_FAMILY, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_conn_close(f->sc);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static void
exec_ok(struct fx *f, const char *sql)
{
	assert_int_equal(store_exec(f->sc, sql), RK_OK);
}

static void
test_must_change(void **state)
{
	struct fx *f = *state;
	struct auth_user u;
	bool must = true;

	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	assert_int_equal(auth_must_change_password(f->sc, u.id, &must), RK_OK);
	assert_false(must);
	assert_int_equal(auth_password_must_change(f->sc, u.id), RK_OK);
	assert_int_equal(auth_must_change_password(f->sc, u.id, &must), RK_OK);
	assert_true(must);
	assert_int_equal(auth_must_change_password(f->sc, 999999, &must), RK_ERR_NOT_FOUND);
	assert_int_equal(auth_password_must_change(f->sc, 999999), RK_ERR_NOT_FOUND);
}

/* The new hash works, the old one not; the flag is cleared; every other
 * open session ends, this one stays, the ended ones are listed. */
static void
test_password_set(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u;
	char token[AUTH_TOKEN_LEN + 1], hash[160];
	int64_t s1, s2, s3, exp, *ended = NULL;
	size_t n = 0;
	bool must = true;

	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	assert_int_equal(auth_password_must_change(f->sc, u.id), RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "a", "", NOW, &f->lim, token, &s1, &exp),
	                 RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "b", "", NOW, &f->lim, token, &s2, &exp),
	                 RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "c", "", NOW, &f->lim, token, &s3, &exp),
	                 RK_OK);
	assert_int_equal(auth_session_end(f->sc, s3, NOW, "logout"), RK_OK);

	assert_int_equal(auth_password_hash("new pw 22", 1, 8, hash, sizeof(hash)), RK_OK);
	assert_int_equal(auth_password_set(f->sc, u.id, hash, s2, NOW + 1, &ended, &n), RK_OK);
	assert_int_equal(n, 1); /* s1; s3 had ended already */
	assert_int_equal(ended[0], s1);
	free(ended);
	assert_int_equal(auth_session_live(f->sc, u.id, s1), RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_live(f->sc, u.id, s2), RK_OK);
	assert_int_equal(auth_must_change_password(f->sc, u.id, &must), RK_OK);
	assert_false(must);
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.1", "new pw 22", NOW + 2,
	                                  &f->lim, &u, &st),
	                 RK_OK);
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.1", "old pw 1", NOW + 2,
	                                  &f->lim, &u, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_password_set(f->sc, 999999, hash, 0, NOW, &ended, &n),
	                 RK_ERR_NOT_FOUND);
	assert_null(ended);
}

/* Staff always; family when opted in or enrolled (confirmed). */
static void
test_second_factor(void **state)
{
	struct fx *f = *state;
	struct auth_user dr, fam;

	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &dr), RK_OK);
	assert_int_equal(auth_user_load(f->sc, "fam.a", 0, &fam), RK_OK);
	assert_true(auth_account_has_second_factor(f->sc, &dr, TOTP_STAFF));
	assert_false(auth_account_has_second_factor(f->sc, &fam, TOTP_STAFF));
	/* totp_required = all: family too; off: nobody without one. */
	assert_true(auth_account_has_second_factor(f->sc, &fam, TOTP_ALL));
	assert_false(auth_account_has_second_factor(f->sc, &dr, TOTP_OFF));
	/* An enrolment not yet confirmed does not count... */
	exec_ok(f, "INSERT INTO totp(user_id, secret, created_ms) SELECT id, randomblob(20), 1"
	           " FROM users WHERE login = 'fam.a'");
	assert_false(auth_account_has_second_factor(f->sc, &fam, TOTP_STAFF));
	/* ... a confirmed one does, */
	exec_ok(f, "UPDATE totp SET confirmed_ms = 2");
	assert_true(auth_account_has_second_factor(f->sc, &fam, TOTP_STAFF));
	/* and so does asking for one. */
	exec_ok(f, "DELETE FROM totp; UPDATE users SET totp_opt_in = 1 WHERE login = 'fam.a'");
	assert_true(auth_account_has_second_factor(f->sc, &fam, TOTP_STAFF));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_must_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_factor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
