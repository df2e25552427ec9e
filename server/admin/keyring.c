/*
 * The keys every command reads (admin.h lists the key folder's files),
 * the checks made before any of them is trusted, the records offline
 * commands write into the audit trail, and `init`.
 */
#include "admin/admin.h"

#include "admin/bundle.h"
#include "admin/trail.h"
#include "audit/anchor.h"
#include "notify/webpush.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/err.h"
#include "util/text.h"

void
admin_begin(struct admin *a, const struct conf *conf)
{
	memset(a, 0, sizeof(*a));
	a->conf = conf;
}

void
admin_end(struct admin *a)
{
	keys_kek_wipe(&a->kek);
	a->have_kek = false;
}

void
admin_key_path(const struct admin *a, const char *file, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", a->conf->keys_dir, file);
}

int
admin_kek(struct admin *a, bool create, char *err, size_t errlen)
{
	struct keys_kek_opts o = {
		.keys_dir = a->conf->keys_dir,
		.source = a->conf->kek_source,
		.passphrase_fd = a->conf->kek_passphrase_fd,
		.create = create,
		.argon2_t = a->conf->kek_argon2_t,
		.argon2_m_kib = a->conf->kek_argon2_m_kib,
	};

	if (a->have_kek)
		return 0;
	if (keys_kek_load(&a->kek, &o, err, errlen) != 0)
		return -1;
	a->have_kek = true;
	return 0;
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int
admin_keys_sane(struct admin *a, char *err, size_t errlen)
{
	static const char *const retired[] = {"RENKEI_CARE_KEY", "RENKEI_AUDIT_KEY"};
	static const char *const legacy[] = {"care.key", "audit.key",
	                                     "audit-signing.pem", "backup.key"};
	char path[4200];

	for (size_t i = 0; i < 2; i++) {
		if (getenv(retired[i]) != NULL) {
			snprintf(err, errlen,
			         "%s is set, but raw database keys are no longer read "
			         "from the environment (they are wrapped in keys_dir %s): "
			         "unset it",
			         retired[i], a->conf->keys_dir);
			return -1;
		}
	}
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/keys/%s", a->conf->data_dir,
		         legacy[i]);
		if (exists(path)) {
			snprintf(err, errlen,
			         "key file %s is inside the data folder and not "
			         "wrapped (the layout before keys_dir): run "
			         "renkei-server keys migrate",
			         path);
			return -1;
		}
	}
	return keys_dir_check(a->conf->keys_dir, a->conf->data_dir, err, errlen);
}

int
admin_keys_ready(struct admin *a, char *err, size_t errlen)
{
	static const char *const kept[] = {KEYS_CARE, KEYS_AUDIT, KEYS_SIGNING};
	char path[4200];

	if (admin_keys_sane(a, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", a->conf->keys_dir, kept[i],
		         KEYS_NEW_SUFFIX);
		if (exists(path)) {
			snprintf(err, errlen,
			         "%s exists: a %s was interrupted; run renkei-server "
			         "keys check (it finishes or undoes it)",
			         path, i < 2 ? "rekey" : "signing-key rotation");
			return -1;
		}
	}
	return 0;
}

void
admin_store_paths(struct admin *a, struct store_config *cfg)
{
	static char care_path[4096], audit_path[4096];
	const struct conf *conf = a->conf;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(care_path, sizeof(care_path), "%s/care.db", conf->data_dir);
	snprintf(audit_path, sizeof(audit_path), "%s/audit.db", conf->data_dir);
	cfg->care_path = care_path;
	cfg->audit_path = audit_path;
	cfg->readers = conf->store_readers;
	cfg->hashers = conf->store_hashers;
	cfg->max_batch = conf->store_max_batch;
	cfg->queue_max = conf->store_queue_max;
	cfg->hash_queue_max = conf->login_queue_max;
	cfg->disk_reserve_mb = conf->store_disk_reserve_mb;
	cfg->cache_mb = conf->store_cache_mb;
}

