/*
 * The signing key and the checkpoints.
 *
 * A checkpoint is the server's Ed25519 signature over (record id, record
 * hash, signing time) — see audit_cp_message(). Because each record's
 * hash covers every record before it, one signature vouches for the whole
 * chain up to that record. Checkpoints live beside the records in
 * audit.db; their key_id (SHA-256 of the raw public key) says which key
 * made them. A rotation checkpoint also names the next key (next_key)
 * and signs the rotation statement with the old one (rotate_sig); from
 * then on only the next key signs (audit/canon.h).
 *
 * The signing key itself is an Ed25519 seed that the caller unwrapped
 * from the key folder (keys/keys.h); this file never reads key files.
 *
 * Before signing, the records since the previous checkpoint are hashed
 * again from that checkpoint's hash: the server never signs over a chain
 * it can see is broken (it logs AUDIT-CHAIN-BROKEN and refuses instead).
 * That costs one pass over every-N records once per N appends.
 *
 * Every checkpoint is also written to the operational log (record id and
 * hash only: no patient data), which keeps a copy of the chain head
 * outside audit.db — the only thing that can later show that records AND
 * their newest checkpoints were removed together — and the signer keeps
 * it for whoever commits it to hand to the anchor sink (audit/anchor.h).
 * Checkpoints sign the clock's state (util/clock.h) with their time:
 * message version 2 (audit/canon.h).
 */
#include "audit/internal.h"

#include "audit/anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "keys/keys.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

struct audit_signer {
	EVP_PKEY *key;
	uint8_t key_id[32];
	struct audit_anchor last; /* the newest checkpoint signed */
	bool untaken;             /* ... not yet taken (audit_signer_take) */
};

static int
key_id_of(EVP_PKEY *key, uint8_t id[32])
{
	uint8_t raw[32];
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32)
		return -1;
	rk_sha256(raw, len, id);
	return 0;
}

/* Write the public half of `key` to path (mode 0644): to path.tmp,
 * fsynced, then renamed over path. */
static int
write_pub(EVP_PKEY *key, const char *path, char *err, size_t errlen)
{
	char tmp[4200];
	FILE *f;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	fchmod(fd, 0644); /* whatever the umask */
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s", tmp);
		return -1;
	}
	ok = PEM_write_PUBKEY(f, key) == 1 && fflush(f) == 0 &&
	     fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || keys_rename_durable(tmp, path) != 0) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s", path);
		return -1;
	}
	return 0;
}

struct audit_signer *
audit_signer_new(const uint8_t seed[32], char *err, size_t errlen)
{
	struct audit_signer *s;
	EVP_PKEY *key =
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);

	if (key == NULL) {
		snprintf(err, errlen, "not an Ed25519 private key");
		return NULL;
	}
	s = rk_calloc(1, sizeof(*s));
	s->key = key;
	if (key_id_of(key, s->key_id) != 0) {
		snprintf(err, errlen, "cannot derive the public signing key");
		audit_signer_free(s);
		return NULL;
	}
	return s;
}

int
audit_signer_pub(const struct audit_signer *s, uint8_t raw[32],
                 uint8_t key_id[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(s->key, raw, &len) != 1 || len != 32)
		return RK_ERR_CRYPTO;
	if (key_id != NULL)
		memcpy(key_id, s->key_id, 32);
	return RK_OK;
}

int
audit_signer_write_pub(const struct audit_signer *s, const char *path,
                       char *err, size_t errlen)
{
	return write_pub(s->key, path, err, errlen) == 0 ? RK_OK : RK_ERR_IO;
}

int
audit_pem_seed(const char *path, uint8_t seed[32], char *err, size_t errlen)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *key;
	size_t len = 32;
	int ok;

	if (bio == NULL) {
		snprintf(err, errlen, "cannot read %s", path);
		return RK_ERR_IO;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ok = key != NULL && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 &&
	     EVP_PKEY_get_raw_private_key(key, seed, &len) == 1 && len == 32;
	EVP_PKEY_free(key);
	if (!ok) {
		OPENSSL_cleanse(seed, 32);
		snprintf(err, errlen, "%s is not an Ed25519 private key (PEM)",
		         path);
		return RK_ERR_CONFIG;
	}
	return RK_OK;
}

void
audit_signer_key_id(const struct audit_signer *s, uint8_t out[32])
{
	memcpy(out, s->key_id, 32);
}

bool
audit_signer_take(struct audit_signer *s, struct audit_anchor *out)
{
	if (s == NULL || !s->untaken)
		return false;
	*out = s->last;
	s->untaken = false;
	return true;
}

void
audit_signer_free(struct audit_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key); /* OpenSSL cleanses the private key */
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

#define Q_LAST_CP(S)                                                           \
	"SELECT record_id, record_hash FROM " S "checkpoints "                 \
	"ORDER BY record_id DESC LIMIT 1"
