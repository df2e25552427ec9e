/*
 * 60-password: the password lifecycle over real TLS.
 *
 *  - Changing my password: the old one is refused afterwards, the new one
 *    works; my other session is closed with 4001 within a second, this
 *    one goes on. A wrong current password changes nothing, is
 *    UNAUTHENTICATED (field "old_password") and counts as a failed login.
 *  - One-time passwords (a family invitation code; an account marked as
 *    an admin marks it): the session can do nothing but change its
 *    password (FAILED_PRECONDITION, field "password"), also when resumed
 *    on another connection; after the change it works fully.
 *  - Rules: 7 characters refused even with a second factor (a confirmed
 *    TOTP secret written into care.db, its logins with a code computed by
 *    liboath), 12 refused without one (family; and staff while
 *    totp_required is off, as in the harness); a dictionary word, the login
 *    and the display name refused, each INVALID_ARGUMENT naming
 *    "new_password" with libpwquality's explanation.
 *  - Bad input: a 1 MB password (a clean error; beyond the 1 MiB message
 *    limit, a close), empty ones, non-UTF-8: each changes nothing, and
 *    the server keeps serving.
 *  - The argon2id floor: an imported hash below it is refused (and with
 *    it the whole file), as is a setting below it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>

#include "harness.h"

/* The TOTP secret give_factor() confirms for a user: 20 bytes of 'B'. */
static const char factor_secret[] = "BBBBBBBBBBBBBBBBBBBB";

static struct h_server *srv;

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

/* Log in with `password`: the connection, or NULL if refused (with the
 * answer's code in *code if not NULL). */
static struct rkc *
login_pw(const char *login, const char *password, int *code, char **token)
{
	struct rkc *c = h_connect(srv);
	Renkei__V1__Envelope *r;

	assert_non_null(c);
	r = h_login_env(c, login, password, "60-password");
	if (code != NULL)
		*code = h_env_code(r);
	if (r == NULL || r->body_case != RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE) {
		h_env_free(r);
		rkc_close(c);
		return NULL;
	}
	if (token != NULL)
		*token = strdup(r->login_response->token);
	h_env_free(r);
	return c;
}

/* Give `login` a confirmed second factor (factor_secret), or take it
 * away (on = 0), straight in care.db beside the running server. */
static void
give_factor(const char *login, int on)
{
	sqlite3 *db = h_db_open(srv);
	char sql[300];

	assert_non_null(db);
	if (on)
		snprintf(sql, sizeof(sql),
		         "INSERT OR REPLACE INTO totp(user_id, secret, created_ms,"
		         " confirmed_ms, last_step) SELECT id, CAST('%s' AS BLOB), 1,"
		         " 1, 0 FROM users WHERE login = '%s'",
		         factor_secret, login);
	else
		snprintf(sql, sizeof(sql),
		         "DELETE FROM totp WHERE user_id = (SELECT id FROM users"
		         " WHERE login = '%s')",
		         login);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Log in as a user give_factor() gave a factor: password and the current
 * code. The connection (asserted). */
static struct rkc *
login_factor(const char *login)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT, *r;
	Renkei__V1__LoginRequest lr = RENKEI__V1__LOGIN_REQUEST__INIT;
	uint8_t pub[RKC_DEVICE_KEY_LEN];
	struct rkc *c = h_connect(srv);
	char code[7];

	assert_non_null(c);
	assert_int_equal(oath_totp_generate(factor_secret, sizeof(factor_secret) - 1,
	                                    time(NULL), 30, 0, 6, code),
	                 OATH_OK);
	rkc_device_public_key(h_device(), pub);
	lr.device_key.data = pub;
	lr.device_key.len = sizeof(pub);
	lr.login = (char *)login;
	lr.password = H_DEMO_PASSWORD;
	lr.device = "60-password";
	lr.totp_code = code;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_LOGIN_REQUEST;
	env.login_request = &lr;
	r = h_call(c, &env);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	h_env_free(r);
	return c;
}

