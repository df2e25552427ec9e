/*
 * Logins, throttling and sessions.
 *
 * Failed logins are slowed, never locked out: a login cannot be locked
 * by someone else. Failures are counted in login_failures under two keys,
 * whether or not such a user exists (so that they tell an attacker
 * nothing): the login from one source address ("LOGIN ADDRESS"), and the
 * address alone (" ADDRESS"). After max_failures failures of a login from
 * an address (max_failures_address from an address, for all logins), each
 * further failure makes that key wait delay_s, doubling up to delay_max_s;
 * a key quiet for quiet_s starts again from nothing. While a key waits,
 * attempts under it are refused before the password is checked (no
 * argon2 spent) and are not counted. A doctor whose login is attacked
 * from one address still logs in from another.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/internal.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

/* The hash to verify against when the login does not exist, so that an
 * unknown login costs the same argon2 time as a known one. Made lazily
 * for the settings asked (the configured ones: a hard-coded cost would
 * make unknown logins answer faster once an operator raises it), and
 * remade if they change. */
static struct {
	pthread_mutex_t lock;
	int t, m_kib;
	char hash[160];
} dummy = {.lock = PTHREAD_MUTEX_INITIALIZER};

int
auth_dummy_hash(int t, int m_kib, char *out, size_t outlen)
{
	int rc = RK_OK;

	pthread_mutex_lock(&dummy.lock);
	if (dummy.hash[0] == '\0' || dummy.t != t || dummy.m_kib != m_kib) {
		rc = auth_password_hash("renkei-no-such-user", t, m_kib, dummy.hash,
		                        sizeof(dummy.hash));
		if (rc == RK_OK) {
			dummy.t = t;
			dummy.m_kib = m_kib;
		} else {
			dummy.hash[0] = '\0';
		}
	}
	snprintf(out, outlen, "%s", dummy.hash);
	pthread_mutex_unlock(&dummy.lock);
	return rc;
}

/* The two throttle keys of an attempt: login from address, address. */
static void
keys_of(const char *login, const char *address, char la[300], char a[80])
{
	snprintf(la, 300, "%s %s", login, address ? address : "");
	snprintf(a, 80, " %s", address ? address : "");
}

/* The wall time a key must wait until (0: none). */
static int
key_wait(struct store_conn *sc, const char *key, int64_t *until)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT locked_until_ms FROM"
	                                 " login_failures WHERE login = ?");
	int rc;

	*until = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		*until = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
