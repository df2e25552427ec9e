/*
 * renkei-server restore --from DIR --data NEWDIR (admin/backup.h).
 *
 * The order, and why:
 *  1. the backup is checked as `backup verify` checks it: nothing is
 *     restored from a backup that does not verify;
 *  2. NEWDIR must hold no database, and the audit signing key must be
 *     the one that signed the backup's chain (a new key could not sign
 *     on from the backup's last checkpoint in a way that verifies);
 *  3. NEWDIR gets its keys as init makes them (admin_init: new database
 *     keys wherever none are configured);
 *  4. each database is copied from the backup into NEWDIR/NAME.restoring,
 *     under NEWDIR's own keys (store_copy); care.db.restoring is also
 *     the mark of a restore in progress, which every open of the
 *     folder refuses (store_conn_open);
 *  5. opened as the server opens them (migrated forward if the backup is
 *     older), and in one care.db transaction the outbox's ids are raised
 *     past what the restored trail has taken and the restore's own
 *     record is staged in the outbox (docs/audit-commit.md: the record
 *     commits with the restored data, and is forwarded like any other);
 *  6. audit.db.restoring, then care.db.restoring renamed into place: the
 *     last rename completes the restore;
 *  7. the store opened once with the journal, which forwards what the
 *     outbox holds (records the backup's snapshot had not forwarded yet,
 *     then the restore's), and closed, which signs a checkpoint over
 *     them; the chain is then verified.
 * A restore cut short before step 6's last rename leaves
 * care.db.restoring: the folder will not open, and restore refuses it
 * until its databases are removed.
 */
#include "admin/backup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "admin/bundle.h"
#include "admin/trail.h"
#include "audit/anchor.h"
#include "audit/audit.h"
#include "audit/canon.h"
#include "keys/keys.h"
#include "store/backup.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

static bool
exists(const char *dir, const char *name)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* The database files of a fresh folder: none, or the empty ones init
 * made a moment ago (never anything with data in it). */
static int
check_fresh(const char *dir)
{
	static const char *const names[] = {
		"care.db", "audit.db", "care.db-wal", "audit.db-wal",
		"care.db.restoring", "audit.db.restoring",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (exists(dir, names[i])) {
			fprintf(stderr,
			        "renkei-server: restore needs a fresh data folder, and "
			        "%s/%s exists%s\n",
			        dir, names[i],
			        strstr(names[i], ".restoring") != NULL
			                ? " (a restore that did not finish: remove the "
			                  "folder's databases first)"
			                : "");
			return -1;
		}
	}
	return 0;
}