/* The answer is an Error with this code and field. */
static void
expect_error(Renkei__V1__Envelope *r, Renkei__V1__Code code, const char *field,
             const char *words)
{
	h_assert_error(r, code);
	assert_string_equal(r->error->field, field);
	if (words != NULL && strstr(r->error->message, words) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", r->error->message, words);
	h_env_free(r);
}

static void
expect_ok(Renkei__V1__Envelope *r, Renkei__V1__Envelope__BodyCase body)
{
	h_assert_body(r, body);
	h_env_free(r);
}

/* The demo password still works for login (nothing was changed). */
static void
demo_password_works(const char *login)
{
	struct rkc *c = login_pw(login, H_DEMO_PASSWORD, NULL, NULL);

	if (c == NULL)
		fail_msg("%s: the demo password no longer works", login);
	rkc_close(c);
}

/* ------------------------------------------------------------- changing */

static void
test_change(void **state)
{
	struct rkc *me, *other, *c;
	Renkei__V1__Envelope *r;
	int64_t t0;
	int code, close_code;
	sqlite3 *db;

	(void)state;
	me = login_pw("ph.watanabe", H_DEMO_PASSWORD, NULL, NULL);
	other = login_pw("ph.watanabe", H_DEMO_PASSWORD, NULL, NULL);
	assert_non_null(me);
	assert_non_null(other);
	expect_ok(h_timeline_env(other, "pt-suzuki"),
	          RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);

	r = h_password_change_env(me, H_DEMO_PASSWORD, "kettle-orbit-27");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE);
	assert_int_equal(r->password_change_response->sessions_ended, 1);
	h_env_free(r);
	t0 = h_mono_ms();

	/* My other session closes at once, with 4001. */
	close_code = h_wait_close(other, 1000, NULL);
	assert_int_equal(close_code, 4001);
	assert_true(h_mono_ms() - t0 <= 1000);
	rkc_close(other);
	/* This one goes on. */
	expect_ok(h_timeline_env(me, "pt-suzuki"),
	          RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	rkc_close(me);

	/* The old password is refused, the new one works. */
	assert_null(login_pw("ph.watanabe", H_DEMO_PASSWORD, &code, NULL));
	assert_int_equal(code, RENKEI__V1__CODE__UNAUTHENTICATED);
	c = login_pw("ph.watanabe", "kettle-orbit-27", NULL, NULL);
	assert_non_null(c);
	expect_ok(h_timeline_env(c, "pt-suzuki"),
	          RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	rkc_close(c);

	/* Recorded: the other session's end and the change, no password. */
	db = h_db_open(srv);
	assert_non_null(db);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM sessions s JOIN users u"
	                              " ON u.id = s.user_id WHERE u.login ="
	                              " 'ph.watanabe' AND s.end_reason ="
	                              " 'password changed'"),
	                 1);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.records WHERE"
	                              " action = 'password.change' AND outcome = 0"
	                              " AND actor_login = 'ph.watanabe' AND reason ="
	                              " 'other sessions ended: 1'"),
	                 1);
	sqlite3_close(db);
	assert_int_equal(h_server_log_has(srv, "kettle-orbit-27"), 0);
}

static void
test_wrong_old_password(void **state)
{
	struct rkc *me = login_pw("dds.kato", H_DEMO_PASSWORD, NULL, NULL);
	struct rkc *other = login_pw("dds.kato", H_DEMO_PASSWORD, NULL, NULL);
	sqlite3 *db;

	(void)state;
	assert_non_null(me);
	assert_non_null(other);
	expect_error(h_password_change_env(me, "not-my-password", "kettle-orbit-27"),
	             RENKEI__V1__CODE__UNAUTHENTICATED, "old_password",
	             "the current password is wrong");
	/* Nothing changed: both sessions live, the old password works. */
	expect_ok(h_whoami_env(me), RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	expect_ok(h_whoami_env(other), RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	/* Counted as a failed login of dds.kato from here; recorded. */
	db = h_db_open(srv);
	assert_non_null(db);
	assert_true(h_db_int(db, "SELECT coalesce(sum(failures), 0) FROM"
	                         " login_failures WHERE login LIKE 'dds.kato %'") >= 1);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.records WHERE"
	                              " action = 'password.change' AND outcome !="
	                              " 0 AND actor_login = 'dds.kato'"),
	                 1);
	sqlite3_close(db);
	demo_password_works("dds.kato");
	rkc_close(me);
	rkc_close(other);
}

