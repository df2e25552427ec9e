/*
 * Device certificates: TLS client certificates the server's own CA
 * issued to one device of one user (`renkei-server device issue`), as
 * care.db knows them. The TLS layer checks the chain (OpenSSL, against
 * client_ca); this module says whose a certificate is and whether it
 * still counts. A session that logged in with a certificate is bound to
 * it (sessions.cert_fp). Revoking a certificate ends those sessions, so
 * the running server closes their connections within a second
 * (api/revoke.c) like any other ended session.
 */
#include <stdio.h>
#include <string.h>

#include "auth/internal.h"

bool
auth_cert_device_valid(const char *device)
{
	size_t n = strlen(device);

	if (n == 0 || n > AUTH_CERT_DEVICE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = device[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

int
auth_cert_register(struct store_conn *sc, int64_t user_id, const char *device,
                   const char *fp, const char *serial, int64_t issued_ms,
                   int64_t expires_ms)
{
	sqlite3_stmt *q = store_stmt(sc, "INSERT INTO device_certs(fingerprint,"
	                                 " user_id, device, serial, issued_ms,"
	                                 " expires_ms) VALUES (?,?,?,?,?,?)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_text(q, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, issued_ms);
	sqlite3_bind_int64(q, 6, expires_ms);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
auth_cert_check(struct store_conn *sc, const char *fp, int64_t user_id,
                int64_t now_ms)
{
	sqlite3_stmt *q =
	    store_stmt(sc, "SELECT 1 FROM device_certs WHERE"
	                   " fingerprint = ? AND user_id = ? AND"
	                   " revoked_ms IS NULL AND expires_ms > ?");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_int64(q, 3, now_ms);
	rc = store_step(sc, q);
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	return rc == SQLITE_ROW ? RK_OK : RK_ERR_UNAUTHENTICATED;
}

int
auth_session_set_cert(struct store_conn *sc, int64_t session_id, const char *fp)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET cert_fp = ?"
	                                 " WHERE id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, session_id);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
auth_session_cert(struct store_conn *sc, int64_t session_id,
                  char fp[AUTH_CERT_FP_LEN + 1])
{
	sqlite3_stmt *q =
	    store_stmt(sc, "SELECT cert_fp FROM sessions WHERE id = ?");
	int rc;

	fp[0] = '\0';
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, session_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT)
		snprintf(fp, AUTH_CERT_FP_LEN + 1, "%s",
		         (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
auth_cert_revoke(struct store_conn *sc, const char *fp, int64_t now_ms,
                 struct auth_cert *out)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT u.login, c.device FROM device_certs c JOIN users u"
	        " ON u.id = c.user_id WHERE c.fingerprint = ?"
	        " AND c.revoked_ms IS NULL");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW && out != NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(out->login, sizeof(out->login), "%s",
		         (const char *)sqlite3_column_text(q, 0));
		snprintf(out->device, sizeof(out->device), "%s",
		         (const char *)sqlite3_column_text(q, 1));
		snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", fp);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_NOT_FOUND;
	q = store_stmt(sc, "UPDATE device_certs SET revoked_ms = ? WHERE"
	                   " fingerprint = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_text(q, 2, fp, -1, SQLITE_STATIC);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	/* Its sessions end: the running server closes their connections. */
	q = store_stmt(sc, "UPDATE sessions SET ended_ms = ?, end_reason ="
	                   " 'device certificate revoked' WHERE cert_fp = ?"
	                   " AND ended_ms IS NULL");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_text(q, 2, fp, -1, SQLITE_STATIC);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	if (out != NULL)
		out->sessions_ended = sqlite3_changes(store_conn_db(sc));
	return RK_OK;
}

int
auth_cert_list(struct store_conn *sc, const char *login,
               int (*each)(void *arg, const struct auth_cert *c), void *arg)
{
	sqlite3_stmt *q = store_stmt(
	    sc,
	    "SELECT c.fingerprint, u.login, c.device, c.serial, c.issued_ms,"
	    " c.expires_ms, c.revoked_ms FROM device_certs c JOIN users u ON"
	    " u.id = c.user_id WHERE ?1 IS NULL OR u.login = ?1"
	    " ORDER BY c.issued_ms, c.fingerprint");
	struct auth_cert c;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	if (login != NULL)
		sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		snprintf(c.fingerprint, sizeof(c.fingerprint), "%s",
		         (const char *)sqlite3_column_text(q, 0));
		snprintf(c.login, sizeof(c.login), "%s",
		         (const char *)sqlite3_column_text(q, 1));
		snprintf(c.device, sizeof(c.device), "%s",
		         (const char *)sqlite3_column_text(q, 2));
		snprintf(c.serial, sizeof(c.serial), "%s",
		         (const char *)sqlite3_column_text(q, 3));
		c.issued_ms = sqlite3_column_int64(q, 4);
		c.expires_ms = sqlite3_column_int64(q, 5);
		c.revoked_ms = sqlite3_column_int64(q, 6);
		if (each(arg, &c) != 0)
			break;
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}