/* DIR itself, or the newest backup in it. */
static int
pick(const char *from, char *out, size_t outlen)
{
	char **names;
	int n;

	if (exists(from, "manifest.json")) {
		snprintf(out, outlen, "%s", from);
		return 0;
	}
	n = bundle_list(from, &names);
	if (n <= 0) {
		fprintf(stderr, "renkei-server: %s is no backup and holds none\n", from);
		free(names);
		return -1;
	}
	snprintf(out, outlen, "%s/%s", from, names[n - 1]);
	fprintf(stderr, "restore: the newest backup in %s is %s\n", from,
	        names[n - 1]);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

static int
remove_db(const char *path)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Step 5 on the .restoring pair. */
static int
stage_record(const struct store_config *rcfg, const char *backup,
             const struct bundle_info *info, char *err, size_t errlen)
{
	struct store_conn *sc;
	struct audit_event ev = {0};
	char login[64], device[64], reason[600], hh[65], when[40];
	int rc;

	if (store_conn_open(&sc, rcfg, 0, err, errlen) != RK_OK)
		return -1;
	rk_hex_encode(info->head_hash, 32, hh);
	audit_format_time(info->created_ms, 0, true, when, sizeof(when));
	admin_trail_actor(&ev, "restore", login, device);
	ev.action = "restore";
	ev.object = info->name;
	snprintf(reason, sizeof(reason),
	         "from %.300s (made %s; audit head record %lld %.16s..., %lld records "
	         "forwarded from its outbox now); changes made after that backup "
	         "are not in this folder",
	         backup, when, (long long)info->head_id, hh, (long long)info->staged);
	ev.reason = reason;
	rc = store_exec(sc, "BEGIN IMMEDIATE");
	if (rc == RK_OK)
		rc = audit_store_journal.reconcile(sc, NULL);
	if (rc == RK_OK)
		rc = audit_stage(sc, &ev); /* signed over at step 7 */
	store_conn_release(sc);
	if (rc == RK_OK)
		rc = store_exec(sc, "COMMIT");
	if (rc != RK_OK) {
		snprintf(err, errlen, "cannot record the restore: %s",
		         sqlite3_errmsg(store_conn_db(sc)));
		if (!sqlite3_get_autocommit(store_conn_db(sc)))
			store_exec(sc, "ROLLBACK");
	}
	store_conn_close(sc);
	return rc == RK_OK ? 0 : -1;
}

static void
no_wake(void *arg)
{
	(void)arg;
}

/* Step 7. */
static int
forward_and_sign(const struct conf *conf, const struct store_config *cfg,
                 struct audit_signer *signer, char *err, size_t errlen)
{
	struct store_config scfg = *cfg;
	struct audit_journal j = {0};
	struct store *st;
	char serr[256];
	int rc;

	j.signer = signer;
	j.every_records = conf->audit_checkpoint_records;
	j.every_ms = (int64_t)conf->audit_checkpoint_s * 1000;
	j.sink = audit_sink_new(conf->checkpoint_sink, serr, sizeof(serr));
	if (j.sink == NULL && serr[0] != '\0')
		fprintf(stderr, "renkei-server: the checkpoint is not anchored: %s\n",
		        serr);
	scfg.journal = &audit_store_journal;
	scfg.journal_arg = &j;
	scfg.wake = no_wake;
	scfg.readers = 1;
	scfg.hashers = 1;
	rc = store_open(&st, &scfg, err, errlen);
	OPENSSL_cleanse(&scfg, sizeof(scfg));
	if (rc == RK_OK)
		store_close(st, audit_journal_close, &j);
	audit_sink_free(j.sink);
	return rc == RK_OK ? 0 : -1;
}

/* The backup's root public key into the new key folder (it is what the
 * restored chain verifies from), or, if one is there already, the same
 * key. 0 or -1 (printed). */
static int
place_root(struct admin *a, const char *backup)
{
	char src[4400], dst[4200], err[ADMIN_ERR];
	uint8_t id_b[32], id_k[32];
	EVP_PKEY *pk;
	struct stat st;

	snprintf(src, sizeof(src), "%s/" KEYS_ROOT_PUB, backup);
	if (stat(src, &st) != 0)
		snprintf(src, sizeof(src), "%s/" KEYS_SIGNING_PUB, backup);
	admin_key_path(a, KEYS_ROOT_PUB, dst, sizeof(dst));
	if ((pk = audit_pubkey_load(src, id_b, err, sizeof(err))) == NULL) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return -1;
	}
	EVP_PKEY_free(pk);
	if (stat(dst, &st) == 0) {
		if ((pk = audit_pubkey_load(dst, id_k, err, sizeof(err))) == NULL) {
			fprintf(stderr, "renkei-server: %s\n", err);
			return -1;
		}
		EVP_PKEY_free(pk);
		if (memcmp(id_b, id_k, 32) != 0) {
			fprintf(stderr,
			        "renkei-server: %s is not the root key of this backup's "
			        "chain (%s)\n",
			        dst, src);
			return -1;
		}
		return 0;
	}
	char cmd_err[64];
	FILE *in = fopen(src, "r"), *out = NULL;
	char buf[8192];
	size_t n;
	int ok = in != NULL && (out = fopen(dst, "wx")) != NULL;
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (out != NULL) {
		ok = ok && fflush(out) == 0 && fsync(fileno(out)) == 0;
		ok = (fclose(out) == 0) && ok;
		chmod(dst, 0644);
	}
	if (in != NULL)
		fclose(in);
	snprintf(cmd_err, sizeof(cmd_err), "%s", strerror(errno));
	if (!ok) {
		fprintf(stderr, "renkei-server: cannot write %s: %s\n", dst, cmd_err);
		unlink(dst);
		return -1;
	}
	return 0;
}

