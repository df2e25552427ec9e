/* Unit tests: auth/ (passwords, logins, organisations and users, throttling,
 * sessions, and the stand-in hash for unknown logins), on a real SQLCipher
 * store in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_store.h"

#include "auth/auth.h"
#include "store/store.h"
#include "util/text.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z */

/* The cheapest argon2id libargon2 accepts: 1 pass, 8 KiB. */
#define T_LOW 1
#define M_LOW 8

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
	struct auth_limits lim;
};

static void
add_user(struct fx *f, const char *login, const char *password,
         enum profession prof, const char *org)
{
	char hash[160];
	struct rk_status st = {0};

	assert_int_equal(auth_password_hash(password, T_LOW, M_LOW, hash, sizeof(hash)),
	                 RK_OK);
	assert_int_equal(auth_user_add(f->sc, login, login, prof, org, hash, &st), RK_OK);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	struct rk_status st = {0};

	unit_tmpdir(f->dir, "auth");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	f->lim = (struct auth_limits){.max_failures = 3,
	                              .max_failures_address = 12,
	                              .delay_s = 60,
	                              .delay_max_s = 300,
	                              .quiet_s = 900,
	                              .session_max_s = 3600,
	                              .session_idle_s = 600,
	                              .argon2_t = T_LOW,
	                              .argon2_m_kib = M_LOW};
	assert_int_equal(auth_org_add(f->sc, "org-a", "みどり在宅クリニック", "clinic",
	                              "光が丘", &st),
	                 RK_OK);
	add_user(f, "dr.a", "correct horse", PROF_PHYSICIAN, "org-a");
	add_user(f, "fam.a", "family pw", PROF_FAMILY, NULL);
	store_conn_release(f->sc);
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

/* The m= and t= of an encoded argon2id hash; false if it is not one. */
static bool
argon2_params(const char *enc, int *m, int *t)
{
	int v = 0, p = 0, n = 0;

	if (sscanf(enc, "$argon2id$v=%d$m=%d,t=%d,p=%d$%n", &v, m, t, &p, &n) != 4 ||
	    n == 0)
		return false;
	return v == 19 && p == 1 && strlen(enc) > (size_t)n;
}

/* ---------------------------------------------------------------- passwords */

static void
test_password_round_trip(void **state)
{
	char hash[160], again[160];
	int m = 0, t = 0;

	(void)state;
	assert_int_equal(auth_password_hash("s3cret パス", T_LOW, M_LOW, hash, sizeof(hash)),
	                 RK_OK);
	assert_true(argon2_params(hash, &m, &t));
	assert_int_equal(m, M_LOW);
	assert_int_equal(t, T_LOW);
	assert_true(auth_password_verify(hash, "s3cret パス"));
	assert_false(auth_password_verify(hash, "s3cret パ"));
	assert_false(auth_password_verify(hash, ""));
	assert_false(auth_password_verify(hash, "S3cret パス"));
	/* A fresh salt each time: same password, different encoding. */
	assert_int_equal(auth_password_hash("s3cret パス", T_LOW, M_LOW, again, sizeof(again)),
	                 RK_OK);
	assert_string_not_equal(hash, again);
	assert_true(auth_password_verify(again, "s3cret パス"));
	/* Not a hash at all. */
	assert_false(auth_password_verify("x", "x"));
	assert_false(auth_password_verify("", ""));
}

static void
test_password_hash_bad_settings(void **state)
{
	char hash[160], tiny[8];

	(void)state;
	/* Below argon2's minimum memory, and no room for the encoding. */
	assert_int_equal(auth_password_hash("pw", T_LOW, 1, hash, sizeof(hash)),
	                 RK_ERR_CRYPTO);
	assert_int_equal(auth_password_hash("pw", 0, M_LOW, hash, sizeof(hash)),
	                 RK_ERR_CRYPTO);
	assert_int_equal(auth_password_hash("pw", T_LOW, M_LOW, tiny, sizeof(tiny)),
	                 RK_ERR_CRYPTO);
}

static void
test_profession_names(void **state)
{
	(void)state;
	for (int p = 1; p < PROF__COUNT; p++)
		assert_int_equal(auth_profession_parse(auth_profession_name(p)), p);
	assert_string_equal(auth_profession_name(PROF_NURSE), "nurse");
	assert_string_equal(auth_profession_name(PROF_CARE_MANAGER), "care_manager");
	assert_string_equal(auth_profession_name(0), "unknown");
	assert_string_equal(auth_profession_name(PROF__COUNT), "unknown");
	assert_string_equal(auth_profession_name(-1), "unknown");
	assert_int_equal(auth_profession_parse("Physician"), PROF_NONE);
	assert_int_equal(auth_profession_parse(""), PROF_NONE);
	assert_int_equal(auth_profession_parse("unknown"), PROF_NONE);
}

static void
test_login_valid(void **state)
{
	char max[AUTH_LOGIN_MAX + 2];
	static const struct {
		const char *login;
		bool ok;
	} cases[] = {
		{"a", true},          {"dr.tanaka", true},   {"0", true},
		{"9lives", true},     {"a-b_c.d", true},     {"n.sato-2", true},
		{"", false},          {"A", false},          {"drTanaka", false},
		{".a", false},        {"-a", false},         {"_a", false},
		{"a b", false},       {"a/b", false},        {"a@b", false},
		{"a\tb", false},      {"é", false},          {"a\xe3\x81\x82", false},
		{"a+b", false},       {"a:b", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (auth_login_valid(cases[i].login) != cases[i].ok)
			fail_msg("auth_login_valid(\"%s\") should be %d", cases[i].login,
			         cases[i].ok);
	}
	memset(max, 'a', sizeof(max));
	max[AUTH_LOGIN_MAX] = '\0';
	assert_true(auth_login_valid(max));
	max[AUTH_LOGIN_MAX] = 'a';
	max[AUTH_LOGIN_MAX + 1] = '\0';
	assert_false(auth_login_valid(max));
}

/* ------------------------------------------------------ organisations, users */

static void
test_org_user_add_load_disable(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u, by_id;

	/* The organisation's rules. */
	assert_int_equal(auth_org_add(f->sc, "org-a", "again", "clinic", "", &st),
	                 RK_ERR_EXISTS);
	assert_string_equal(st.field, "code");
	assert_int_equal(auth_org_add(f->sc, "Org B", "B", NULL, NULL, &st), RK_ERR_INVALID);
	assert_string_equal(st.field, "code");
	assert_int_equal(auth_org_add(f->sc, "org-b", "", NULL, NULL, &st), RK_ERR_INVALID);
	assert_string_equal(st.field, "name");
	assert_int_equal(auth_org_add(f->sc, "org-b", "two\nlines", NULL, NULL, &st),
	                 RK_ERR_INVALID);
	assert_int_equal(auth_org_add(f->sc, "org-b", "B", NULL, NULL, &st), RK_OK);

	/* The user's rules. */
	assert_int_equal(auth_user_add(f->sc, "dr.a", "dup", PROF_PHYSICIAN, "org-a", "x", &st),
	                 RK_ERR_EXISTS);
	assert_string_equal(st.field, "login");
	assert_int_equal(auth_user_add(f->sc, "Dr", "x", PROF_PHYSICIAN, "org-a", "x", &st),
	                 RK_ERR_INVALID);
	assert_string_equal(st.field, "login");
	assert_int_equal(auth_user_add(f->sc, "ns.b", "", PROF_NURSE, "org-a", "x", &st),
	                 RK_ERR_INVALID);
	assert_string_equal(st.field, "name");
	assert_int_equal(auth_user_add(f->sc, "ns.b", "b", PROF_NONE, "org-a", "x", &st),
	                 RK_ERR_INVALID);
	assert_string_equal(st.field, "profession");
	assert_int_equal(auth_user_add(f->sc, "ns.b", "b", PROF__COUNT, "org-a", "x", &st),
	                 RK_ERR_INVALID);
	assert_int_equal(auth_user_add(f->sc, "ns.b", "b", PROF_NURSE, "org-x", "x", &st),
	                 RK_ERR_NOT_FOUND);
	assert_string_equal(st.field, "org");
	/* Every professional belongs to an organisation; family need not. */
	assert_int_equal(auth_user_add(f->sc, "ns.b", "b", PROF_NURSE, NULL, "x", &st),
	                 RK_ERR_INVALID);
	assert_string_equal(st.field, "org");
	assert_int_equal(auth_user_add(f->sc, "ns.b", "b", PROF_NURSE, "", "x", &st),
	                 RK_ERR_INVALID);
	assert_int_equal(auth_user_add(f->sc, "ns.b", "看護 花子", PROF_NURSE, "org-b", "x", &st),
	                 RK_OK);

	/* Load by login and by id. */
	assert_int_equal(auth_user_load(f->sc, "ns.b", 0, &u), RK_OK);
	assert_true(u.id > 0);
	assert_string_equal(u.login, "ns.b");
	assert_string_equal(u.display_name, "看護 花子");
	assert_int_equal(u.profession, PROF_NURSE);
	assert_false(u.disabled);
	assert_true(u.org_id > 0);
	assert_string_equal(u.org_code, "org-b");
	assert_string_equal(u.org_name, "B");
	assert_int_equal(auth_user_load(f->sc, NULL, u.id, &by_id), RK_OK);
	assert_memory_equal(&u, &by_id, sizeof(u));

	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	assert_string_equal(u.org_code, "org-a");
	assert_string_equal(u.org_name, "みどり在宅クリニック");
	assert_string_equal(u.org_kind, "clinic");
	assert_int_equal(auth_user_load(f->sc, "fam.a", 0, &u), RK_OK);
	assert_int_equal(u.profession, PROF_FAMILY);
	assert_int_equal(u.org_id, 0);
	assert_string_equal(u.org_code, "");

	assert_int_equal(auth_user_load(f->sc, "nobody", 0, &u), RK_ERR_NOT_FOUND);
	assert_int_equal(auth_user_load(f->sc, NULL, 999999, &u), RK_ERR_NOT_FOUND);

	/* Disable. */
	assert_int_equal(auth_user_disable(f->sc, "ns.b", NOW, &st), RK_OK);
	assert_int_equal(auth_user_load(f->sc, "ns.b", 0, &u), RK_OK);
	assert_true(u.disabled);
	assert_int_equal(auth_user_disable(f->sc, "nobody", NOW, &st), RK_ERR_NOT_FOUND);
	assert_string_equal(st.field, "login");
	store_conn_release(f->sc);
}

/* ------------------------------------------------------------------- login */

static void
test_login_check(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u;

	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.1", "correct horse", NOW, &f->lim,
	                                  &u, &st),
	                 RK_OK);
	assert_string_equal(u.login, "dr.a");
	assert_int_equal(u.profession, PROF_PHYSICIAN);
	assert_string_equal(u.org_code, "org-a");
	assert_true(u.id > 0);

