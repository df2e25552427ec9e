/*
 * Account administration that needs a password hash made beforehand:
 * the hash (argon2, tens of milliseconds) is made off the writer thread,
 * on the store's hashers, and only stored here (auth.h).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "auth/internal.h"
#include "util/text.h"

/* Mark user_id's password as a one-time password: changed at next login. */
static int
set_one_time(struct store_conn *sc, int64_t user_id, const char *pw_hash)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE users SET pw_hash = ?,"
	                                 " must_change_password = 1,"
	                                 " one_time_ms = ?2, pw_changed_ms = ?2"
	                                 " WHERE id = ?3");

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, pw_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, rk_now_ms());
	sqlite3_bind_int64(q, 3, user_id);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	return sqlite3_changes(store_conn_db(sc)) == 0 ? RK_ERR_NOT_FOUND : RK_OK;
}

int
auth_user_create_one_time(struct store_conn *sc, const char *login,
                          const char *display_name, enum profession prof,
                          const char *org_code, const char *pw_hash,
                          int64_t *user_id, struct rk_status *st)
{
	struct auth_user u;
	int rc = auth_user_add(sc, login, display_name, prof, org_code, pw_hash, st);

	if (rc != RK_OK)
		return rc;
	if (auth_user_load(sc, login, 0, &u) != RK_OK ||
	    set_one_time(sc, u.id, pw_hash) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	*user_id = u.id;
	return RK_OK;
}

int
auth_password_reset_hashed(struct store_conn *sc, int64_t user_id,
                           const char *pw_hash, int64_t now_ms)
{
	int rc = set_one_time(sc, user_id, pw_hash);

	if (rc != RK_OK)
		return rc;
	return auth_sessions_end_user(sc, user_id, 0, now_ms, "password reset");
}