/* ---------------------------------------------------- one-time passwords */

/* The session can do nothing but change its password. */
static void
only_password_change(struct rkc *c, const char *patient)
{
	Renkei__V1__Envelope *r;

	expect_error(h_timeline_env(c, patient), RENKEI__V1__CODE__FAILED_PRECONDITION,
	             "password", "change your one-time password first");
	expect_error(h_post_env(c, patient, "otp-post",
	                        RENKEI__V1__VISIBILITY__VISIBILITY_ALL, "書けないはず"),
	             RENKEI__V1__CODE__FAILED_PRECONDITION, "password", NULL);
	r = h_whoami_env(c);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_int_equal(r->whoami_response->n_pending, 1);
	assert_int_equal(r->whoami_response->pending[0],
	                 RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD);
	h_env_free(r);
}

static void
test_invitation_code(void **state)
{
	struct rkc *dr = h_connect_login(srv, "dr.tanaka", NULL);
	struct rkc *f, *f2;
	Renkei__V1__Envelope *r;
	char *code, *token = NULL;

	(void)state;
	assert_non_null(dr);
	r = h_family_invite_env(dr, "pt-sato", "family.sato.pw", "佐藤 花子",
	                        "家族（長女）");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_FAMILY_INVITE_RESPONSE);
	code = strdup(r->family_invite_response->invitation_code);
	h_env_free(r);
	assert_int_equal(strlen(code), 24);
	rkc_close(dr);

	f = h_connect(srv);
	assert_non_null(f);
	r = h_login_env(f, "family.sato.pw", code, "family-phone");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_int_equal(r->login_response->n_pending, 1);
	assert_int_equal(r->login_response->pending[0],
	                 RENKEI__V1__SIGN_IN_STEP__CHANGE_PASSWORD);
	token = strdup(r->login_response->token);
	h_env_free(r);
	only_password_change(f, "pt-sato");

	/* Resumed elsewhere, the step is still there (from the database). */
	f2 = h_connect(srv);
	assert_non_null(f2);
	r = h_resume_env(f2, token);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_LOGIN_RESPONSE);
	assert_int_equal(r->login_response->n_pending, 1);
	h_env_free(r);
	only_password_change(f2, "pt-sato");

	/* A family member has no second factor: 13 characters at least. */
	expect_error(h_password_change_env(f, code, "kq7v-m2xp-rt"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "The password is shorter than 13 characters");
	only_password_change(f, "pt-sato");

	r = h_password_change_env(f, code, "hanako-kaki-no-ki-2026");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE);
	h_env_free(r);
	/* Both connections of the session work now. */
	expect_ok(h_timeline_env(f, "pt-sato"), RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	expect_ok(h_timeline_env(f2, "pt-sato"), RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	rkc_close(f);
	rkc_close(f2);

	/* The code is refused now; the new password needs no step. */
	assert_null(login_pw("family.sato.pw", code, NULL, NULL));
	f = login_pw("family.sato.pw", "hanako-kaki-no-ki-2026", NULL, NULL);
	assert_non_null(f);
	r = h_whoami_env(f);
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	assert_int_equal(r->whoami_response->n_pending, 0);
	h_env_free(r);
	rkc_close(f);
	free(code);
	free(token);
}

/* A one-time password is refused after one_time_password_days (7): one
 * issued 8 days ago, UNAUTHENTICATED naming "password", counted as a
 * failed login; one issued an hour ago works (and allows nothing but the
 * change); one marked before the issue time was kept (0) never expires. */
static void
test_one_time_password_expires(void **state)
{
	sqlite3 *db = h_db_open(srv);
	char sql[200];
	struct rkc *c;
	int code = 0;

	(void)state;
	assert_non_null(db);
	snprintf(sql, sizeof(sql),
	         "UPDATE users SET must_change_password = 1, one_time_ms = %lld"
	         " WHERE login = 'dds.kato'",
	         (long long)(h_now_ms() - 8 * 86400000LL));
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	c = login_pw("dds.kato", H_DEMO_PASSWORD, &code, NULL);
	assert_null(c);
	assert_int_equal(code, RENKEI__V1__CODE__UNAUTHENTICATED);
	c = h_connect(srv);
	expect_error(h_login_env(c, "dds.kato", H_DEMO_PASSWORD, NULL),
	             RENKEI__V1__CODE__UNAUTHENTICATED, "password", "has expired");
	rkc_close(c);

	snprintf(sql, sizeof(sql),
	         "UPDATE users SET one_time_ms = %lld WHERE login = 'dds.kato'",
	         (long long)(h_now_ms() - 3600000LL));
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	c = login_pw("dds.kato", H_DEMO_PASSWORD, NULL, NULL);
	assert_non_null(c);
	only_password_change(c, "pt-suzuki");
	rkc_close(c);
	assert_int_equal(sqlite3_exec(db, "UPDATE users SET must_change_password = 0,"
	                                  " one_time_ms = 0 WHERE login = 'dds.kato'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
}

/* A staff account whose password must change (as an admin's create or
 * reset leaves it): 8 characters suffice, with the second factor. */
static void
test_staff_one_time_password(void **state)
{
	sqlite3 *db = h_db_open(srv);
	struct rkc *c;

	(void)state;
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, "UPDATE users SET must_change_password = 1"
	                                  " WHERE login = 'cw.yamamoto'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	give_factor("cw.yamamoto", 1);
	c = login_factor("cw.yamamoto");
	only_password_change(c, "pt-sato");
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "Zq8#mW2"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "The password is shorter than 8 characters");
	expect_ok(h_password_change_env(c, H_DEMO_PASSWORD, "kq7v-m2xp"),
	          RENKEI__V1__ENVELOPE__BODY_PASSWORD_CHANGE_RESPONSE);
	expect_ok(h_timeline_env(c, "pt-sato"), RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	rkc_close(c);
	give_factor("cw.yamamoto", 0);
}

/* ------------------------------------------------------------------ rules */

static void
test_rules(void **state)
{
	struct rkc *c = login_pw("pt.ito", H_DEMO_PASSWORD, NULL, NULL);

	(void)state;
	assert_non_null(c);
	/* Staff without a second factor (totp_required off here): 12
	 * characters are too few, as for family. */
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "kq7v-m2xp-9z"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "The password is shorter than 13 characters");
	rkc_close(c);
	/* With one, 8 are enough, 7 are not. */
	give_factor("pt.ito", 1);
	c = login_factor("pt.ito");
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "Zq8#mW2"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "The password is shorter than 8 characters");
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "sunflowers"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "dictionary check");
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "pt.ito-kq7v-2026"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "contains the user name");
	/* 伊藤 翔: the surname. */
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "伊藤のkq7v-2026"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "real name");
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, H_DEMO_PASSWORD),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "same as the old one");
	rkc_close(c);
	give_factor("pt.ito", 0);
	demo_password_works("pt.ito");
}