	st = (struct rk_status){0};
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.1", "wrong horse", NOW, &f->lim,
	                                  &u, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(st.err, RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.msg, "wrong login or password");
	/* A wrong password still says who it was (for the audit record). */
	assert_string_equal(u.login, "dr.a");

	/* An unknown login: the same answer, and no user. */
	st = (struct rk_status){0};
	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(auth_login_check(f->sc, "nobody", "192.0.2.1", "correct horse", NOW, &f->lim,
	                                  &u, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.msg, "wrong login or password");
	assert_int_equal(u.id, 0);
	/* Not even with the stand-in's own password. */
	assert_int_equal(auth_login_check(f->sc, "nobody", "192.0.2.1", "renkei-no-such-user", NOW,
	                                  &f->lim, &u, &st),
	                 RK_ERR_UNAUTHENTICATED);

	/* A disabled user cannot log in, even with the right password. */
	assert_int_equal(auth_user_disable(f->sc, "dr.a", NOW, &st), RK_OK);
	st = (struct rk_status){0};
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.1", "correct horse", NOW, &f->lim,
	                                  &u, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.msg, "wrong login or password");
	store_conn_release(f->sc);
}

/* Logins are slowed per (login, address) and per address, never locked:
 * waits double up to the cap, attempts during a wait are not counted,
 * quiet time forgets, another address is not affected, a success clears
 * its own count, unlock clears a login, and a spray of one login from
 * many addresses is flagged. */