AUDIT_SQL(q_last_cp, Q_LAST_CP);
#define Q_TS_OF(S) "SELECT ts_ms FROM " S "records WHERE id = ?1"
AUDIT_SQL(q_ts_of, Q_TS_OF);
#define Q_CP_INSERT(S)                                                         \
	"INSERT INTO " S "checkpoints(record_id, record_hash, signed_ms, "      \
	"key_id, sig, clock_sync, next_key, rotate_sig) "                      \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
AUDIT_SQL(q_cp_insert, Q_CP_INSERT);
#define Q_LAST_ROT(S)                                                          \
	"SELECT next_key FROM " S "checkpoints WHERE next_key IS NOT NULL "    \
	"ORDER BY record_id DESC LIMIT 1"
AUDIT_SQL(q_last_rot, Q_LAST_ROT);

/* Is a checkpoint due? -1 on a database error. */
static int
due(struct store_conn *sc, int ix, int64_t head, int64_t cp_rec,
    int every_records, int64_t every_ms, int64_t now_ms)
{
	sqlite3_stmt *q;
	int64_t oldest;

	if (head <= cp_rec)
		return 0;
	if (every_records > 0 && head - cp_rec >= every_records)
		return 1;
	if (every_ms <= 0)
		return 0;
	/* Time is measured from the oldest record not yet signed: no record
	 * stays unsigned longer than every_ms (while appends go on). */
	q = store_stmt(sc, q_ts_of[ix]);
	if (q == NULL || sqlite3_bind_int64(q, 1, cp_rec + 1) != SQLITE_OK ||
	    store_step(sc, q) != SQLITE_ROW)
		return -1;
	oldest = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return now_ms - oldest >= every_ms;
}

static int
sign(struct audit_signer *s, const uint8_t *msg, size_t msglen, uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok;

	if (ctx == NULL)
		return RK_ERR_CRYPTO;
	ok = EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, s->key, NULL) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, msg, msglen) == 1 && siglen == 64;
	EVP_MD_CTX_free(ctx);
	return ok ? RK_OK : RK_ERR_CRYPTO;
}

/* Sign a checkpoint over the head when due; with next_pub, a rotation
 * checkpoint (always due while a record is unsigned). */