/* -------------------------------------------------------------- bad input */

static void
test_bad_input(void **state)
{
	struct rkc *c = login_pw("ccc.sasaki", H_DEMO_PASSWORD, NULL, NULL), *c2;
	size_t big = 1000 * 1000;
	char *pw = malloc(big + 1);
	int closed;

	(void)state;
	assert_non_null(c);
	assert_non_null(pw);
	memset(pw, 'k', big);
	pw[big] = '\0';
	/* 1 MB, under the 1 MiB message limit: refused by its field's bound. */
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, pw),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password",
	             "longer than 1024 bytes");
	expect_error(h_password_change_env(c, pw, "kettle-orbit-27"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "old_password",
	             "longer than 1024 bytes");
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, ""),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password", NULL);
	expect_error(h_password_change_env(c, "", "kettle-orbit-27"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "old_password", NULL);
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "kettle-\xff\xfe-orbit-27"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password", NULL);
	expect_error(h_password_change_env(c, H_DEMO_PASSWORD, "kettle-orbit\n-27"),
	             RENKEI__V1__CODE__INVALID_ARGUMENT, "new_password", NULL);
	expect_ok(h_whoami_env(c), RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);

	/* Beyond the message limit: the connection is closed (1009; the
	 * server may close while the client still writes, and the client
	 * then never reads the close frame). */
	free(pw);
	big = 1100 * 1000;
	pw = malloc(big + 1);
	assert_non_null(pw);
	memset(pw, 'k', big);
	pw[big] = '\0';
	c2 = login_pw("ccc.sasaki", H_DEMO_PASSWORD, NULL, NULL);
	assert_non_null(c2);
	h_env_free(h_password_change_env(c2, H_DEMO_PASSWORD, pw));
	closed = h_wait_close(c2, 5000, NULL);
	if (closed != 1009 && closed != 0)
		fail_msg("a 1.1 MB message: close code %d (want 1009, or closed)", closed);
	rkc_close(c2);

	/* A 1 MB password at login: before login the limit is 8 KiB. */
	c2 = h_connect(srv);
	assert_non_null(c2);
	h_env_free(h_login_env(c2, "ccc.sasaki", pw, NULL));
	closed = h_wait_close(c2, 5000, NULL);
	if (closed != 1009 && closed != 0)
		fail_msg("a 1.1 MB login: close code %d (want 1009, or closed)", closed);
	rkc_close(c2);
	free(pw);

	/* The server goes on serving; nothing was changed. */
	expect_ok(h_whoami_env(c), RENKEI__V1__ENVELOPE__BODY_WHOAMI_RESPONSE);
	rkc_close(c);
	demo_password_works("ccc.sasaki");
}

