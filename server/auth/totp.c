/*
 * The second factor (totp.h).
 *
 * Why our own window loop rather than oath_totp_validate: replay needs
 * the step a code matched, and a 6-digit code can (rarely) match two
 * steps of the window; we want the newest one after last_step, compared
 * in constant time, so each step's code is made with oath_totp_generate
 * and compared with CRYPTO_memcmp.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include "auth/auth.h"
#include "auth/totp.h"
#include "util/log.h"
#include "util/text.h"

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc = OATH_OK;

static void
oath_start(void)
{
	oath_init_rc = oath_init();
}

static bool
oath_ready(void)
{
	pthread_once(&oath_once, oath_start);
	return oath_init_rc == OATH_OK;
}

int
totp_mode_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "staff") == 0)
		return TOTP_STAFF;
	if (strcmp(s, "all") == 0)
		return TOTP_ALL;
	if (strcmp(s, "off") == 0)
		return TOTP_OFF;
	return -1;
}

bool
totp_required(enum totp_mode mode, int profession, bool opt_in)
{
	switch (mode) {
	case TOTP_ALL:
		return true;
	case TOTP_STAFF:
		return profession != PROF_FAMILY || opt_in;
	default:
		return false;
	}
}

bool
totp_code_format_ok(const char *code)
{
	size_t i;

	for (i = 0; code[i] != '\0'; i++)
		if (i >= TOTP_DIGITS || code[i] < '0' || code[i] > '9')
			return false;
	return i == TOTP_DIGITS;
}

bool
totp_recovery_format_ok(const char *code, char *norm)
{
	char out[TOTP_RECOVERY_LEN + 1];
	size_t i;

	for (i = 0; code[i] != '\0'; i++) {
		char ch = code[i];
		if (i >= TOTP_RECOVERY_LEN)
			return false;
		if (i == 5) {
			if (ch != '-')
				return false;
		} else {
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch == '\0' ||
			    strchr(TOTP_RECOVERY_ALPHABET, ch) == NULL)
				return false;
		}
		out[i] = ch;
	}
	if (i != TOTP_RECOVERY_LEN)
		return false;
	out[i] = '\0';
	if (norm != NULL)
		memcpy(norm, out, sizeof(out));
	return true;
}

int
totp_code_at(const uint8_t *secret, size_t len, int64_t unix_s, unsigned digits,
             char *out)
{
	if (!oath_ready() || unix_s < 0)
		return RK_ERR_CRYPTO;
	if (oath_totp_generate((const char *)secret, len, (time_t)unix_s,
	                       TOTP_STEP_S, OATH_TOTP_DEFAULT_START_TIME,
	                       digits, out) != OATH_OK)
		return RK_ERR_CRYPTO;
	return RK_OK;
}

int64_t
totp_match(const uint8_t *secret, size_t len, const char *code, int64_t now_ms,
           int64_t after_step)
{
	int64_t now_step = now_ms / 1000 / TOTP_STEP_S, found = -1;
	char want[TOTP_DIGITS + 1];

	if (!totp_code_format_ok(code))
		return -1;
	/* Every step of the window is computed, matched or not, so that the
	 * time taken does not tell which one matched. */
	for (int64_t s = now_step - TOTP_WINDOW; s <= now_step + TOTP_WINDOW;
	     s++) {
		if (s < 0 || totp_code_at(secret, len, s * TOTP_STEP_S,
		                          TOTP_DIGITS, want) != RK_OK)
			continue;
		if (CRYPTO_memcmp(want, code, TOTP_DIGITS) == 0 &&
		    s > after_step)
			found = s;
	}
	OPENSSL_cleanse(want, sizeof(want));
	return found;
}

int
totp_base32(const uint8_t *secret, size_t len, char out[TOTP_B32_MAX + 1])
{
	char *b = NULL;
	size_t n = 0, j = 0;

	if (!oath_ready() ||
	    oath_base32_encode((const char *)secret, len, &b, &n) != OATH_OK)
		return RK_ERR_CRYPTO;
	/* Authenticator apps take it without the '=' padding. */
	for (size_t i = 0; i < n && j < TOTP_B32_MAX; i++)
		if (b[i] != '=')
			out[j++] = b[i];
	out[j] = '\0';
	OPENSSL_cleanse(b, n);
	free(b);
	return RK_OK;
}

void
totp_uri(const char *login, const char *b32, char out[TOTP_URI_MAX])
{
	/* Logins are [a-z0-9._-] (auth_login_valid) and base32 is
	 * [A-Z2-7]: neither needs percent-encoding. */
	snprintf(out, TOTP_URI_MAX,
	         "otpauth://totp/renkei:%s?secret=%s&issuer=renkei&digits=%d"
	         "&period=%d",
	         login, b32, TOTP_DIGITS, TOTP_STEP_S);
}

/* ------------------------------------------------------------------ store */

/* The secret of user_id (len TOTP_SECRET_LEN) with its state; st->
 * has_secret false when there is none. */
