/* Unit tests: auth/totp (the second factor): RFC 6238's test vectors
 * through liboath, the ±1 step window, replay, formats, enrolment and
 * single-use recovery codes, on a real SQLCipher store. */
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
#include "util/text.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z, a step boundary */
#define STEP_MS (TOTP_STEP_S * 1000LL)

/* RFC 6238 appendix B: the SHA-1 key and its 8-digit codes. */
static const uint8_t rfc_key[] = "12345678901234567890";

static void
test_rfc6238_vectors(void **state)
{
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
		{59, "94287082"},         {1111111109, "07081804"},
		{1111111111, "14050471"}, {1234567890, "89005924"},
		{2000000000, "69279037"}, {20000000000LL, "65353130"},
	};
	char out[9];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_code_at(rfc_key, 20, v[i].t, 8, out), RK_OK);
		assert_string_equal(out, v[i].code);
	}
	/* Six digits are the last six of the same truncation. */
	assert_int_equal(totp_code_at(rfc_key, 20, 59, 6, out), RK_OK);
	assert_string_equal(out, "287082");
}

static void
test_formats(void **state)
{
	char norm[TOTP_RECOVERY_LEN + 1];

	(void)state;
	assert_true(totp_code_format_ok("012345"));
	assert_false(totp_code_format_ok(""));
	assert_false(totp_code_format_ok("12345"));
	assert_false(totp_code_format_ok("1234567"));
	assert_false(totp_code_format_ok("12345a"));
	assert_false(totp_code_format_ok(" 12345"));
	assert_false(totp_code_format_ok("١٢٣٤٥٦")); /* Arabic-Indic digits */
	assert_true(totp_recovery_format_ok("k7m2p-x9rtw", norm));
	assert_string_equal(norm, "k7m2p-x9rtw");
	assert_true(totp_recovery_format_ok("K7M2P-X9RTW", norm));
	assert_string_equal(norm, "k7m2p-x9rtw");
	assert_false(totp_recovery_format_ok("k7m2px9rtw", NULL));
	assert_false(totp_recovery_format_ok("k7m2p-x9rtw1", NULL));
	assert_false(totp_recovery_format_ok("k7m2p_x9rtw", NULL));
	assert_false(totp_recovery_format_ok("k1m2p-x9rtw", NULL)); /* no 1 */
	assert_false(totp_recovery_format_ok("", NULL));
	assert_int_equal(totp_mode_parse("staff"), TOTP_STAFF);
	assert_int_equal(totp_mode_parse("all"), TOTP_ALL);
	assert_int_equal(totp_mode_parse("off"), TOTP_OFF);
	assert_int_equal(totp_mode_parse("Staff"), -1);
	assert_true(totp_required(TOTP_STAFF, PROF_PHYSICIAN, false));
	assert_true(totp_required(TOTP_STAFF, PROF_AUDITOR, false));
	assert_true(totp_required(TOTP_STAFF, PROF_ADMIN, false));
	assert_false(totp_required(TOTP_STAFF, PROF_FAMILY, false));
	assert_true(totp_required(TOTP_STAFF, PROF_FAMILY, true));
	assert_true(totp_required(TOTP_ALL, PROF_FAMILY, false));
	assert_false(totp_required(TOTP_OFF, PROF_PHYSICIAN, true));
}

static void
test_window_and_replay(void **state)
{
	char c[7];
	int64_t now_s = NOW / 1000, step = now_s / TOTP_STEP_S;

	(void)state;
	/* The code of each step of the window matches, at that step. */
	for (int d = -1; d <= 1; d++) {
		assert_int_equal(totp_code_at(rfc_key, 20, now_s + d * TOTP_STEP_S, 6, c),
		                 RK_OK);
		assert_int_equal(totp_match(rfc_key, 20, c, NOW, 0), step + d);
		/* ... but not once that step (or a later one) was used. */
		assert_int_equal(totp_match(rfc_key, 20, c, NOW, step + d), -1);
	}
	/* Two steps away is outside the window, either way. */
	assert_int_equal(totp_code_at(rfc_key, 20, now_s - 2 * TOTP_STEP_S, 6, c), RK_OK);
	assert_int_equal(totp_match(rfc_key, 20, c, NOW, 0), -1);
	assert_int_equal(totp_code_at(rfc_key, 20, now_s + 2 * TOTP_STEP_S, 6, c), RK_OK);
	assert_int_equal(totp_match(rfc_key, 20, c, NOW, 0), -1);
	/* Malformed never matches. */
	assert_int_equal(totp_match(rfc_key, 20, "abcdef", NOW, 0), -1);
}