auth_login_wait(struct store_conn *sc, const char *login, const char *address,
                int64_t now_ms, struct rk_status *st)
{
	char la[300], a[80];
	int64_t w1, w2;

	keys_of(login, address, la, a);
	if (key_wait(sc, la, &w1) != RK_OK || key_wait(sc, a, &w2) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (w2 > w1)
		w1 = w2;
	if (w1 > now_ms) {
		rk_fail(st, RK_ERR_EXHAUSTED,
		        "too many failed logins from here: wait before trying again",
		        NULL);
		st->retry_after_ms = (uint32_t)(w1 - now_ms);
		return RK_ERR_EXHAUSTED;
	}
	return RK_OK;
}

int
auth_login_check(struct store_conn *sc, const char *login, const char *address,
                 const char *password, int64_t now_ms,
                 const struct auth_limits *lim, struct auth_user *u,
                 struct rk_status *st)
{
	sqlite3_stmt *q;
	char hash[160] = "";
	bool ok;
	int rc;

	if ((rc = auth_login_wait(sc, login, address, now_ms, st)) != RK_OK)
		return rc;

	q = store_stmt(sc, "SELECT u.pw_hash, " AUTH_USER_COLS "WHERE u.login = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(q, 0);
		auth_user_row(q, 1, u);
		snprintf(hash, sizeof(hash), "%s", h ? (const char *)h : "");
	} else {
		memset(u, 0, sizeof(*u));
		if (auth_dummy_hash(lim->argon2_t, lim->argon2_m_kib, hash,
		                    sizeof(hash)) != RK_OK)
			hash[0] = '\0';
	}
	sqlite3_reset(q); /* release the row before argon2's long wait */

	ok = hash[0] != '\0' && auth_password_verify(hash, password);
	if (!ok || u->id == 0 || u->disabled)
		return rk_fail(st, RK_ERR_UNAUTHENTICATED, "wrong login or password",
		               NULL);
	return RK_OK;
}

/* Count one failure under key; free failures before the first wait. */
static int
count_failure(struct store_conn *sc, const char *key, int free_failures,
              int64_t now_ms, const struct auth_limits *lim)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT failures, locked_until_ms, last_ms"
	                                 " FROM login_failures WHERE login = ?");
	int64_t failures = 0, until = 0, last = 0;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		failures = sqlite3_column_int64(q, 0);
		until = sqlite3_column_int64(q, 1);
		last = sqlite3_column_int64(q, 2);
	}
	sqlite3_reset(q);
	if (until > now_ms)
		return RK_OK; /* attempts during a wait are not counted */
	if (now_ms - last > (int64_t)lim->quiet_s * 1000)
		failures = 0; /* quiet long enough: forgotten */
	failures++;
	until = 0;
	if (failures > free_failures) {
		int64_t shift = failures - free_failures - 1;
		int64_t wait = (int64_t)lim->delay_s * 1000;
		int64_t cap = (int64_t)lim->delay_max_s * 1000;
		wait <<= shift > 20 ? 20 : shift;
		until = now_ms + (wait < cap ? wait : cap);
	}
	q = store_stmt(sc, "INSERT OR REPLACE INTO login_failures(login, failures, "
	                   "locked_until_ms, last_ms) VALUES (?,?,?,?)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, failures);
	sqlite3_bind_int64(q, 3, until);
	sqlite3_bind_int64(q, 4, now_ms);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
auth_login_failed(struct store_conn *sc, const char *login, const char *address,
                  int64_t now_ms, const struct auth_limits *lim, bool *attack)
{
	char la[300], a[80];
	sqlite3_stmt *q;
	int64_t recent = 0,
		threshold = 4 * (int64_t)(lim->max_failures > 0 ? lim->max_failures : 1);
	int rc;

	*attack = false;
	keys_of(login, address, la, a);
	if ((rc = count_failure(sc, la, lim->max_failures, now_ms, lim)) != RK_OK ||
	    (rc = count_failure(sc, a, lim->max_failures_address, now_ms, lim)) !=
	            RK_OK)
		return rc;
	/* The login's recent failures from every address together. */
	q = store_stmt(sc, "SELECT coalesce(sum(failures), 0) FROM login_failures"
	                   " WHERE substr(login, 1, length(?1) + 1) = ?1 || ' '"
	                   " AND last_ms >= ?2");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now_ms - (int64_t)lim->quiet_s * 1000);
	if (sqlite3_step(q) == SQLITE_ROW)
		recent = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	/* At the threshold, and each time it doubles: not at every one. */
	for (int64_t t = threshold; t > 0 && t <= recent; t *= 2)
		if (t == recent)
			*attack = true;
	return RK_OK;
}