/* ------------------------------------------------------------ the floor */

/* A command's exit status (want -1: any but 0) and what it said; frees
 * out. */
static void
expect_said(const char *what, int rc, int want, char *out, const char *words)
{
	int good = (want == -1 ? rc != 0 : rc == want) && out != NULL &&
	           strstr(out, words) != NULL;
	char said[600];

	snprintf(said, sizeof(said), "%s", out != NULL ? out : "(nothing)");
	free(out);
	if (!good)
		fail_msg("%s: exit %d (want %d), said: %s", what, rc, want, said);
}

static void
test_argon2_floor(void **state)
{
	char path[400], cmd[1400], *out = NULL;
	json_t *root, *users;
	sqlite3 *db;
	int rc;

	(void)state;
	/* A hash below OWASP's floor (t 1, m 4096 KiB) is refused with the
	 * whole file, however the server is set. */
	snprintf(path, sizeof(path), "%s/weak-ward.json", srv->dir);
	root = json_object();
	users = json_array();
	json_array_append_new(users, json_pack("{s:s,s:s,s:s,s:s,s:s}", "login", "ns.weak",
	                                       "name", "弱井 看子", "profession", "nurse",
	                                       "org", "org-vn-tanpopo", "password_hash",
	                                       "$argon2id$v=19$m=4096,t=1,p=1$"
	                                       "c2FsdHNhbHRzYWx0c2FsdA$"
	                                       "aOJaI7vUM9/qm6/8sgni9fVmwMtEMUdxlpUqY5SGAGE"));
	json_object_set_new(root, "users", users);
	assert_int_equal(json_dump_file(root, path, 0), 0);
	json_decref(root);
	snprintf(cmd, sizeof(cmd), "env -u RENKEI_ARGON2_TEST_COST %s import --data %s %s",
	         h_server_bin(), srv->dir, path);
	rc = h_sh(cmd, &out);
	expect_said("import of a weak hash", rc, -1, out, "weaker than OWASP's floor");
	db = h_db_open(srv);
	assert_non_null(db);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM users WHERE login = 'ns.weak'"), 0);
	sqlite3_close(db);

	/* Settings below it are refused at start, with the reason. */
	snprintf(cmd, sizeof(cmd),
	         "env -u RENKEI_ARGON2_TEST_COST %s import --data %s --argon2-m-kib 64 %s",
	         h_server_bin(), srv->dir, path);
	rc = h_sh(cmd, &out);
	expect_said("import --argon2-m-kib 64", rc, 2, out,
	            "argon2_m_kib: 64 is below 19456, OWASP's floor");
	snprintf(cmd, sizeof(cmd), "env -u RENKEI_ARGON2_TEST_COST %s serve --data %s --argon2-t 1",
	         h_server_bin(), srv->dir);
	rc = h_sh(cmd, &out);
	expect_said("serve --argon2-t 1", rc, 2, out, "argon2_t: 1 is below 2, OWASP's floor");
}