static void
test_throttle(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u;
	int64_t t = NOW;
	bool attack;

#define CHECK(login, pw, addr, at) \
	auth_login_check(f->sc, (login), (addr), (pw), (at), &f->lim, &u, &st)
#define FAIL(login, addr, at) \
	assert_int_equal(auth_login_failed(f->sc, (login), (addr), (at), &f->lim, \
	                                   &attack), RK_OK)

	/* max_failures failures from A: no wait yet. */
	for (int i = 0; i < f->lim.max_failures; i++)
		FAIL("dr.a", "192.0.2.1", t);
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.1", t), RK_OK);
	/* One more: a wait of delay_s, for that login from that address. */
	FAIL("dr.a", "192.0.2.1", t);
	st = (struct rk_status){0};
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.1", t),
	                 RK_ERR_EXHAUSTED);
	assert_int_equal(st.retry_after_ms, 60000);
	assert_non_null(strstr(st.msg, "wait"));
	/* The doctor still logs in from anywhere else. */
	assert_int_equal(CHECK("dr.a", "correct horse", "198.51.100.7", t), RK_OK);
	/* Attempts during the wait are not counted, nor stretch it. */
	for (int i = 0; i < 5; i++)
		FAIL("dr.a", "192.0.2.1", t + 1000);
	t += 60000;
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.1", t), RK_OK);
	/* Each further failure doubles the wait, up to delay_max_s. */
	{
		static const int64_t want[] = {120000, 240000, 300000, 300000};
		for (size_t i = 0; i < 4; i++) {
			FAIL("dr.a", "192.0.2.1", t);
			assert_int_equal(CHECK("dr.a", "x", "192.0.2.1", t),
			                 RK_ERR_EXHAUSTED);
			assert_int_equal(st.retry_after_ms, want[i]);
			t += want[i];
		}
	}
	/* Quiet for quiet_s: forgotten, a failure is free again. */
	t += 900 * 1000LL + 1;
	FAIL("dr.a", "192.0.2.1", t);
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.1", t), RK_OK);
	/* unlock forgets the login everywhere; unknown logins are refused. */
	for (int i = 0; i < 4; i++)
		FAIL("dr.a", "192.0.2.1", t);
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.1", t),
	                 RK_ERR_EXHAUSTED);
	assert_int_equal(auth_login_unlock(f->sc, "dr.a"), RK_OK);
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.1", t), RK_OK);
	assert_int_equal(auth_login_unlock(f->sc, "nobody"), RK_ERR_NOT_FOUND);

	/* One address trying many logins waits after max_failures_address,
	 * for every login (known or not); other addresses do not. */
	for (int i = 0; i < f->lim.max_failures_address; i++) {
		char login[16];
		snprintf(login, sizeof(login), "guess%d", i);
		FAIL(login, "203.0.113.9", t);
	}
	assert_int_equal(CHECK("fam.a", "family pw", "203.0.113.9", t), RK_OK);
	FAIL("guess-last", "203.0.113.9", t);
	assert_int_equal(CHECK("fam.a", "family pw", "203.0.113.9", t),
	                 RK_ERR_EXHAUSTED);
	assert_int_equal(CHECK("fam.a", "family pw", "203.0.113.10", t), RK_OK);

	/* A success clears its own count. */
	int64_t sid, exp;
	char token[AUTH_TOKEN_LEN + 1];
	t += 900 * 1000LL + 1;
	for (int i = 0; i < f->lim.max_failures; i++)
		FAIL("dr.a", "192.0.2.2", t);
	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "dev", "192.0.2.2", t,
	                                     &f->lim, token, &sid, &exp),
	                 RK_OK);
	for (int i = 0; i < f->lim.max_failures; i++)
		FAIL("dr.a", "192.0.2.2", t);
	assert_int_equal(CHECK("dr.a", "correct horse", "192.0.2.2", t), RK_OK);

	/* One login from many addresses, once each: flagged at 4 x
	 * max_failures recent failures in all, not before. */
	t += 900 * 1000LL + 1;
	for (int i = 1; i <= 4 * f->lim.max_failures; i++) {
		char addr[24];
		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		FAIL("ns.a", addr, t);
		assert_int_equal(attack, i == 4 * f->lim.max_failures);
	}