static int
sign_head(struct store_conn *sc, const char *schema, struct audit_signer *s,
          int every_records, int64_t every_ms, int64_t now_ms,
          const uint8_t *next_pub)
{
	int ix = audit_schema_ix(schema), rc, d, clock;
	int64_t head, cp_rec = 0;
	uint8_t head_hash[32], cp_hash[32] = {0}, msg[AUDIT_CP_MSG_MAX], sig[64];
	uint8_t rmsg[AUDIT_ROT_MSG_LEN], rsig[64];
	size_t msglen;
	char hex[65];
	sqlite3_stmt *q;
	struct audit_hasher h;
	struct audit_scan scan;

	if (ix < 0 || s == NULL)
		return RK_ERR_INVALID;
	if (now_ms == 0)
		now_ms = rk_now_ms();
	if ((rc = audit_head(sc, ix, &head, head_hash)) != RK_OK)
		return rc;
	q = store_stmt(sc, q_last_cp[ix]);
	if (q == NULL || (rc = store_step(sc, q)) < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW) {
		cp_rec = sqlite3_column_int64(q, 0);
		if (sqlite3_column_bytes(q, 1) == 32)
			memcpy(cp_hash, sqlite3_column_blob(q, 1), 32);
	}
	sqlite3_reset(q);

	d = due(sc, ix, head, cp_rec, every_records, every_ms, now_ms);
	if (d <= 0)
		return d < 0 ? RK_ERR_STORE : RK_OK;

	/* Re-hash the unsigned stretch from the last signed hash. */
	memset(&scan, 0, sizeof(scan));
	scan.from_id = cp_rec + 1;
	scan.to_id = head;
	memcpy(scan.anchor, cp_hash, 32);
	if (audit_hasher_init(&h) != RK_OK)
		return RK_ERR_CRYPTO;
	rc = audit_chain_scan(sc, ix, &h, &scan);
	audit_hasher_fini(&h);
	if (rc != RK_OK)
		return rc;
	if (scan.bad_id == 0 && scan.last_id != head) {
		scan.bad_id = scan.last_id + 1;
		snprintf(scan.why, sizeof(scan.why), "the chain ends early");
	}
	if (scan.bad_id != 0) {
		LOG_E("AUDIT-CHAIN-BROKEN", "record=%lld why=\"%s\"",
		      (long long)scan.bad_id, scan.why);
		return RK_ERR_STORE;
	}

	/* The time signed is only as good as the clock: say which. */
	clock = rk_clock_sync_state();
	msglen = audit_cp_message_for(msg, head, head_hash, now_ms, clock);
	if (sign(s, msg, msglen, sig) != RK_OK) {
		LOG_E("AUDIT-SIGN-FAIL", "record=%lld", (long long)head);
		return RK_ERR_CRYPTO;
	}
	if (next_pub != NULL) {
		audit_rot_message(rmsg, head, head_hash, now_ms, s->key_id, next_pub);
		if (sign(s, rmsg, sizeof(rmsg), rsig) != RK_OK) {
			LOG_E("AUDIT-SIGN-FAIL", "record=%lld rotation=1",
			      (long long)head);
			return RK_ERR_CRYPTO;
		}
	}
	q = store_stmt(sc, q_cp_insert[ix]);
	if (q == NULL)
		return RK_ERR_STORE;
	if ((sqlite3_bind_int64(q, 1, head) |
	     sqlite3_bind_blob(q, 2, head_hash, 32, SQLITE_STATIC) |
	     sqlite3_bind_int64(q, 3, now_ms) |
	     sqlite3_bind_blob(q, 4, s->key_id, 32, SQLITE_STATIC) |
	     sqlite3_bind_blob(q, 5, sig, 64, SQLITE_STATIC) |
	     sqlite3_bind_int(q, 6, clock) |
	     (next_pub ? sqlite3_bind_blob(q, 7, next_pub, 32, SQLITE_STATIC) |
	                     sqlite3_bind_blob(q, 8, rsig, 64, SQLITE_STATIC)
	               : sqlite3_bind_null(q, 7) | sqlite3_bind_null(q, 8))) !=
	        SQLITE_OK ||
	    store_step(sc, q) != SQLITE_DONE) {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		return RK_ERR_STORE;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	/* For the anchor sink, once the caller's transaction has committed. */
	memset(&s->last, 0, sizeof(s->last));
	s->last.cp_id = sqlite3_last_insert_rowid(store_conn_db(sc));
	s->last.record_id = head;
	s->last.signed_ms = now_ms;
	s->last.clock_sync = clock;
	memcpy(s->last.hash, head_hash, 32);
	memcpy(s->last.key_id, s->key_id, 32);
	memcpy(s->last.sig, sig, 64);
	s->untaken = true;
	rk_hex_encode(head_hash, 32, hex);
	LOG_I("AUDIT-CHECKPOINT", "record=%lld hash=%s clock_sync=%d%s",
	      (long long)head, hex, clock, next_pub ? " rotation=1" : "");
	return RK_OK;
}

int
audit_checkpoint_maybe(struct store_conn *sc, const char *schema,
                       struct audit_signer *s, int every_records,
                       int64_t every_ms, int64_t now_ms)
{
	return sign_head(sc, schema, s, every_records, every_ms, now_ms, NULL);
}

int
audit_rotate_sign(struct store_conn *sc, const char *schema,
                  struct audit_signer *old, const uint8_t next_pub[32],
                  int64_t now_ms)
{
	int ix = audit_schema_ix(schema), rc;
	int64_t head, cp_rec = 0;
	uint8_t head_hash[32];
	sqlite3_stmt *q;

	if (ix < 0 || old == NULL)
		return RK_ERR_INVALID;
	if ((rc = audit_head(sc, ix, &head, head_hash)) != RK_OK)
		return rc;
	q = store_stmt(sc, q_last_cp[ix]);
	if (q == NULL || (rc = store_step(sc, q)) < 0)
		return RK_ERR_STORE;
	if (rc == SQLITE_ROW)
		cp_rec = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (head <= cp_rec)
		return RK_ERR_PRECONDITION; /* append the rotation's record first */
	return sign_head(sc, schema, old, 1, 0, now_ms, next_pub);
}

int
audit_trail_key(struct store_conn *sc, const char *schema,
                const char *root_pub_path, uint8_t pub[32], char *err,
                size_t errlen)
{
	int ix = audit_schema_ix(schema), rc;
	uint8_t id[32];
	size_t len = 32;
	sqlite3_stmt *q;
	EVP_PKEY *root;

	if (ix < 0)
		return RK_ERR_INVALID;
	q = store_stmt(sc, q_last_rot[ix]);
	if (q == NULL || (rc = store_step(sc, q)) < 0) {
		snprintf(err, errlen, "cannot read the audit checkpoints");
		return RK_ERR_STORE;
	}
	if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32) {
		memcpy(pub, sqlite3_column_blob(q, 0), 32);
		sqlite3_reset(q);
		return RK_OK;
	}
	sqlite3_reset(q);
	root = audit_pubkey_load(root_pub_path, id, err, errlen);
	if (root == NULL)
		return RK_ERR_CONFIG;
	rc = EVP_PKEY_get_raw_public_key(root, pub, &len) == 1 && len == 32
	         ? RK_OK
	         : RK_ERR_CRYPTO;
	EVP_PKEY_free(root);
	if (rc != RK_OK)
		snprintf(err, errlen, "%s: cannot read the public key", root_pub_path);
	return rc;
}