int
admin_restore(struct admin *a, const char *from)
{
	const struct conf *conf = a->conf;
	struct store_key bkey;
	struct store_config cfg, bcfg, rcfg;
	struct store_conn *src = NULL, *sc = NULL;
	struct bundle_info info;
	struct audit_signer *signer = NULL;
	struct audit_verify_result vr;
	struct bundle_progress bp = {.verb = "restore"};
	char backup[4200], err[ADMIN_ERR], bcare[4400], baudit[4400];
	char rcare[4200], raudit[4200], pub[4200];
	uint8_t key_id[32];
	int rc = 1;
	bool keys_loaded = false;

	memset(&cfg, 0, sizeof(cfg));
	memset(&bcfg, 0, sizeof(bcfg));
	if (pick(from, backup, sizeof(backup)) != 0)
		return 1;
	if (bundle_key_load(a, &bkey, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: restore needs the key the backup was "
		                "made with: %s (set backup_key_file or "
		                "RENKEI_BACKUP_KEY)\n",
		        err);
		return 1;
	}
	/* 1 */
	fprintf(stderr, "restore: checking %s\n", backup);
	if (bundle_check(backup, &bkey, stderr, &info, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: the backup does not verify, nothing "
		                "was restored: %s\n",
		        err);
		goto out;
	}
	/* 2 */
	if (check_fresh(conf->data_dir) != 0)
		goto out;
	/* The new folder's keys: its own folder, the backup's root key. */
	if (keys_dir_make(conf->keys_dir, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	if (place_root(a, backup) != 0)
		goto out;
	signer = admin_signer(a, err, sizeof(err));
	if (signer == NULL) {
		char id[65];
		rk_hex_encode(info.signing_key_id, 32, id);
		fprintf(stderr,
		        "renkei-server: restore needs the audit signing key that "
		        "signed this backup's chain (public key id %.16s...): put its "
		        "wrapped file (audit-signing.key of the old key folder) at "
		        "%s/%s (%s)\n",
		        id, conf->keys_dir, KEYS_SIGNING, err);
		goto out;
	}
	{
		/* The key that signed the backup's last checkpoint signs on. */
		const uint8_t *want = info.last_cp.cp_id != 0 ? info.last_cp.key_id
		                                              : info.signing_key_id;
		char ka[65], kb[65];
		audit_signer_key_id(signer, key_id);
		if (memcmp(key_id, want, 32) != 0) {
			rk_hex_encode(key_id, 32, ka);
			rk_hex_encode(want, 32, kb);
			fprintf(stderr,
			        "renkei-server: the audit signing key %s/%s (id %.16s...) "
			        "is not the one that signed this backup's chain (id "
			        "%.16s...)\n",
			        conf->keys_dir, KEYS_SIGNING, ka, kb);
			goto out;
		}
	}
	/* 3 */
	if (admin_init(a) != 0)
		goto out;
	fflush(stdout); /* its lines before our progress on stderr */
	if (admin_store_config(a, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	keys_loaded = true;
	/* The folder's own databases, made by init a moment ago, must be
	 * empty: then nothing is lost by replacing them. */
	if (store_conn_open(&sc, &cfg, 1, err, sizeof(err)) != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	{
		sqlite3_stmt *q = NULL;
		int64_t n = -1;
		if (sqlite3_prepare_v2(store_conn_db(sc),
		                       "SELECT (SELECT count(*) FROM users) + (SELECT"
		                       " count(*) FROM audit.records)",
		                       -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			n = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		store_conn_close(sc);
		sc = NULL;
		if (n != 0) {
			fprintf(stderr, "renkei-server: %s holds data: restore needs a "
			                "fresh data folder\n",
			        conf->data_dir);
			goto out;
		}
	}

	/* 4 */
	snprintf(bcare, sizeof(bcare), "%s/care.db", backup);
	snprintf(baudit, sizeof(baudit), "%s/audit.db", backup);
	bcfg.care_path = bcare;
	bcfg.audit_path = baudit;
	bcfg.care_key = bkey;
	bcfg.audit_key = bkey;
	snprintf(rcare, sizeof(rcare), "%s.restoring", cfg.care_path);
	snprintf(raudit, sizeof(raudit), "%s.restoring", cfg.audit_path);
	if (store_conn_open(&src, &bcfg, 1, err, sizeof(err)) != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	if (store_copy(src, "main", rcare, &cfg.care_key, 256, "care.db",
	               bundle_progress_cb, &bp, err, sizeof(err)) != RK_OK ||
	    (bp.last_ms = bp.start_ms = 0,
	     store_copy(src, "audit", raudit, &cfg.audit_key, 256, "audit.db",
	                bundle_progress_cb, &bp, err, sizeof(err))) != RK_OK) {
		fprintf(stderr, "renkei-server: restore failed: %s\n", err);
		store_conn_close(src);
		remove_db(raudit);
		remove_db(rcare);
		goto out;
	}
	store_conn_close(src);
	src = NULL;

	/* 5 */
	rcfg = cfg;
	rcfg.care_path = rcare;
	rcfg.audit_path = raudit;
	if (stage_record(&rcfg, backup, &info, err, sizeof(err)) != 0 ||
	    store_fsync_path(rcare) != 0 || store_fsync_path(raudit) != 0) {
		fprintf(stderr, "renkei-server: restore failed: %s\n", err);
		OPENSSL_cleanse(&rcfg, sizeof(rcfg));
		goto out;
	}
	OPENSSL_cleanse(&rcfg, sizeof(rcfg));

	/* 6 */
	if (remove_db(cfg.audit_path) != 0 || rename(raudit, cfg.audit_path) != 0 ||
	    remove_db(cfg.care_path) != 0 || rename(rcare, cfg.care_path) != 0 ||
	    store_fsync_path(conf->data_dir) != 0) {
		fprintf(stderr, "renkei-server: restore failed while renaming into "
		                "place: %s\n",
		        strerror(errno));
		goto out;
	}

	/* 7 */
	if (forward_and_sign(conf, &cfg, signer, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: the restored folder does not open: "
		                "%s\n",
		        err);
		goto out;
	}
	if (store_conn_open(&sc, &cfg, 1, err, sizeof(err)) != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	admin_key_path(a, KEYS_ROOT_PUB, pub, sizeof(pub));
	if (audit_verify_db(sc, "audit", pub, AUDIT_VERIFY_STRICT, NULL, &vr) != RK_OK ||
	    !vr.ok) {
		fprintf(stderr, "renkei-server: the restored audit chain does not "
		                "verify with %s: record %lld: %s\n",
		        pub, (long long)vr.first_bad_id, vr.why);
		goto out;
	}
	printf("restored %s into %s: %lld audit records and %lld checkpoints "
	       "verified (the backup's head was record %lld); the databases are "
	       "under this folder's keys; start the server with --data %s\n",
	       info.name, conf->data_dir, (long long)vr.records,
	       (long long)vr.checkpoints, (long long)info.head_id, conf->data_dir);
	rc = 0;
out:
	store_conn_close(sc);
	audit_signer_free(signer);
	if (keys_loaded)
		OPENSSL_cleanse(&cfg, sizeof(cfg));
	OPENSSL_cleanse(&bcfg, sizeof(bcfg));
	OPENSSL_cleanse(&bkey, sizeof(bkey));
	return rc;
}