static int
load(struct store_conn *sc, int64_t user_id, struct totp_state *st,
     uint8_t secret[TOTP_SECRET_LEN])
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT t.secret, t.created_ms, t.confirmed_ms, t.last_step,"
	        " (SELECT count(*) FROM totp_recovery r WHERE r.user_id = u.id"
	        "  AND r.used_ms IS NULL), u.totp_opt_in"
	        " FROM users u LEFT JOIN totp t ON t.user_id = u.id WHERE u.id "
	        "= ?");
	int rc;

	memset(st, 0, sizeof(*st));
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(q, 0);
		int n = sqlite3_column_bytes(q, 0);
		if (b != NULL && n == TOTP_SECRET_LEN) {
			st->has_secret = true;
			if (secret != NULL)
				memcpy(secret, b, TOTP_SECRET_LEN);
		}
		st->created_ms = sqlite3_column_int64(q, 1);
		st->confirmed =
		    st->has_secret && sqlite3_column_type(q, 2) != SQLITE_NULL;
		st->confirmed_ms = sqlite3_column_int64(q, 2);
		st->last_step = sqlite3_column_int64(q, 3);
		st->recovery_left = sqlite3_column_int(q, 4);
		st->opt_in = sqlite3_column_int(q, 5) != 0;
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
totp_state_load(struct store_conn *sc, int64_t user_id, struct totp_state *out)
{
	return load(sc, user_id, out, NULL);
}

int
totp_enrol_begin(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                 char b32[TOTP_B32_MAX + 1], struct rk_status *st)
{
	uint8_t secret[TOTP_SECRET_LEN];
	struct totp_state s;
	sqlite3_stmt *q;
	int rc;

	if (load(sc, user_id, &s, NULL) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	if (s.confirmed)
		return rk_fail(
		    st, RK_ERR_PRECONDITION,
		    "a second factor is already enrolled; an administrator "
		    "can reset it (renkei-server user reset-2fa)",
		    NULL);
	rk_random(secret, sizeof(secret));
	if (totp_base32(secret, sizeof(secret), b32) != RK_OK) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return rk_fail(st, RK_ERR_CRYPTO, "temporarily unavailable",
		               NULL);
	}
	q = store_stmt(
	    sc, "INSERT OR REPLACE INTO totp(user_id, secret, created_ms,"
	        " confirmed_ms, last_step) VALUES (?, ?, ?, NULL, 0)");
	if (q == NULL) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	}
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_blob(q, 2, secret, sizeof(secret), SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, now_ms);
	rc = store_step(sc, q);
	sqlite3_reset(q);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	return RK_OK;
}

/* One recovery code from the alphabet, without modulo bias. */
static void
recovery_make(char out[TOTP_RECOVERY_LEN + 1])
{
	static const char alpha[] = TOTP_RECOVERY_ALPHABET;
	const unsigned na = sizeof(alpha) - 1;

	for (int i = 0; i < TOTP_RECOVERY_LEN;) {
		uint8_t b;
		if (i == 5) {
			out[i++] = '-';
			continue;
		}
		rk_random(&b, 1);
		if (b >= 256 / na * na)
			continue;
		out[i++] = alpha[b % na];
	}
	out[TOTP_RECOVERY_LEN] = '\0';
}

static int
exec_id(struct store_conn *sc, sqlite3_stmt *q)
{
	int rc = q != NULL ? store_step(sc, q) : -1;

	if (q != NULL)
		sqlite3_reset(q);
	return rc == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
totp_enrol_confirm(struct store_conn *sc, int64_t user_id, int64_t session_id,
                   const char *code, int64_t now_ms,
                   char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_LEN + 1],
                   struct rk_status *st)
{
	uint8_t secret[TOTP_SECRET_LEN];
	struct totp_state s;
	sqlite3_stmt *q;
	int64_t step;

	if (load(sc, user_id, &s, secret) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	if (s.confirmed) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return rk_fail(
		    st, RK_ERR_PRECONDITION,
		    "the second factor is already enrolled and confirmed",
		    NULL);
	}
	if (!s.has_secret)
		return rk_fail(st, RK_ERR_PRECONDITION,
		               "no enrolment to confirm: begin enrolment first",
		               NULL);
	step = totp_match(secret, sizeof(secret), code, now_ms, s.last_step);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (step < 0)
		return rk_fail(
		    st, RK_ERR_UNAUTHENTICATED,
		    "wrong code: enter the current code your authenticator "
		    "app shows for renkei (check that the device's clock is "
		    "right)",
		    "code");