#undef CHECK
#undef FAIL
	store_conn_release(f->sc);
}

/* ---------------------------------------------------------------- sessions */

static void
test_sessions(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u;
	struct auth_session s;
	char token[AUTH_TOKEN_LEN + 1], token2[AUTH_TOKEN_LEN + 1], bad[AUTH_TOKEN_LEN + 1];
	int64_t sid = 0, sid2 = 0, exp = 0;

	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "iPad", "192.0.2.1", NOW, &f->lim,
	                                     token, &sid, &exp),
	                 RK_OK);
	assert_true(sid > 0);
	assert_true(exp == NOW + f->lim.session_max_s * 1000LL);
	assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
	for (size_t i = 0; i < AUTH_TOKEN_LEN; i++) {
		char c = token[i];
		assert_true((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || c == '-' || c == '_');
	}
	assert_int_equal(auth_session_create(f->sc, u.id, "phone", "", NOW, &f->lim, token2,
	                                     &sid2, &exp),
	                 RK_OK);
	assert_int_not_equal(sid, sid2);
	assert_string_not_equal(token, token2);

	memset(&s, 0, sizeof(s));
	assert_int_equal(auth_session_resume(f->sc, token, NOW + 1000, &f->lim, &s), RK_OK);
	assert_int_equal(s.id, sid);
	assert_int_equal(s.expires_ms, NOW + f->lim.session_max_s * 1000LL);
	assert_int_equal(s.last_seen_ms, NOW);
	assert_string_equal(s.user.login, "dr.a");
	assert_int_equal(s.user.id, u.id);

	/* Not a token: wrong length, one character off, empty. */
	assert_int_equal(auth_session_resume(f->sc, "", NOW, &f->lim, &s),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_resume(f->sc, "abc", NOW, &f->lim, &s),
	                 RK_ERR_UNAUTHENTICATED);
	memcpy(bad, token, sizeof(bad));
	bad[5] = bad[5] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_session_resume(f->sc, bad, NOW, &f->lim, &s),
	                 RK_ERR_UNAUTHENTICATED);

	/* Idle past the limit, then touched: the idle clock restarts. */
	int64_t idle = f->lim.session_idle_s * 1000LL;
	assert_int_equal(auth_session_resume(f->sc, token, NOW + idle, &f->lim, &s),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_resume(f->sc, token, NOW + idle - 1, &f->lim, &s),
	                 RK_OK);
	assert_int_equal(auth_session_touch(f->sc, sid, NOW + idle - 1), RK_OK);
	assert_int_equal(auth_session_resume(f->sc, token, NOW + idle + 1000, &f->lim, &s),
	                 RK_OK);
	assert_int_equal(s.last_seen_ms, NOW + idle - 1);
	/* Touch never moves the clock back. */
	assert_int_equal(auth_session_touch(f->sc, sid, NOW), RK_OK);
	assert_int_equal(auth_session_resume(f->sc, token, NOW + idle + 1000, &f->lim, &s),
	                 RK_OK);
	assert_int_equal(s.last_seen_ms, NOW + idle - 1);

	/* The absolute end, however recently used. */
	struct auth_limits lax = f->lim;
	lax.session_idle_s = 10 * f->lim.session_max_s;
	assert_int_equal(auth_session_resume(f->sc, token,
	                                     NOW + f->lim.session_max_s * 1000LL - 1, &lax, &s),
	                 RK_OK);
	assert_int_equal(auth_session_resume(f->sc, token,
	                                     NOW + f->lim.session_max_s * 1000LL, &lax, &s),
	                 RK_ERR_UNAUTHENTICATED);

	/* End: gone; ending again is fine; the other session lives on. */
	assert_int_equal(auth_session_end(f->sc, sid, NOW + 2000, "logout"), RK_OK);
	assert_int_equal(auth_session_resume(f->sc, token, NOW + 3000, &f->lim, &s),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_end(f->sc, sid, NOW + 4000, "logout"), RK_OK);
	assert_int_equal(auth_session_resume(f->sc, token2, NOW + 3000, &f->lim, &s), RK_OK);
	assert_int_equal(s.id, sid2);

	/* Disabling the user ends every session, and no new one opens. */
	assert_int_equal(auth_user_disable(f->sc, "dr.a", NOW + 5000, &st), RK_OK);
	assert_int_equal(auth_session_resume(f->sc, token2, NOW + 6000, &f->lim, &s),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_create(f->sc, u.id, "x", "", NOW + 7000, &f->lim,
	                                     token, &sid, &exp),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_session_create(f->sc, 999999, "x", "", NOW, &f->lim, token,
	                                     &sid, &exp),
	                 RK_ERR_UNAUTHENTICATED);
	store_conn_release(f->sc);
}

