/*
 * The password lifecycle: one-time passwords that must be changed, a new
 * password replacing the old one (and ending the other sessions), the
 * argon2id floor of stored hashes, and whether an account has a second
 * factor (which sets the shortest password allowed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"
#include "auth/totp.h"
#include "util/mem.h"
#include "util/text.h"

/* Digits only, 1..9 of them, into *v (no sign, no leading '+'). */
static const char *
number(const char *p, int *v)
{
	long x = 0;
	int n = 0;

	while (*p >= '0' && *p <= '9' && n < 9) {
		x = x * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || (*p >= '0' && *p <= '9'))
		return NULL;
	*v = (int)x;
	return p;
}

/* One or more characters of argon2's unpadded base64. */
static const char *
b64(const char *p, size_t min)
{
	size_t n = 0;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	       (*p >= '0' && *p <= '9') || *p == '+' || *p == '/') {
		p++;
		n++;
	}
	return n >= min ? p : NULL;
}

int
auth_hash_params(const char *encoded, int *t, int *m_kib)
{
	static const char head[] = "$argon2id$v=19$m=";
	const char *p = encoded;
	int m = 0, tt = 0, par = 0;

	if (encoded == NULL || strncmp(p, head, sizeof(head) - 1) != 0)
		return RK_ERR_INVALID;
	p += sizeof(head) - 1;
	if ((p = number(p, &m)) == NULL || strncmp(p, ",t=", 3) != 0 ||
	    (p = number(p + 3, &tt)) == NULL || strncmp(p, ",p=", 3) != 0 ||
	    (p = number(p + 3, &par)) == NULL || *p++ != '$' ||
	    (p = b64(p, 11)) == NULL ||
	    *p++ != '$' ||                         /* salt: 8 bytes or more */
	    (p = b64(p, 6)) == NULL || *p != '\0') /* hash: 4 bytes or more */
		return RK_ERR_INVALID;
	if (par < 1)
		return RK_ERR_INVALID;
	*t = tt;
	*m_kib = m;
	return RK_OK;
}

bool
auth_account_has_second_factor(struct store_conn *sc, const struct auth_user *u,
                               int totp_mode)
{
	struct totp_state ts;

	if (totp_state_load(sc, u->id, &ts) != RK_OK)
		return false;
	return ts.confirmed ||
	       totp_required((enum totp_mode)totp_mode, u->profession, ts.opt_in);
}

int
auth_must_change_password(struct store_conn *sc, int64_t user_id, bool *must)
{
	sqlite3_stmt *q =
	    store_stmt(sc, "SELECT must_change_password FROM users"
	                   " WHERE id = ?");
	int rc;

	*must = false;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		*must = sqlite3_column_int(q, 0) != 0;
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	return rc == SQLITE_ROW ? RK_OK : RK_ERR_NOT_FOUND;
}

int
auth_password_stamp(struct store_conn *sc, const char *login, int64_t user_id,
                    int64_t *stamp)
{
	sqlite3_stmt *q = login != NULL
	                      ? store_stmt(sc, "SELECT pw_changed_ms FROM users"
	                                       " WHERE login = ?")
	                      : store_stmt(sc, "SELECT pw_changed_ms FROM users"
	                                       " WHERE id = ?");
	int rc;

	*stamp = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	if (login != NULL)
		sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, user_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		*stamp = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? RK_OK : rc < 0 ? RK_ERR_STORE : RK_ERR_NOT_FOUND;
}

int
auth_one_time_expired(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                      int64_t max_age_ms, bool *expired)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT must_change_password, one_time_ms"
	                                 " FROM users WHERE id = ?");
	int rc;

	*expired = false;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(q, 1);
		*expired = sqlite3_column_int(q, 0) != 0 && at != 0 &&
		           now_ms - at > max_age_ms;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? RK_OK : rc < 0 ? RK_ERR_STORE : RK_ERR_NOT_FOUND;
}

int
auth_password_must_change(struct store_conn *sc, int64_t user_id)
{
	sqlite3_stmt *q =
	    store_stmt(sc, "UPDATE users SET must_change_password = 1,"
	                   " one_time_ms = ? WHERE id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, rk_now_ms());
	sqlite3_bind_int64(q, 2, user_id);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	return sqlite3_changes(store_conn_db(sc)) > 0 ? RK_OK
	                                              : RK_ERR_NOT_FOUND;
}

/* The open sessions of user_id but keep (those about to end). */
static int
open_sessions(struct store_conn *sc, int64_t user_id, int64_t keep,
              int64_t **ids, size_t *n)
{
	sqlite3_stmt *q =
	    store_stmt(sc, "SELECT id FROM sessions WHERE user_id = ?"
	                   " AND id != ? AND ended_ms IS NULL");
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, keep);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*ids = rk_realloc(*ids, cap * sizeof(**ids));
		}
		(*ids)[(*n)++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
auth_password_set(struct store_conn *sc, int64_t user_id, const char *pw_hash,
                  int64_t keep_session_id, int64_t now_ms, int64_t **ended,
                  size_t *nended)
{
	sqlite3_stmt *q;
	int rc;

	*ended = NULL;
	*nended = 0;
	q = store_stmt(sc,
	               "UPDATE users SET pw_hash = ?, must_change_password = 0,"
	               " pw_changed_ms = ? WHERE id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, pw_hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, now_ms);
	sqlite3_bind_int64(q, 3, user_id);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	if (sqlite3_changes(store_conn_db(sc)) == 0)
		return RK_ERR_NOT_FOUND;
	rc = open_sessions(sc, user_id, keep_session_id, ended, nended);
	if (rc == RK_OK)
		rc = auth_sessions_end_user(sc, user_id, keep_session_id,
		                            now_ms, "password changed");
	if (rc != RK_OK) {
		free(*ended);
		*ended = NULL;
		*nended = 0;
	}
	return rc;
}