int
admin_store_config(struct admin *a, struct store_config *cfg, char *err,
                   size_t errlen)
{
	const struct conf *conf = a->conf;
	char path[4200];

	admin_store_paths(a, cfg);
	if (admin_keys_ready(a, err, errlen) != 0 ||
	    admin_kek(a, false, err, errlen) != 0)
		return -1;
	admin_key_path(a, KEYS_CARE, path, sizeof(path));
	if (keys_unwrap_file(path, "care", conf->data_dir, &a->kek,
	                     cfg->care_key.bytes, err, errlen) != 0)
		goto fail;
	admin_key_path(a, KEYS_AUDIT, path, sizeof(path));
	if (keys_unwrap_file(path, "audit", conf->data_dir, &a->kek,
	                     cfg->audit_key.bytes, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	OPENSSL_cleanse(cfg, sizeof(*cfg));
	return -1;
}

struct audit_signer *
admin_signer(struct admin *a, char *err, size_t errlen)
{
	uint8_t seed[KEYS_LEN];
	char path[4200];
	struct audit_signer *s;

	if (admin_kek(a, false, err, errlen) != 0)
		return NULL;
	admin_key_path(a, KEYS_SIGNING, path, sizeof(path));
	if (keys_unwrap_file(path, "audit-signing", a->conf->data_dir, &a->kek,
	                     seed, err, errlen) != 0)
		return NULL;
	s = audit_signer_new(seed, err, errlen);
	OPENSSL_cleanse(seed, sizeof(seed));
	return s;
}

int
admin_vapid_key(struct admin *a, uint8_t out[32], char *err, size_t errlen)
{
	char path[4200];
	bool missing = false;

	if (admin_kek(a, false, err, errlen) != 0)
		return -1;
	admin_key_path(a, KEYS_VAPID, path, sizeof(path));
	if (keys_file_check(path, a->conf->data_dir, true, &missing, err, errlen) != 0) {
		if (!missing)
			return -1;
		/* Like the other keys: 32 random bytes, here a valid P-256
		 * scalar, wrapped; never in the data folder. */
		webpush_new_private(out);
		if (keys_wrap_file(path, "vapid", &a->kek, out, false, err, errlen) != 0) {
			OPENSSL_cleanse(out, 32);
			return -1;
		}
		return 0;
	}
	if (keys_unwrap_file(path, "vapid", a->conf->data_dir, &a->kek, out, err,
	                     errlen) != 0)
		return -1;
	uint8_t pub[WEBPUSH_PUB_LEN];
	if (webpush_public_of(out, pub) != 0) {
		OPENSSL_cleanse(out, 32);
		snprintf(err, errlen, "key file %s is not a P-256 key (VAPID)", path);
		return -1;
	}
	return 0;
}

int
admin_signer_matches(struct admin *a, struct store_conn *sc,
                     const struct audit_signer *signer, char *err,
                     size_t errlen)
{
	uint8_t want[32], have[32], id[32];
	char root[4200], hw[17], hh[17];

	admin_key_path(a, KEYS_ROOT_PUB, root, sizeof(root));
	if (keys_file_check(root, a->conf->data_dir, false, NULL, err, errlen) != 0 ||
	    audit_trail_key(sc, "audit", root, want, err, errlen) != RK_OK ||
	    audit_signer_pub(signer, have, id) != RK_OK)
		return -1;
	if (memcmp(want, have, 32) == 0)
		return 0;
	rk_sha256(want, 32, id);
	rk_hex_encode(id, 8, hw);
	rk_sha256(have, 32, id);
	rk_hex_encode(id, 8, hh);
	snprintf(err, errlen,
	         "the audit signing key %s/%s (key id %s...) is not the key the "
	         "audit trail expects (key id %s..., the root key or the one its "
	         "last rotation named): what it signed would not verify",
	         a->conf->keys_dir, KEYS_SIGNING, hh, hw);
	return -1;
}

int
admin_open(struct admin *a, struct store_conn **sc)
{
	struct store_config cfg;
	char err[ADMIN_ERR];
	int rc;

	if (admin_store_config(a, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return -1;
	}
	rc = store_conn_open(sc, &cfg, 0, err, sizeof(err));
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (rc != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return -1;
	}
	return 0;
}

int
admin_append(struct store_conn *sc, const char *command, const char *action,
             const char *object, int outcome, const char *reason)
{
	char login[64], device[64];
	struct audit_event ev = {
		.action = action,
		.object = object,
		.outcome = outcome,
		.error_code = outcome ? rk_err_grpc_name(outcome) : NULL,
		.reason = reason,
	};

	admin_trail_actor(&ev, command, login, device);
	return audit_append(sc, "audit", &ev) == RK_OK ? 0 : -1;
}

void
admin_anchor(struct admin *a, struct audit_signer *signer)
{
	struct audit_anchor anchor;
	struct audit_sink *sink;
	char serr[256] = "";

	if (!audit_signer_take(signer, &anchor))
		return;
	sink = audit_sink_new(a->conf->checkpoint_sink, serr, sizeof(serr));
	if (sink == NULL && serr[0] != '\0')
		fprintf(stderr, "renkei-server: the checkpoint is not anchored: %s\n",
		        serr);
	audit_sink_put(sink, &anchor);
	audit_sink_free(sink);
}

int
admin_record(struct admin *a, struct store_conn *sc,
             struct audit_signer *signer, const char *command,
             const char *action, const char *object, int outcome,
             const char *reason)
{
	struct audit_anchor dropped;

	if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK)
		goto fail;
	if (admin_append(sc, command, action, object, outcome, reason) != 0 ||
	    audit_checkpoint_maybe(sc, "audit", signer, 1, 0, 0) != RK_OK) {
		store_conn_release(sc);
		store_exec(sc, "ROLLBACK");
		audit_signer_take(signer, &dropped); /* never stored */
		goto fail;
	}
	store_conn_release(sc);
	if (store_exec(sc, "COMMIT") != RK_OK) {
		store_exec(sc, "ROLLBACK");
		audit_signer_take(signer, &dropped);
		goto fail;
	}
	admin_anchor(a, signer);
	return 0;
fail:
	fprintf(stderr, "renkei-server: cannot write the audit record %s %s\n",
	        action, object);
	return -1;
}

int
admin_recorded(struct store_conn *sc, const char *action, const char *object)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT count(*) FROM audit.records "
	                                 "WHERE action = ?1 AND object = ?2");
	int n;

	if (q == NULL)
		return -1;
	if (sqlite3_bind_text(q, 1, action, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(q, 2, object, -1, SQLITE_STATIC) != SQLITE_OK ||
	    store_step(sc, q) != SQLITE_ROW) {
		store_conn_release(sc);
		return -1;
	}
	n = sqlite3_column_int(q, 0);
	store_conn_release(sc);
	return n > 0;
}

static int
mkdir_private(const char *path)
{
	if ((mkdir(path, 0700) != 0 && errno != EEXIST) || chmod(path, 0700) != 0) {
		fprintf(stderr, "renkei-server: cannot create %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* A fresh random secret, wrapped into KEYS/file. */
static int
new_key(struct admin *a, const char *file, const char *name, uint8_t out[32],
        char *err, size_t errlen)
{
	char path[4200];
	int rc;

	rk_random(out, KEYS_LEN);
	admin_key_path(a, file, path, sizeof(path));
	rc = keys_wrap_file(path, name, &a->kek, out, false, err, errlen);
	if (rc == 0)
		printf("created %s (wrapped under the key-encryption key: %s)\n",
		       path, a->kek.source);
	return rc;
}

/* The signing key and its public keys, made once. */
static int
init_signing(struct admin *a, char *err, size_t errlen)
{
	char path[4200], pub[4200], root[4200], audit_db[4200];
	uint8_t seed[KEYS_LEN];
	struct audit_signer *s;
	int rc;

	admin_key_path(a, KEYS_SIGNING, path, sizeof(path));
	admin_key_path(a, KEYS_SIGNING_PUB, pub, sizeof(pub));
	admin_key_path(a, KEYS_ROOT_PUB, root, sizeof(root));
	snprintf(audit_db, sizeof(audit_db), "%s/audit.db", a->conf->data_dir);
	if (!exists(path)) {
		/* Never replace a signing key of a trail that exists: what it
		 * signed would no longer verify from the root. */
		if (exists(audit_db)) {
			snprintf(err, errlen,
			         "%s exists but the audit signing key %s is missing; "
			         "refusing to make a new one for it",
			         audit_db, path);
			return -1;
		}
		if (new_key(a, KEYS_SIGNING, "audit-signing", seed, err, errlen) != 0)
			return -1;
	} else if (keys_unwrap_file(path, "audit-signing", a->conf->data_dir,
	                            &a->kek, seed, err, errlen) != 0) {
		return -1;
	}
	s = audit_signer_new(seed, err, errlen);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (s == NULL)
		return -1;
	rc = 0;
	if (!exists(pub))
		rc = audit_signer_write_pub(s, pub, err, errlen) == RK_OK ? 0 : -1;
	if (rc == 0 && !exists(root)) {
		if (exists(audit_db)) {
			snprintf(err, errlen,
			         "the root public key %s is missing: restore it (it is "
			         "what audit verify trusts; it cannot be made again "
			         "from a key that may have rotated)",
			         root);
			rc = -1;
		} else {
			rc = audit_signer_write_pub(s, root, err, errlen) == RK_OK ? 0
			                                                           : -1;
		}
	}
	audit_signer_free(s);
	return rc;
}

int
admin_init(struct admin *a)
{
	const struct conf *conf = a->conf;
	char path[4200], db[4200], err[ADMIN_ERR];
	uint8_t key[KEYS_LEN];
	struct store_conn *sc;

	if (mkdir_private(conf->data_dir) != 0)
		return 1;
	if (keys_dir_make(conf->keys_dir, conf->data_dir, err, sizeof(err)) != 0 ||
	    admin_keys_ready(a, err, sizeof(err)) != 0 ||
	    admin_kek(a, true, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	const char *files[2] = {KEYS_CARE, KEYS_AUDIT};
	const char *names[2] = {"care", "audit"};
	for (int i = 0; i < 2; i++) {
		admin_key_path(a, files[i], path, sizeof(path));
		if (exists(path))
			continue;
		snprintf(db, sizeof(db), "%s/%s.db", conf->data_dir, names[i]);
		if (exists(db)) {
			fprintf(stderr,
			        "renkei-server: %s exists but its key %s is missing; "
			        "refusing to make a new key for it\n",
			        db, path);
			return 1;
		}
		if (new_key(a, files[i], names[i], key, err, sizeof(err)) != 0) {
			fprintf(stderr, "renkei-server: %s\n", err);
			return 1;
		}
		OPENSSL_cleanse(key, sizeof(key));
	}
	/* The backups' own key: it opens nothing live, and a backup is
	 * useless without it (admin/bundle.h). */
	if (getenv("RENKEI_BACKUP_KEY") == NULL && !exists(conf->backup_key_file)) {
		rk_random(key, KEYS_LEN);
		if (keys_wrap_file(conf->backup_key_file, "backup", &a->kek, key,
		                   false, err, sizeof(err)) != 0) {
			OPENSSL_cleanse(key, sizeof(key));
			fprintf(stderr, "renkei-server: %s\n", err);
			return 1;
		}
		OPENSSL_cleanse(key, sizeof(key));
		printf("created backup key %s (wrapped): keep a copy off this "
		       "machine (renkei-server keys backup-key), backups cannot be "
		       "read elsewhere without it\n",
		       conf->backup_key_file);
	}
	if (init_signing(a, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	/* The VAPID key of Web Push notices (docs/notice.md). */
	if (admin_vapid_key(a, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (admin_open(a, &sc) != 0)
		return 1;
	store_conn_close(sc);
	printf("databases ready in %s; keys in %s (audit root public key %s/%s)\n",
	       conf->data_dir, conf->keys_dir, conf->keys_dir, KEYS_ROOT_PUB);
	return 0;
}

int
admin_keys_backup_key(struct admin *a)
{
	struct store_key bkey;
	struct store_conn *sc = NULL;
	struct audit_signer *signer = NULL;
	char err[ADMIN_ERR], hex[65], id[17], object[64];
	int rc = 1;

	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "renkei-server: keys backup-key writes the raw backup "
		                "key: send it to a file on offline media (> FILE), "
		                "not to a terminal\n");
		return 1;
	}
	if (bundle_key_load(a, &bkey, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	/* Handing out a key is recorded before it is handed out. */
	keys_id(bkey.bytes, id);
	snprintf(object, sizeof(object), "backup.key:%s", id);
	if (admin_open(a, &sc) != 0 ||
	    (signer = admin_signer(a, err, sizeof(err))) == NULL ||
	    admin_record(a, sc, signer, "keys backup-key", "key.export", object,
	                 RK_OK, "the backup key, copied for keeping off the "
	                        "machine") != 0) {
		if (signer == NULL && sc != NULL)
			fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	rk_hex_encode(bkey.bytes, KEYS_LEN, hex);
	printf("%s\n", hex);
	fflush(stdout);
	OPENSSL_cleanse(hex, sizeof(hex));
	fprintf(stderr, "renkei-server: the backup key (key id %s) was written "
	                "in the clear: keep that file off this machine, mode "
	                "0600\n",
	        id);
	rc = 0;
out:
	OPENSSL_cleanse(&bkey, sizeof(bkey));
	audit_signer_free(signer);
	store_conn_close(sc);
	return rc;
}

int
admin_kek_new(void)
{
	char hex[65];

	keys_random_hex(hex);
	printf("%s\n", hex);
	fflush(stdout);
	OPENSSL_cleanse(hex, sizeof(hex));
	return 0;
}