/* --------------------------------------------- the stand-in for unknown logins */

static void
expect_dummy(int t, int m_kib, char *out, size_t outlen)
{
	int m = 0, tt = 0;

	assert_int_equal(auth_dummy_hash(t, m_kib, out, outlen), RK_OK);
	if (!argon2_params(out, &m, &tt))
		fail_msg("not an argon2id hash: \"%s\"", out);
	if (m != m_kib || tt != t)
		fail_msg("auth_dummy_hash(t=%d, m=%d) made \"%s\" (t=%d, m=%d)", t, m_kib,
		         out, tt, m);
}

/* The stand-in hash is made with exactly the settings asked, and remade
 * when they change, so that an unknown login costs what a real one does. */
static void
test_dummy_hash_uses_settings(void **state)
{
	char a[160], b[160], c[160], d[160];

	(void)state;
	expect_dummy(1, 8, a, sizeof(a));
	expect_dummy(3, 64, b, sizeof(b));
	expect_dummy(2, 16, c, sizeof(c));
	expect_dummy(1, 8, d, sizeof(d));
	/* Remade (fresh salt), not an old one handed back. */
	assert_string_not_equal(a, d);
	/* Asked again with the same settings: the same one, not remade. */
	expect_dummy(1, 8, a, sizeof(a));
	assert_string_equal(a, d);
	/* It is a real hash: of the stand-in password only. */
	assert_true(auth_password_verify(d, "renkei-no-such-user"));
	assert_false(auth_password_verify(d, ""));
	/* Bad settings fail, and leave nothing usable behind. */
	assert_int_equal(auth_dummy_hash(1, 1, a, sizeof(a)), RK_ERR_CRYPTO);
	assert_string_equal(a, "");
	expect_dummy(1, 8, a, sizeof(a));
}