int
auth_login_unlock(struct store_conn *sc, const char *login)
{
	struct auth_user u;
	sqlite3_stmt *q;

	if (auth_user_load(sc, login, 0, &u) != RK_OK)
		return RK_ERR_NOT_FOUND;
	q = store_stmt(sc, "DELETE FROM login_failures WHERE login = ?1"
	                   " OR substr(login, 1, length(?1) + 1) = ?1 || ' '");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

static void
token_encode(const uint8_t raw[32], char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char b64[48];
	int n = EVP_EncodeBlock(b64, raw, 32); /* 44 chars, one '=' */

	for (int i = 0; i < AUTH_TOKEN_LEN && i < n; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[AUTH_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(b64, sizeof(b64));
}

int
auth_session_create(struct store_conn *sc, int64_t user_id, const char *device,
                    const char *address, int64_t now_ms,
                    const struct auth_limits *lim,
                    char token[AUTH_TOKEN_LEN + 1], int64_t *session_id,
                    int64_t *expires_ms)
{
	return auth_session_open(sc, user_id, device, address, address, now_ms,
	                         lim, token, session_id, expires_ms);
}

int
auth_session_open(struct store_conn *sc, int64_t user_id, const char *device,
                  const char *address, const char *source, int64_t now_ms,
                  const struct auth_limits *lim, char token[AUTH_TOKEN_LEN + 1],
                  int64_t *session_id, int64_t *expires_ms)
{
	sqlite3_stmt *q;
	uint8_t raw[32], hash[32];
	struct auth_user u;
	int rc;

	/* The password was checked on a reader; the user may have been
	 * disabled since. */
	if (auth_user_load(sc, NULL, user_id, &u) != RK_OK || u.disabled)
		return RK_ERR_UNAUTHENTICATED;

	/* This login from this source starts again; the source's own
	 * count is left to fade (one success does not clear a spray). A
	 * known device clears its own count, not its address's (auth.h). */
	{
		char la[300], a[80];
		keys_of(u.login, source, la, a);
		q = store_stmt(sc, "DELETE FROM login_failures WHERE login = ?");
		if (q == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_text(q, 1, la, -1, SQLITE_TRANSIENT);
		if (store_step(sc, q) != SQLITE_DONE)
			return RK_ERR_STORE;
	}

	rk_random(raw, sizeof(raw));
	token_encode(raw, token);
	rk_sha256(token, AUTH_TOKEN_LEN, hash);
	OPENSSL_cleanse(raw, sizeof(raw));

	*expires_ms = now_ms + (int64_t)lim->session_max_s * 1000;
	q = store_stmt(sc, "INSERT INTO sessions(token_hash, user_id, created_ms, "
	                   "expires_ms, last_seen_ms, device, address) "
	                   "VALUES (?,?,?,?,?,?,?)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_blob(q, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, now_ms);
	sqlite3_bind_int64(q, 4, *expires_ms);
	sqlite3_bind_int64(q, 5, now_ms);
	sqlite3_bind_text(q, 6, device ? device : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, address ? address : "", -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc != SQLITE_DONE)
		return RK_ERR_STORE;
	*session_id = sqlite3_last_insert_rowid(store_conn_db(sc));
	return RK_OK;
}

int
auth_session_resume(struct store_conn *sc, const char *token, int64_t now_ms,
                    const struct auth_limits *lim, struct auth_session *out)
{
	sqlite3_stmt *q;
	uint8_t hash[32];
	int rc;

	if (strlen(token) != AUTH_TOKEN_LEN)
		return RK_ERR_UNAUTHENTICATED;
	rk_sha256(token, AUTH_TOKEN_LEN, hash);
	q = store_stmt(sc, "SELECT s.id, s.expires_ms, s.last_seen_ms, " AUTH_USER_COLS
	                   "JOIN sessions s ON s.user_id = u.id "
	                   "WHERE s.token_hash = ? AND s.ended_ms IS NULL");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_blob(q, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_UNAUTHENTICATED;
	out->id = sqlite3_column_int64(q, 0);
	out->expires_ms = sqlite3_column_int64(q, 1);
	out->last_seen_ms = sqlite3_column_int64(q, 2);
	auth_user_row(q, 3, &out->user);
	sqlite3_reset(q);
	if (out->user.disabled || out->expires_ms <= now_ms ||
	    out->last_seen_ms + (int64_t)lim->session_idle_s * 1000 <= now_ms)
		return RK_ERR_UNAUTHENTICATED;
	return RK_OK;
}

int
auth_session_touch(struct store_conn *sc, int64_t session_id, int64_t now_ms)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET last_seen_ms = ? "
	                                 "WHERE id = ? AND last_seen_ms < ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, session_id);
	sqlite3_bind_int64(q, 3, now_ms);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
auth_session_end(struct store_conn *sc, int64_t session_id, int64_t now_ms,
                 const char *reason)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET ended_ms = ?, "
	                                 "end_reason = ? WHERE id = ? AND "
	                                 "ended_ms IS NULL");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_text(q, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, session_id);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
auth_session_live(struct store_conn *sc, int64_t user_id, int64_t session_id)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT 1 FROM sessions s JOIN users u"
	                                 " ON u.id = s.user_id WHERE s.id = ?"
	                                 " AND s.user_id = ? AND s.ended_ms IS NULL"
	                                 " AND u.disabled = 0");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, session_id);
	sqlite3_bind_int64(q, 2, user_id);
	rc = store_step(sc, q);
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	return rc == SQLITE_ROW ? RK_OK : RK_ERR_UNAUTHENTICATED;
}

int
auth_sessions_ended_since(struct store_conn *sc, int64_t since_ms,
                          struct auth_ended **out, size_t *n)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT id, coalesce(end_reason, '')"
	                                 " FROM sessions WHERE ended_ms IS NOT NULL"
	                                 " AND ended_ms >= ?");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, since_ms);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		const unsigned char *why = sqlite3_column_text(q, 1);
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		(*out)[*n].id = sqlite3_column_int64(q, 0);
		snprintf((*out)[*n].reason, sizeof((*out)[*n].reason), "%s",
		         why != NULL && why[0] != '\0' ? (const char *)why
		                                       : "session ended");
		(*n)++;
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return RK_ERR_STORE;
	}
	return RK_OK;
}
