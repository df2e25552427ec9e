/*
 * Devices: the Ed25519 key a session is bound to, the proof a resume
 * must carry, and the sessions a user sees and ends themselves.
 *
 * A client makes an Ed25519 key pair per device and sends the public half
 * with its login (sessions.device_key). To resume the session on a new
 * connection it signs AUTH_RESUME_MSG_LEN bytes — the fixed label
 * "renkei-resume-v1", a nonce the server gave that connection, and the
 * SHA-256 of the token — so a token copied from a disk or a log is of no
 * use without the private key, and a signature seen once cannot be
 * replayed (the nonce is single-use and bound to one connection; api/
 * keeps it). The crypto is OpenSSL's (EVP, pure Ed25519), never our own.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/internal.h"
#include "util/text.h"

#define RESUME_LABEL "renkei-resume-v1"
#define LOGIN_LABEL "renkei-login-v1\0" /* 16 bytes, as the resume's */

/* label (16 bytes) || nonce || SHA-256(text): what a device signs. */
static void
device_message(const char *label, const uint8_t nonce[AUTH_NONCE_LEN],
               const char *text, uint8_t out[AUTH_RESUME_MSG_LEN])
{
	memcpy(out, label, 16);
	memcpy(out + 16, nonce, AUTH_NONCE_LEN);
	rk_sha256(text, strlen(text), out + 16 + AUTH_NONCE_LEN);
}

void
auth_resume_message(const uint8_t nonce[AUTH_NONCE_LEN], const char *token,
                    uint8_t out[AUTH_RESUME_MSG_LEN])
{
	_Static_assert(sizeof(RESUME_LABEL) - 1 + AUTH_NONCE_LEN + 32 ==
	                   AUTH_RESUME_MSG_LEN,
	               "label, nonce, token hash");
	_Static_assert(sizeof(LOGIN_LABEL) - 1 == 16, "the login label");
	device_message(RESUME_LABEL, nonce, token, out);
}

static bool
device_verify(const char *label, const uint8_t key[AUTH_DEVICE_KEY_LEN],
              const uint8_t nonce[AUTH_NONCE_LEN], const char *text,
              const uint8_t sig[AUTH_SIGNATURE_LEN])
{
	uint8_t msg[AUTH_RESUME_MSG_LEN];
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key,
	                                           AUTH_DEVICE_KEY_LEN);
	EVP_MD_CTX *md = NULL;
	bool ok = false;

	if (pk == NULL)
		goto out;
	md = EVP_MD_CTX_new();
	if (md == NULL)
		goto out;
	device_message(label, nonce, text, msg);
	/* Ed25519 takes no digest: NULL, and the one-shot DigestVerify. */
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) != 1)
		goto out;
	ok = EVP_DigestVerify(md, sig, AUTH_SIGNATURE_LEN, msg, sizeof(msg)) ==
	     1;
out:
	OPENSSL_cleanse(msg, sizeof(msg));
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ok;
}

bool
auth_resume_verify(const uint8_t key[AUTH_DEVICE_KEY_LEN],
                   const uint8_t nonce[AUTH_NONCE_LEN], const char *token,
                   const uint8_t sig[AUTH_SIGNATURE_LEN])
{
	return device_verify(RESUME_LABEL, key, nonce, token, sig);
}

bool
auth_login_verify(const uint8_t key[AUTH_DEVICE_KEY_LEN],
                  const uint8_t nonce[AUTH_NONCE_LEN], const char *login,
                  const uint8_t sig[AUTH_SIGNATURE_LEN])
{
	return device_verify(LOGIN_LABEL, key, nonce, login, sig);
}

int
auth_device_known(struct store_conn *sc, const char *login,
                  const uint8_t key[AUTH_DEVICE_KEY_LEN], bool *known)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT EXISTS (SELECT 1 FROM sessions s"
	                                 " JOIN users u ON u.id = s.user_id"
	                                 " WHERE u.login = ? AND s.device_key = ?"
	                                 " AND s.second_factor > 0)");
	int rc;

	*known = false;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, key, AUTH_DEVICE_KEY_LEN, SQLITE_TRANSIENT);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW)
		*known = sqlite3_column_int(q, 0) != 0;
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? RK_OK : RK_ERR_STORE;
}

void
auth_device_source(const uint8_t key[AUTH_DEVICE_KEY_LEN], char out[64])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];
	size_t o;

	rk_sha256(key, AUTH_DEVICE_KEY_LEN, h);
	o = (size_t)snprintf(out, 64, "device:");
	for (size_t i = 0; i < 16 && o + 2 < 64; i++) {
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 15];
	}
	out[o] = '\0';
}

int
auth_session_set_device_key(struct store_conn *sc, int64_t session_id,
                            const uint8_t key[AUTH_DEVICE_KEY_LEN])
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET device_key = ?"
	                                 " WHERE id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_blob(q, 1, key, AUTH_DEVICE_KEY_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, session_id);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
auth_session_device_key(struct store_conn *sc, int64_t session_id,
                        uint8_t key[AUTH_DEVICE_KEY_LEN], bool *has)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT device_key FROM sessions"
	                                 " WHERE id = ?");
	int rc;

	*has = false;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, session_id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB &&
	    sqlite3_column_bytes(q, 0) == AUTH_DEVICE_KEY_LEN) {
		memcpy(key, sqlite3_column_blob(q, 0), AUTH_DEVICE_KEY_LEN);
		*has = true;
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
auth_sessions_list(struct store_conn *sc, int64_t user_id, int64_t now_ms,
                   const struct auth_limits *lim, struct auth_session_info *out,
                   size_t max, size_t *n)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT id, device, address, created_ms, last_seen_ms,"
	        " device_key IS NOT NULL FROM sessions WHERE user_id = ?"
	        " AND ended_ms IS NULL AND expires_ms > ? AND last_seen_ms > ?"
	        " ORDER BY id DESC LIMIT ?");
	int rc;

	*n = 0;
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now_ms);
	sqlite3_bind_int64(q, 3, now_ms - (int64_t)lim->session_idle_s * 1000);
	sqlite3_bind_int64(q, 4, (int64_t)max);
	while ((rc = store_step(sc, q)) == SQLITE_ROW && *n < max) {
		struct auth_session_info *s = &out[(*n)++];
		const unsigned char *t;

		s->id = sqlite3_column_int64(q, 0);
		t = sqlite3_column_text(q, 1);
		snprintf(s->device, sizeof(s->device), "%s",
		         t ? (const char *)t : "");
		t = sqlite3_column_text(q, 2);
		snprintf(s->address, sizeof(s->address), "%s",
		         t ? (const char *)t : "");
		s->created_ms = sqlite3_column_int64(q, 3);
		s->last_seen_ms = sqlite3_column_int64(q, 4);
		s->has_device_key = sqlite3_column_int(q, 5) != 0;
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
auth_session_revoke(struct store_conn *sc, int64_t user_id, int64_t session_id,
                    int64_t now_ms)
{
	sqlite3_stmt *q = store_stmt(sc, "UPDATE sessions SET ended_ms = ?,"
	                                 " end_reason = 'session revoked'"
	                                 " WHERE id = ? AND user_id = ?"
	                                 " AND ended_ms IS NULL");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, session_id);
	sqlite3_bind_int64(q, 3, user_id);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	/* Another user's, unknown, or ended: the same answer. */
	return sqlite3_changes(store_conn_db(sc)) == 1 ? RK_OK
	                                               : RK_ERR_NOT_FOUND;
}