static void
test_base32_uri(void **state)
{
	char b[TOTP_B32_MAX + 1], uri[TOTP_URI_MAX];

	(void)state;
	assert_int_equal(totp_base32(rfc_key, 20, b), RK_OK);
	assert_string_equal(b, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	totp_uri("dr.tanaka", b, uri);
	assert_string_equal(uri, "otpauth://totp/renkei:dr.tanaka?secret="
	                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=renkei&digits=6"
	                         "&period=30");
}

/* ---------------------------------------------------------------- stored */

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
	int64_t uid, sid;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256], hash[160], tok[AUTH_TOKEN_LEN + 1];
	struct rk_status st = {0};
	struct auth_user u;
	struct auth_limits lim = {.session_max_s = 3600, .session_idle_s = 600};
	int64_t exp;

	unit_tmpdir(f->dir, "totp");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-a", "Clinic", "clinic", "area", &st), RK_OK);
	assert_int_equal(auth_password_hash("pw pw pw pw", 1, 8, hash, sizeof(hash)), RK_OK);
	assert_int_equal(auth_user_add(f->sc, "dr.a", "Dr A", PROF_PHYSICIAN, "org-a", hash, &st),
	                 RK_OK);
	assert_int_equal(auth_user_load(f->sc, "dr.a", 0, &u), RK_OK);
	f->uid = u.id;
	assert_int_equal(auth_session_create(f->sc, u.id, "d", "a", NOW, &lim, tok, &f->sid,
	                                     &exp),
	                 RK_OK);
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

/* The stored secret of the user. */
static void
secret_of(struct fx *f, uint8_t out[TOTP_SECRET_LEN])
{
	sqlite3_stmt *q = store_stmt(f->sc, "SELECT secret FROM totp WHERE user_id = ?");

	sqlite3_bind_int64(q, 1, f->uid);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(q, 0), TOTP_SECRET_LEN);
	memcpy(out, sqlite3_column_blob(q, 0), TOTP_SECRET_LEN);
	sqlite3_reset(q);
}

static void
code_at(const uint8_t *secret, int64_t ms, char c[7])
{
	assert_int_equal(totp_code_at(secret, TOTP_SECRET_LEN, ms / 1000, 6, c), RK_OK);
}