/* An unknown login is verified against a stand-in made with the limits'
 * argon2 settings (not some fixed cost). */
static void
test_unknown_login_uses_configured_cost(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u;
	char before[160], after[160];
	static const int settings[][2] = {{2, 16}, {3, 64}, {1, 8}};

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		struct auth_limits lim = f->lim;
		lim.argon2_t = settings[i][0];
		lim.argon2_m_kib = settings[i][1];
		/* Other settings first, so that the slot holds something else. */
		expect_dummy(1, 32, before, sizeof(before));
		assert_int_equal(auth_login_check(f->sc, "nobody", "192.0.2.1", "pw", NOW, &lim, &u, &st),
		                 RK_ERR_UNAUTHENTICATED);
		expect_dummy(lim.argon2_t, lim.argon2_m_kib, before, sizeof(before));
		/* The check made it (the slot keeps one): checking again with the
		 * same settings leaves exactly that hash there. */
		assert_int_equal(auth_login_check(f->sc, "nobody2", "192.0.2.1", "pw", NOW, &lim, &u, &st),
		                 RK_ERR_UNAUTHENTICATED);
		expect_dummy(lim.argon2_t, lim.argon2_m_kib, after, sizeof(after));
		assert_string_equal(before, after);
	}
	/* A known login leaves the stand-in alone. */
	expect_dummy(2, 16, before, sizeof(before));
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.1", "correct horse", NOW, &f->lim, &u,
	                                  &st),
	                 RK_OK);
	expect_dummy(2, 16, after, sizeof(after));
	assert_string_equal(before, after);
	store_conn_release(f->sc);
}

