/*
 * Organisations, users and their passwords.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>

#include "auth/internal.h"
#include "util/log.h"
#include "util/text.h"

static const char *const prof_names[PROF__COUNT] = {
	[PROF_NONE] = "unknown",
	[PROF_PHYSICIAN] = "physician",
	[PROF_DENTIST] = "dentist",
	[PROF_NURSE] = "nurse",
	[PROF_PHARMACIST] = "pharmacist",
	[PROF_REHAB] = "rehab",
	[PROF_MSW] = "msw",
	[PROF_CARE_MANAGER] = "care_manager",
	[PROF_COMMUNITY_CENTER] = "community_center",
	[PROF_CARE_WORKER] = "care_worker",
	[PROF_FAMILY] = "family",
	[PROF_AUDITOR] = "auditor",
	[PROF_ADMIN] = "admin",
};

enum profession
auth_profession_parse(const char *name)
{
	for (int i = 1; i < PROF__COUNT; i++)
		if (strcmp(prof_names[i], name) == 0)
			return (enum profession)i;
	return PROF_NONE;
}

const char *
auth_profession_name(int p)
{
	if (p <= 0 || p >= PROF__COUNT)
		return "unknown";
	return prof_names[p];
}

int
auth_password_hash(const char *password, int t, int m_kib, char *out,
                   size_t outlen)
{
	uint8_t salt[16];
	int rc;

	rk_random(salt, sizeof(salt));
	rc = argon2id_hash_encoded((uint32_t)t, (uint32_t)m_kib, 1, password,
	                           strlen(password), salt, sizeof(salt), 32, out,
	                           outlen);
	if (rc != ARGON2_OK) {
		LOG_E("AUTH-HASH-FAIL", "error=\"%s\"", argon2_error_message(rc));
		return RK_ERR_CRYPTO;
	}
	return RK_OK;
}

bool
auth_password_verify(const char *encoded, const char *password)
{
	return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

bool
auth_login_valid(const char *login)
{
	size_t n = strlen(login);

	if (n == 0 || n > AUTH_LOGIN_MAX || !isalnum((unsigned char)login[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)login[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool
name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= AUTH_NAME_MAX && rk_utf8_valid(s, n) &&
	       strchr(s, '\n') == NULL;
}

int
auth_org_add(struct store_conn *sc, const char *code, const char *name,
             const char *kind, const char *area, struct rk_status *st)
{
	sqlite3_stmt *q;
	int rc;

	if (!auth_login_valid(code))
		return rk_fail(st, RK_ERR_INVALID,
		               "organisation code: 1-64 of a-z 0-9 . _ -", "code");
	if (!name_valid(name))
		return rk_fail(st, RK_ERR_INVALID, "organisation name is empty or invalid",
		               "name");
	q = store_stmt(sc, "INSERT INTO orgs(code, name, kind, area) VALUES (?,?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, kind ? kind : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, area ? area : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_CONSTRAINT)
		return rk_fail(st, RK_ERR_EXISTS, "an organisation with this code exists",
		               "code");
	if (rc != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	return RK_OK;
}

int
auth_user_add(struct store_conn *sc, const char *login,
              const char *display_name, enum profession prof,
              const char *org_code, const char *pw_hash, struct rk_status *st)
{
	sqlite3_stmt *q;
	int64_t org_id = 0;
	int rc;

	if (!auth_login_valid(login))
		return rk_fail(st, RK_ERR_INVALID, "login: 1-64 of a-z 0-9 . _ -", "login");
	if (!name_valid(display_name))
		return rk_fail(st, RK_ERR_INVALID, "display name is empty or invalid",
		               "name");
	if (prof <= PROF_NONE || prof >= PROF__COUNT)
		return rk_fail(st, RK_ERR_INVALID, "unknown profession", "profession");
	if (org_code != NULL && org_code[0] != '\0') {
		q = store_stmt(sc, "SELECT id FROM orgs WHERE code = ?");
		if (q == NULL)
			return rk_fail(st, RK_ERR_STORE, "database error", NULL);
		sqlite3_bind_text(q, 1, org_code, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW)
			return rk_fail(st, RK_ERR_NOT_FOUND, "no such organisation", "org");
		org_id = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	} else if (prof != PROF_FAMILY) {
		return rk_fail(st, RK_ERR_INVALID,
		               "every professional belongs to an organisation", "org");
	}
	q = store_stmt(sc, "INSERT INTO users(login, display_name, profession, "
	                   "org_id, pw_hash, created_ms) VALUES (?,?,?,?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, display_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, prof);
	if (org_id)
		sqlite3_bind_int64(q, 4, org_id);
	else
		sqlite3_bind_null(q, 4);
	sqlite3_bind_text(q, 5, pw_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, rk_now_ms());
	rc = sqlite3_step(q);
	if (rc == SQLITE_CONSTRAINT)
		return rk_fail(st, RK_ERR_EXISTS, "a user with this login exists", "login");
	if (rc != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	return RK_OK;
}

int
auth_user_disable(struct store_conn *sc, const char *login, int64_t now_ms,
                  struct rk_status *st)
{
	sqlite3_stmt *q;
	struct auth_user u;

	if (auth_user_load(sc, login, 0, &u) != RK_OK)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	q = store_stmt(sc, "UPDATE users SET disabled = 1 WHERE id = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_int64(q, 1, u.id);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	if (auth_sessions_end_user(sc, u.id, 0, now_ms, "account disabled") !=
	    RK_OK)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	return RK_OK;
}

int
auth_user_enable(struct store_conn *sc, const char *login, struct rk_status *st)
{
	sqlite3_stmt *q;
	struct auth_user u;

	if (auth_user_load(sc, login, 0, &u) != RK_OK)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such user", "login");
	q = store_stmt(sc, "UPDATE users SET disabled = 0 WHERE id = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	sqlite3_bind_int64(q, 1, u.id);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "database error", NULL);
	return RK_OK;
}

int
auth_sessions_end_user(struct store_conn *sc, int64_t user_id,
                       int64_t keep_session_id, int64_t now_ms,
                       const char *reason)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET ended_ms = ?,"
	                                 " end_reason = ? WHERE user_id = ?"
	                                 " AND id != ? AND ended_ms IS NULL");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_text(q, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, user_id);
	sqlite3_bind_int64(q, 4, keep_session_id);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

void
auth_one_time_password(char out[AUTH_ONE_TIME_LEN + 1])
{
	/* 32 symbols: no 0/o, 1/l/i. 20 of them: 100 bits. */
	static const char abc[] = "abcdefghjkmnpqrstuvwxyz23456789";
	uint8_t raw[20];
	size_t o = 0;

	_Static_assert(sizeof(abc) - 1 == 31, "alphabet");
	rk_random(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		/* 31 symbols: reject the top of the byte range, no bias. */
		while (raw[i] >= 31 * 8)
			rk_random(&raw[i], 1);
		out[o++] = abc[raw[i] % 31];
	}
	out[o] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
}