static void
test_enrol_check_recovery(void **state)
{
	struct fx *f = *state;
	char b32[TOTP_B32_MAX + 1], b32b[TOTP_B32_MAX + 1], c[7];
	char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_LEN + 1];
	uint8_t secret[TOTP_SECRET_LEN];
	struct rk_status st = {0};
	struct totp_state s;
	int how;

	/* Nothing yet: nothing to confirm, nothing to check. */
	assert_int_equal(totp_state_load(f->sc, f->uid, &s), RK_OK);
	assert_false(s.has_secret);
	assert_int_equal(totp_enrol_confirm(f->sc, f->uid, f->sid, "123456", NOW, codes, &st),
	                 RK_ERR_PRECONDITION);
	assert_int_equal(totp_check(f->sc, f->uid, "123456", "", NOW, &how, &st),
	                 RK_ERR_PRECONDITION);

	/* Begin twice: a new secret each time, still unconfirmed. */
	assert_int_equal(totp_enrol_begin(f->sc, f->uid, NOW, b32, &st), RK_OK);
	assert_int_equal(strlen(b32), 32);
	assert_int_equal(totp_enrol_begin(f->sc, f->uid, NOW, b32b, &st), RK_OK);
	assert_string_not_equal(b32, b32b);
	secret_of(f, secret);
	assert_int_equal(totp_state_load(f->sc, f->uid, &s), RK_OK);
	assert_true(s.has_secret);
	assert_false(s.confirmed);

	/* A wrong code does not confirm; the right one does, once. */
	code_at(secret, NOW, c);
	c[0] = c[0] == '9' ? '0' : (char)(c[0] + 1);
	assert_int_equal(totp_enrol_confirm(f->sc, f->uid, f->sid, c, NOW, codes, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.field, "code");
	code_at(secret, NOW, c);
	assert_int_equal(totp_enrol_confirm(f->sc, f->uid, f->sid, c, NOW, codes, &st), RK_OK);
	for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
		assert_true(totp_recovery_format_ok(codes[i], NULL));
	assert_string_not_equal(codes[0], codes[1]);
	assert_int_equal(totp_enrol_confirm(f->sc, f->uid, f->sid, c, NOW, codes, &st),
	                 RK_ERR_PRECONDITION);
	assert_int_equal(totp_enrol_begin(f->sc, f->uid, NOW, b32, &st), RK_ERR_PRECONDITION);
	assert_int_equal(totp_state_load(f->sc, f->uid, &s), RK_OK);
	assert_true(s.confirmed);
	assert_true(s.opt_in);
	assert_int_equal(s.recovery_left, TOTP_RECOVERY_COUNT);

	/* The confirming code is used up: refused at login in its window. */
	assert_int_equal(totp_check(f->sc, f->uid, c, "", NOW + 1000, &how, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.field, "totp_code");
	/* The next step's code works once. */
	code_at(secret, NOW + STEP_MS, c);
	assert_int_equal(totp_check(f->sc, f->uid, c, "", NOW + STEP_MS, &how, &st), RK_OK);
	assert_int_equal(how, 1);
	assert_int_equal(totp_check(f->sc, f->uid, c, "", NOW + STEP_MS, &how, &st),
	                 RK_ERR_UNAUTHENTICATED);
	/* The step before it, still in the window, is now too old. */
	code_at(secret, NOW, c);
	assert_int_equal(totp_check(f->sc, f->uid, c, "", NOW + STEP_MS, &how, &st),
	                 RK_ERR_UNAUTHENTICATED);
	/* No code at all: asked for, field totp_code. */
	assert_int_equal(totp_check(f->sc, f->uid, "", "", NOW, &how, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.field, "totp_code");

	/* Each recovery code works once, in either case. */
	assert_int_equal(totp_check(f->sc, f->uid, "", codes[3], NOW, &how, &st), RK_OK);
	assert_int_equal(how, 2);
	assert_int_equal(totp_check(f->sc, f->uid, "", codes[3], NOW, &how, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_string_equal(st.field, "recovery_code");
	for (char *p = codes[4]; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(totp_check(f->sc, f->uid, "", codes[4], NOW, &how, &st), RK_OK);
	assert_int_equal(totp_check(f->sc, f->uid, "", "22222-22222", NOW, &how, &st),
	                 RK_ERR_UNAUTHENTICATED);
	assert_int_equal(totp_state_load(f->sc, f->uid, &s), RK_OK);
	assert_int_equal(s.recovery_left, TOTP_RECOVERY_COUNT - 2);

	/* An admin reset forgets it all. */
	assert_int_equal(auth_totp_forget(f->sc, f->uid, NOW), RK_OK);
	assert_int_equal(totp_state_load(f->sc, f->uid, &s), RK_OK);
	assert_false(s.has_secret);
	assert_int_equal(s.recovery_left, 0);
	store_conn_release(f->sc);
}

/* Confirming ends the user's other sessions that never showed a factor. */
static void
test_confirm_ends_password_only_sessions(void **state)
{
	struct fx *f = *state;
	struct auth_limits lim = {.session_max_s = 3600, .session_idle_s = 600};
	char b32[TOTP_B32_MAX + 1], c[7], tok[AUTH_TOKEN_LEN + 1];
	char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_LEN + 1];
	uint8_t secret[TOTP_SECRET_LEN];
	struct rk_status st = {0};
	int64_t other, exp;
	sqlite3_stmt *q;

	assert_int_equal(auth_session_create(f->sc, f->uid, "d2", "a", NOW, &lim, tok, &other,
	                                     &exp),
	                 RK_OK);
	assert_int_equal(totp_enrol_begin(f->sc, f->uid, NOW, b32, &st), RK_OK);
	secret_of(f, secret);
	code_at(secret, NOW, c);
	assert_int_equal(totp_enrol_confirm(f->sc, f->uid, f->sid, c, NOW, codes, &st), RK_OK);
	assert_int_equal(auth_session_live(f->sc, f->uid, f->sid), RK_OK);
	assert_int_equal(auth_session_live(f->sc, f->uid, other), RK_ERR_UNAUTHENTICATED);
	q = store_stmt(f->sc, "SELECT second_factor FROM sessions WHERE id = ?");
	sqlite3_bind_int64(q, 1, f->sid);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	sqlite3_reset(q);
	store_conn_release(f->sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_window_and_replay),
		cmocka_unit_test(test_base32_uri),
		cmocka_unit_test_setup_teardown(test_enrol_check_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm_ends_password_only_sessions, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