/* ------------------------------------------------- account administration */

static int64_t
open_sessions(struct fx *f, int64_t user_id)
{
	sqlite3_stmt *q = store_stmt(f->sc, "SELECT count(*) FROM sessions WHERE"
	                                    " user_id = ? AND ended_ms IS NULL");
	int64_t n;

	assert_non_null(q);
	sqlite3_bind_int64(q, 1, user_id);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return n;
}

static int
must_change(struct fx *f, int64_t user_id)
{
	sqlite3_stmt *q = store_stmt(f->sc, "SELECT must_change_password FROM users"
	                                    " WHERE id = ?");
	int v;

	assert_non_null(q);
	sqlite3_bind_int64(q, 1, user_id);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return v;
}

/* One-time passwords, reset, enable, ending a user's other sessions and
 * forgetting a second factor. */
static void
test_account_admin(void **state)
{
	struct fx *f = *state;
	struct rk_status st = {0};
	struct auth_user u;
	char token[AUTH_TOKEN_LEN + 1], otp[AUTH_ONE_TIME_LEN + 1], otp2[AUTH_ONE_TIME_LEN + 1];
	int64_t s1 = 0, s2 = 0, s3 = 0, exp = 0;
	sqlite3_stmt *q;

	/* The shape: xxxx-xxxx-xxxx-xxxx-xxxx, no look-alikes; never twice. */
	auth_one_time_password(otp);
	auth_one_time_password(otp2);
	assert_int_equal(strlen(otp), AUTH_ONE_TIME_LEN);
	assert_string_not_equal(otp, otp2);
	for (size_t i = 0; i < AUTH_ONE_TIME_LEN; i++) {
		if (i % 5 == 4)
			assert_int_equal(otp[i], '-');
		else
			assert_null(strchr("01ilo-", otp[i]));
	}

	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "a", "", NOW, &f->lim, token, &s1, &exp),
	                 RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "b", "", NOW, &f->lim, token, &s2, &exp),
	                 RK_OK);
	assert_int_equal(auth_session_create(f->sc, u.id, "c", "", NOW, &f->lim, token, &s3, &exp),
	                 RK_OK);

	/* All but the one kept. */
	assert_int_equal(auth_sessions_end_user(f->sc, u.id, s2, NOW + 1, "password changed"),
	                 RK_OK);
	assert_int_equal(open_sessions(f, u.id), 1);
	assert_int_equal(auth_session_live(f->sc, u.id, s2), RK_OK);
	assert_int_equal(auth_session_live(f->sc, u.id, s1), RK_ERR_UNAUTHENTICATED);

	/* A reset: the old password no longer works, the one-time one does
	 * and must be changed; every session ends. */
	assert_int_equal(must_change(f, u.id), 0);
	{
		int64_t stamp = -1;
		assert_int_equal(auth_password_stamp(f->sc, "dr.a", 0, &stamp), RK_OK);
		assert_int_equal(stamp, 0); /* never replaced */
	}
	assert_int_equal(auth_password_reset(f->sc, u.id, T_LOW, M_LOW, NOW + 2, otp), RK_OK);
	{
		/* A reset replaces it: a login checked before sees another stamp. */
		int64_t stamp = 0;
		assert_int_equal(auth_password_stamp(f->sc, NULL, u.id, &stamp), RK_OK);
		assert_int_equal(stamp, NOW + 2);
		assert_int_equal(auth_password_stamp(f->sc, "nobody", 0, &stamp),
		                 RK_ERR_NOT_FOUND);
	}
	assert_int_equal(open_sessions(f, u.id), 0);
	assert_int_equal(must_change(f, u.id), 1);
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.9", "correct horse", NOW + 3,
	                                  &f->lim, &u, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.9", otp, NOW + 3, &f->lim, &u,
	                                  &st),
	                 RK_OK);
	q = store_stmt(f->sc, "SELECT end_reason FROM sessions WHERE id = ?");
	sqlite3_bind_int64(q, 1, s2);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "password reset");
	sqlite3_reset(q);
	assert_int_equal(auth_password_reset(f->sc, 999999, T_LOW, M_LOW, NOW, otp2),
	                 RK_ERR_NOT_FOUND);
	/* Issued at NOW + 2: good for the age given, not a millisecond more. */
	{
		bool expired = true;
		assert_int_equal(auth_one_time_expired(f->sc, u.id, NOW + 2 + 1000, 1000,
		                                       &expired),
		                 RK_OK);
		assert_false(expired);
		assert_int_equal(auth_one_time_expired(f->sc, u.id, NOW + 2 + 1001, 1000,
		                                       &expired),
		                 RK_OK);
		assert_true(expired);
		assert_int_equal(auth_one_time_expired(f->sc, 999999, NOW, 1000, &expired),
		                 RK_ERR_NOT_FOUND);
	}

	/* A second factor forgotten: its rows go, sessions end. */
	assert_int_equal(auth_session_create(f->sc, u.id, "d", "", NOW, &f->lim, token, &s1, &exp),
	                 RK_OK);
	q = store_stmt(f->sc, "INSERT INTO totp(user_id, secret, created_ms) VALUES (?, x'00', 1)");
	sqlite3_bind_int64(q, 1, u.id);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	q = store_stmt(f->sc, "INSERT INTO totp_recovery(user_id, code_hash) VALUES (?, x'00')");
	sqlite3_bind_int64(q, 1, u.id);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	assert_int_equal(auth_totp_forget(f->sc, u.id, NOW + 4), RK_OK);
	assert_int_equal(open_sessions(f, u.id), 0);
	q = store_stmt(f->sc, "SELECT (SELECT count(*) FROM totp) + (SELECT count(*) FROM"
	                      " totp_recovery)");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_reset(q);
	assert_int_equal(auth_totp_forget(f->sc, 999999, NOW), RK_ERR_NOT_FOUND);

	/* Disable, then enable: logins work again. */
	assert_int_equal(auth_user_disable(f->sc, "dr.a", NOW + 5, &st), RK_OK);
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.9", otp, NOW + 6, &f->lim, &u,
	                                  &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(auth_user_enable(f->sc, "dr.a", &st), RK_OK);
	assert_int_equal(auth_login_check(f->sc, "dr.a", "192.0.2.9", otp, NOW + 7, &f->lim, &u,
	                                  &st),
	                 RK_OK);
	assert_int_equal(auth_user_enable(f->sc, "nobody", &st), RK_ERR_NOT_FOUND);
	store_conn_release(f->sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_round_trip),
		cmocka_unit_test(test_password_hash_bad_settings),
		cmocka_unit_test(test_profession_names),
		cmocka_unit_test(test_login_valid),
		cmocka_unit_test_setup_teardown(test_org_user_add_load_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_admin, setup, teardown),
		cmocka_unit_test(test_dummy_hash_uses_settings),
		cmocka_unit_test_setup_teardown(test_unknown_login_uses_configured_cost, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