/* ------------------------------------------------------------------ CLI */

/* Run the CLI with config folder `cfg` and stdin `input` (NULL: none).
 * Exit status; output (stdout and stderr) in *out. */
static int
cli(const char *cfg, const char *input, const char *args, char **out)
{
	char cmd[2000];

	snprintf(cmd, sizeof(cmd),
	         "printf '%s' | RENKEI_CONFIG_DIR=%s %s --server %s --ca %s %s",
	         input != NULL ? input : "", cfg, RENKEI_CLI_BIN, srv->url, srv->ca, args);
	return h_sh(cmd, out);
}

static void
expect_cli(const char *cfg, const char *input, const char *args, int status,
           const char *words)
{
	char *out = NULL, said[1000];
	int rc = cli(cfg, input, args, &out);
	int good = rc == status &&
	           (words == NULL || (out != NULL && strstr(out, words) != NULL));

	snprintf(said, sizeof(said), "%s", out != NULL ? out : "");
	free(out);
	if (!good)
		fail_msg("renkei %s: exit %d (want %d), said: %s (want \"%s\")", args, rc,
		         status, said, words ? words : "");
}

/* renkei login with an invitation code, renkei password. */
static void
test_cli(void **state)
{
	char dr[400], fam[400], input[200], *out = NULL, *code;
	json_error_t jerr;
	json_t *doc;

	(void)state;
	snprintf(dr, sizeof(dr), "%s/cli-dr", srv->dir);
	snprintf(fam, sizeof(fam), "%s/cli-family", srv->dir);
	expect_cli(dr, H_DEMO_PASSWORD "\\n", "login --password-stdin dr.tanaka", 0,
	           "Logged in as");
	assert_int_equal(cli(dr, NULL,
	                     "--json family invite pt-yamada family.yamada.cli --name "
	                     "'山田 次郎' --relation '家族（次男）'",
	                     &out),
	                 0);
	doc = json_loads(out, 0, &jerr);
	if (doc == NULL)
		fail_msg("not JSON: %s", out);
	code = strdup(json_string_value(json_object_get(doc, "invitation_code")));
	json_decref(doc);
	free(out);
	assert_int_equal(strlen(code), 24);

	/* The code logs in, and the CLI says what to do. */
	snprintf(input, sizeof(input), "%s\\n", code);
	expect_cli(fam, input, "login --password-stdin family.yamada.cli", 0,
	           "renkei password");
	expect_cli(fam, NULL, "board pt-yamada", 5, "choose your own password first");
	expect_cli(fam, NULL, "whoami", 0, "to do first:   choose your own password");
	/* A wrong current password: not a lost session. */
	expect_cli(fam, "not-the-code\\nyamada-jiro-kaki-27\\n", "password --password-stdin",
	           3, "the current password is wrong");
	snprintf(input, sizeof(input), "%s\\njiro-kaki-no-ki-2026\\n", code);
	expect_cli(fam, input, "password --password-stdin", 0, "Password changed");
	expect_cli(fam, NULL, "board pt-yamada", 0, NULL);
	expect_cli(fam, NULL, "password --help", 0, "--password-stdin");
	free(code);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change),
		cmocka_unit_test(test_wrong_old_password),
		cmocka_unit_test(test_invitation_code),
		cmocka_unit_test(test_staff_one_time_password),
		cmocka_unit_test(test_one_time_password_expires),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_argon2_floor),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