	q = store_stmt(sc, "UPDATE totp SET confirmed_ms = ?, last_step = ?"
	                   " WHERE user_id = ?");
	if (q == NULL)
		goto store;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, step);
	sqlite3_bind_int64(q, 3, user_id);
	if (exec_id(sc, q) != RK_OK)
		goto store;
	q = store_stmt(sc, "DELETE FROM totp_recovery WHERE user_id = ?");
	if (q == NULL)
		goto store;
	sqlite3_bind_int64(q, 1, user_id);
	if (exec_id(sc, q) != RK_OK)
		goto store;
	for (int i = 0; i < TOTP_RECOVERY_COUNT; i++) {
		uint8_t h[32];
		recovery_make(codes[i]);
		rk_sha256(codes[i], TOTP_RECOVERY_LEN, h);
		q = store_stmt(sc,
		               "INSERT INTO totp_recovery(user_id, code_hash)"
		               " VALUES (?, ?)");
		if (q == NULL)
			goto store;
		sqlite3_bind_int64(q, 1, user_id);
		sqlite3_bind_blob(q, 2, h, sizeof(h), SQLITE_TRANSIENT);
		if (exec_id(sc, q) != RK_OK)
			goto store;
	}
	/* Once enrolled, asked at every login, and made to enrol again
	 * after an admin reset (family, who were not required to). */
	q = store_stmt(sc, "UPDATE users SET totp_opt_in = 1 WHERE id = ?");
	if (q == NULL)
		goto store;
	sqlite3_bind_int64(q, 1, user_id);
	if (exec_id(sc, q) != RK_OK)
		goto store;
	if (session_id != 0 && totp_session_factor(sc, session_id, 1) != RK_OK)
		goto store;
	/* A session that never showed the factor must not outlive its
	 * enrolment: it would be a way in with the password alone. */
	q = store_stmt(sc,
	               "UPDATE sessions SET ended_ms = ?, end_reason ="
	               " 'second factor enrolled' WHERE user_id = ? AND id != ?"
	               " AND ended_ms IS NULL AND second_factor = 0");
	if (q == NULL)
		goto store;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, session_id);
	if (exec_id(sc, q) != RK_OK)
		goto store;
	return RK_OK;
store:
	OPENSSL_cleanse(codes, sizeof(codes[0]) * TOTP_RECOVERY_COUNT);
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

static int
recovery_use(struct store_conn *sc, int64_t user_id, const char *recovery,
             int64_t now_ms, bool *used)
{
	char norm[TOTP_RECOVERY_LEN + 1];
	uint8_t h[32];
	sqlite3_stmt *q;
	int rc;

	*used = false;
	if (!totp_recovery_format_ok(recovery, norm))
		return RK_OK;
	rk_sha256(norm, TOTP_RECOVERY_LEN, h);
	OPENSSL_cleanse(norm, sizeof(norm));
	q = store_stmt(sc,
	               "UPDATE totp_recovery SET used_ms = ? WHERE id ="
	               " (SELECT id FROM totp_recovery WHERE user_id = ? AND"
	               " code_hash = ? AND used_ms IS NULL LIMIT 1)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_blob(q, 3, h, sizeof(h), SQLITE_TRANSIENT);
	rc = store_step(sc, q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return RK_ERR_STORE;
	*used = sqlite3_changes(store_conn_db(sc)) == 1;
	return RK_OK;
}

int
totp_check(struct store_conn *sc, int64_t user_id, const char *code,
           const char *recovery, int64_t now_ms, int *how, struct rk_status *st)
{
	uint8_t secret[TOTP_SECRET_LEN];
	struct totp_state s;
	sqlite3_stmt *q;
	int64_t step;
	bool used;

	*how = 0;
	if (load(sc, user_id, &s, secret) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	if (!s.confirmed) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return rk_fail(st, RK_ERR_PRECONDITION,
		               "no second factor is enrolled", NULL);
	}
	if (code[0] == '\0' && (recovery == NULL || recovery[0] == '\0')) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return rk_fail(
		    st, RK_ERR_UNAUTHENTICATED,
		    "a second-factor code is needed: send the 6-digit code "
		    "of your authenticator app (or a recovery code)",
		    "totp_code");
	}
	if (code[0] == '\0') {
		OPENSSL_cleanse(secret, sizeof(secret));
		if (recovery_use(sc, user_id, recovery, now_ms, &used) != RK_OK)
			return rk_fail(st, RK_ERR_STORE,
			               "temporarily unavailable", NULL);
		if (!used)
			return rk_fail(st, RK_ERR_UNAUTHENTICATED,
			               "wrong or already used recovery code",
			               "recovery_code");
		*how = 2;
		return RK_OK;
	}
	step = totp_match(secret, sizeof(secret), code, now_ms, s.last_step);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (step < 0)
		return rk_fail(
		    st, RK_ERR_UNAUTHENTICATED,
		    "wrong, expired or already used second-factor code: "
		    "wait for the next code and try again",
		    "totp_code");
	q = store_stmt(sc, "UPDATE totp SET last_step = ? WHERE user_id = ?"
	                   " AND last_step < ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	sqlite3_bind_int64(q, 1, step);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, step);
	if (exec_id(sc, q) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable",
		               NULL);
	*how = 1;
	return RK_OK;
}

int
totp_session_factor(struct store_conn *sc, int64_t session_id, int how)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET second_factor = ?"
	                                 " WHERE id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int(q, 1, how);
	sqlite3_bind_int64(q, 2, session_id);
	return exec_id(sc, q);
}