int
auth_password_reset(struct store_conn *sc, int64_t user_id, int t, int m_kib,
                    int64_t now_ms, char one_time[AUTH_ONE_TIME_LEN + 1])
{
	char hash[160];
	sqlite3_stmt *q;
	int rc;

	auth_one_time_password(one_time);
	if (auth_password_hash(one_time, t, m_kib, hash, sizeof(hash)) != RK_OK)
		return RK_ERR_CRYPTO;
	q = store_stmt(sc, "UPDATE users SET pw_hash = ?, must_change_password"
	                   " = 1, one_time_ms = ?2, pw_changed_ms = ?2 WHERE id = ?3");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, now_ms);
	sqlite3_bind_int64(q, 3, user_id);
	rc = store_step(sc, q);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc != SQLITE_DONE)
		return RK_ERR_STORE;
	if (sqlite3_changes(store_conn_db(sc)) == 0)
		return RK_ERR_NOT_FOUND;
	return auth_sessions_end_user(sc, user_id, 0, now_ms, "password reset");
}

int
auth_totp_forget(struct store_conn *sc, int64_t user_id, int64_t now_ms)
{
	static const char *const del[] = {
		"DELETE FROM totp WHERE user_id = ?",
		"DELETE FROM totp_recovery WHERE user_id = ?",
	};
	struct auth_user u;

	if (auth_user_load(sc, NULL, user_id, &u) != RK_OK)
		return RK_ERR_NOT_FOUND;
	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		sqlite3_stmt *q = store_stmt(sc, del[i]);
		if (q == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(q, 1, user_id);
		if (store_step(sc, q) != SQLITE_DONE)
			return RK_ERR_STORE;
	}
	return auth_sessions_end_user(sc, user_id, 0, now_ms,
	                              "second factor reset");
}

static void
copy_col(char *dst, size_t cap, sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);
	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

void
auth_user_row(sqlite3_stmt *q, int c, struct auth_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(q, c);
	copy_col(u->login, sizeof(u->login), q, c + 1);
	copy_col(u->display_name, sizeof(u->display_name), q, c + 2);
	u->profession = sqlite3_column_int(q, c + 3);
	u->disabled = sqlite3_column_int(q, c + 4) != 0;
	u->org_id = sqlite3_column_int64(q, c + 5);
	copy_col(u->org_code, sizeof(u->org_code), q, c + 6);
	copy_col(u->org_name, sizeof(u->org_name), q, c + 7);
	copy_col(u->org_kind, sizeof(u->org_kind), q, c + 8);
}

int
auth_user_load(struct store_conn *sc, const char *login, int64_t id,
               struct auth_user *u)
{
	sqlite3_stmt *q;
	int rc;

	if (login != NULL) {
		q = store_stmt(sc, "SELECT " AUTH_USER_COLS "WHERE u.login = ?");
		if (q == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	} else {
		q = store_stmt(sc, "SELECT " AUTH_USER_COLS "WHERE u.id = ?");
		if (q == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(q, 1, id);
	}
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_NOT_FOUND;
	auth_user_row(q, 0, u);
	sqlite3_reset(q);
	return RK_OK;
}

