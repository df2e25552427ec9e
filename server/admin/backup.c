/*
 * renkei-server backup --to DIR, backup verify DIR (admin/backup.h).
 *
 * The order of a backup, and why:
 *  1. one read transaction on both live databases, care.db's snapshot
 *     first, audit.db's a moment later, taken again until the pair is
 *     consistent (audit_snapshot_check; the server is never stopped or
 *     locked out, it only has to have committed nothing in between);
 *  2. each database copied page by page from that snapshot into
 *     DIR/.NAME.partial under the backup key (store_copy), with
 *     progress on stderr;
 *  3. the public key, the manifest and its MAC written, everything
 *     flushed, and the whole backup checked as `backup verify` checks it;
 *  4. the backup's audit record committed in the live trail (with a
 *     checkpoint over it): no backup is kept that is not recorded — if
 *     the record cannot be written, the copy is removed;
 *  5. the folder renamed to DIR/NAME (the backup exists from here on),
 *     then older backups beyond backup_keep removed.
 * Backups into one DIR run one at a time (a lock file in DIR), so that
 * what a crashed run left (.NAME.partial) can be removed safely.
 */
#include "admin/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "admin/bundle.h"
#include "admin/trail.h"
#include "keys/keys.h"
#include "audit/anchor.h"
#include "audit/audit.h"
#include "audit/canon.h"
#include "store/backup.h"
#include "store/schema.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

/* How many times a snapshot is taken again when the server committed
 * between its two halves (each try takes microseconds). */
#define SNAPSHOT_TRIES 500

static int
newest_schema(const char *db)
{
	int n;
	const struct schema_migration *m = schema_migrations(db, &n);
	return m[n - 1].version;
}

static int64_t
one_int(struct store_conn *sc, const char *sql, int64_t dflt)
{
	sqlite3_stmt *q = NULL;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(store_conn_db(sc), sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int
mkdir_private(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "renkei-server: cannot create %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* Copy a public key of the key folder (KEYS/file) into the backup:
 * the signing key's (audit-signing.pub) and the root key, which the
 * chain verifies from (audit-root.pub). Never a private key. */
static int
copy_pub(struct admin *a, const char *file, const char *dir, char *err,
         size_t errlen)
{
	char src[4200], dst[4400], buf[8192];
	FILE *in, *out;
	size_t n;
	int ok = 1;

	admin_key_path(a, file, src, sizeof(src));
	snprintf(dst, sizeof(dst), "%s/%s", dir, file);
	in = fopen(src, "r");
	if (in == NULL) {
		snprintf(err, errlen, "cannot read %.300s: %s", src, strerror(errno));
		return -1;
	}
	out = fopen(dst, "wx");
	if (out == NULL) {
		fclose(in);
		snprintf(err, errlen, "cannot write %.300s: %s", dst, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok &= fwrite(buf, 1, n, out) == n;
	fclose(in);
	ok &= fflush(out) == 0 && fsync(fileno(out)) == 0;
	ok &= fclose(out) == 0;
	if (!ok) {
		snprintf(err, errlen, "cannot write %.300s", dst);
		return -1;
	}
	return 0;
}

/* Backups never live in the data folder: a copy of one must not carry
 * the other (nor may the data folder's size include its own backups). */
static int
inside_data(const struct conf *conf, const char *to_dir)
{
	char *data = realpath(conf->data_dir, NULL), *to = realpath(to_dir, NULL);
	size_t n = data != NULL ? strlen(data) : 0;
	int inside = data != NULL && to != NULL && strncmp(to, data, n) == 0 &&
	             (to[n] == '/' || to[n] == '\0');

	if (inside)
		fprintf(stderr, "renkei-server: %s is inside the data folder %s: keep "
		                "backups elsewhere (another disk, then off the machine)\n",
		        to_dir, conf->data_dir);
	free(data);
	free(to);
	return inside ? -1 : 0;
}

/* What a crashed run left in parent: only ever removed under the lock. */
static void
remove_partials(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	char path[4200];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, "." BUNDLE_PREFIX, strlen(BUNDLE_PREFIX) + 1) != 0 ||
		    n < 8 || strcmp(de->d_name + n - 8, ".partial") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		fprintf(stderr, "backup: removing %s, left by a backup that did not "
		                "finish\n",
		        path);
		bundle_rm_rf(path);
	}
	closedir(d);
}

struct snap {
	int tries;
	int64_t staged, head_id, posts, patients, attachments;
	uint8_t head_hash[32];
	struct audit_anchor last;
};

/* Step 1: a consistent snapshot of both databases, left open on src. */
static int
take_snapshot(struct store_conn *src, struct snap *sn, char *err, size_t errlen)
{
	bool covered = false;

	for (sn->tries = 1; sn->tries <= SNAPSHOT_TRIES; sn->tries++) {
		if (store_exec(src, "BEGIN") != RK_OK ||
		    audit_snapshot_check(src, &covered, &sn->staged) != RK_OK) {
			snprintf(err, errlen, "cannot read the databases: %s",
			         sqlite3_errmsg(store_conn_db(src)));
			return -1;
		}
		if (covered)
			break;
		/* The server forwarded records between the two halves. */
		store_conn_release(src);
		store_exec(src, "COMMIT");
		usleep((useconds_t)(1000 + rand() % 4000));
	}
	if (!covered) {
		snprintf(err, errlen, "no consistent snapshot in %d tries",
		         SNAPSHOT_TRIES);
		return -1;
	}
	if (audit_chain_head(src, "audit", &sn->head_id, sn->head_hash) != RK_OK ||
	    audit_anchor_latest(src, "audit", &sn->last) != RK_OK) {
		snprintf(err, errlen, "cannot read the audit trail's head");
		return -1;
	}
	sn->posts = one_int(src, "SELECT count(*) FROM main.posts", -1);
	sn->patients = one_int(src, "SELECT count(*) FROM main.patients", -1);
	sn->attachments = one_int(src, "SELECT count(*) FROM main.attachments", -1);
	return 0;
}

static json_t *
manifest_new(const char *name, int64_t created_ms, const struct store_key *bkey,
             const struct snap *sn, const uint8_t signing_key_id[32])
{
	char when[40], kid[33], hh[65], sk[65];
	json_t *cp = json_null();

	audit_format_time(created_ms, 0, true, when, sizeof(when));
	bundle_key_id(bkey, kid);
	rk_hex_encode(sn->head_hash, 32, hh);
	rk_hex_encode(signing_key_id, 32, sk);
	if (sn->last.cp_id != 0) {
		char rh[65], ki[65], t[40];
		rk_hex_encode(sn->last.hash, 32, rh);
		rk_hex_encode(sn->last.key_id, 32, ki);
		audit_format_time(sn->last.signed_ms, 0, true, t, sizeof(t));
		cp = json_pack("{s:I, s:I, s:s, s:I, s:s, s:i, s:s}", "id",
		               (json_int_t)sn->last.cp_id, "record_id",
		               (json_int_t)sn->last.record_id, "record_hash", rh,
		               "signed_ms", (json_int_t)sn->last.signed_ms, "time", t,
		               "clock_sync", sn->last.clock_sync, "key_id", ki);
	}
	return json_pack(
	        "{s:i, s:s, s:I, s:s, s:s, s:s, s:i, s:[],"
	        " s:{s:i, s:I, s:I, s:I, s:I},"
	        " s:{s:i, s:I, s:s, s:o}}",
	        "renkei_backup", BUNDLE_FORMAT, "name", name, "created_ms",
	        (json_int_t)created_ms, "created", when, "backup_key_id", kid,
	        "signing_key_id", sk, "snapshot_tries", sn->tries, "files",
	        "care", "schema", newest_schema("main"), "posts",
	        (json_int_t)sn->posts, "patients", (json_int_t)sn->patients,
	        "attachments", (json_int_t)sn->attachments, "outbox_staged",
	        (json_int_t)sn->staged,
	        "audit", "schema", newest_schema("audit"), "head_id",
	        (json_int_t)sn->head_id, "head_hash", hh, "last_checkpoint", cp);
}

/* Steps 1-3 into `dir` (made by the caller). */
static int
write_backup(struct admin *a, const struct store_config *cfg,
             const struct store_key *bkey, const char *dir, const char *name,
             struct bundle_info *info, char *err, size_t errlen)
{
	const struct conf *conf = a->conf;
	struct store_conn *src = NULL;
	struct bundle_progress bp = {.verb = "backup",
	                             .max_mb_s = conf->backup_max_mb_s};
	struct snap sn;
	char path[4400], pub[4200], digest[65];
	uint8_t signing_id[32];
	int64_t created_ms = rk_now_ms(), t0 = 0, t1 = 0;
	json_t *m = NULL;
	EVP_PKEY *pk;
	int rc = -1;

	memset(&sn, 0, sizeof(sn));
	admin_key_path(a, KEYS_SIGNING_PUB, pub, sizeof(pub));
	pk = audit_pubkey_load(pub, signing_id, err, errlen);
	if (pk == NULL)
		return -1;
	EVP_PKEY_free(pk);
	if (store_conn_open(&src, cfg, 1, err, errlen) != RK_OK)
		return -1;
	if (one_int(src, "PRAGMA main.user_version", -1) != newest_schema("main") ||
	    one_int(src, "PRAGMA audit.user_version", -1) != newest_schema("audit")) {
		snprintf(err, errlen,
		         "the databases are at schema %lld/%lld, this renkei-server "
		         "at %d/%d: start the server once (it migrates them), then "
		         "back up",
		         (long long)one_int(src, "PRAGMA main.user_version", -1),
		         (long long)one_int(src, "PRAGMA audit.user_version", -1),
		         newest_schema("main"), newest_schema("audit"));
		goto out;
	}
	t0 = rk_mono_ms();
	if (take_snapshot(src, &sn, err, errlen) != 0)
		goto out;
	if (sn.tries > 1)
		fprintf(stderr, "backup: the server committed between the two halves "
		                "of the snapshot; consistent at try %d\n",
		        sn.tries);
	fprintf(stderr, "backup: snapshot of care.db (%lld posts) and audit.db "
	                "(head record %lld; %lld records still in the outbox)\n",
	        (long long)sn.posts, (long long)sn.head_id, (long long)sn.staged);
	snprintf(path, sizeof(path), "%s/care.db", dir);
	if (store_copy(src, "main", path, bkey, 256, "care.db", bundle_progress_cb,
	               &bp, err, errlen) != RK_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/audit.db", dir);
	bp.last_ms = bp.start_ms = 0;
	if (store_copy(src, "audit", path, bkey, 256, "audit.db", bundle_progress_cb,
	               &bp, err, errlen) != RK_OK)
		goto out;
	store_conn_release(src);
	store_exec(src, "COMMIT");
	store_conn_close(src);
	src = NULL;
	t1 = rk_mono_ms();

	if (copy_pub(a, KEYS_SIGNING_PUB, dir, err, errlen) != 0 ||
	    copy_pub(a, KEYS_ROOT_PUB, dir, err, errlen) != 0)
		goto out;
	m = manifest_new(name, created_ms, bkey, &sn, signing_id);
	if (m == NULL) {
		snprintf(err, errlen, "cannot make the manifest");
		goto out;
	}
	if (bundle_add_file(json_object_get(m, "files"), dir, "care.db", err, errlen) != 0 ||
	    bundle_add_file(json_object_get(m, "files"), dir, "audit.db", err, errlen) != 0 ||
	    bundle_add_file(json_object_get(m, "files"), dir, "audit-signing.pub", err,
	                    errlen) != 0 ||
	    bundle_add_file(json_object_get(m, "files"), dir, KEYS_ROOT_PUB, err,
	                    errlen) != 0 ||
	    bundle_write_manifest(dir, m, bkey, digest, err, errlen) != 0)
		goto out;
	if (store_fsync_path(dir) != 0) {
		snprintf(err, errlen, "cannot flush %.300s: %s", dir, strerror(errno));
		goto out;
	}
	/* What was written is what a restore will read. */
	if (bundle_check(dir, bkey, NULL, info, err, errlen) != 0)
		goto out;
	fprintf(stderr, "backup: copied in %.2f s (the snapshot held that long), "
	                "written and checked in %.2f s\n",
	        (double)(t1 - t0) / 1000.0, (double)(rk_mono_ms() - t1) / 1000.0);
	rc = 0;
out:
	json_decref(m);
	if (src != NULL) {
		if (!sqlite3_get_autocommit(store_conn_db(src))) {
			store_conn_release(src);
			store_exec(src, "COMMIT");
		}
		store_conn_close(src);
	}
	return rc;
}

/* Step 5's second half. */
static void
rotate(const char *parent, int keep)
{
	char **names, path[4200];
	int n = bundle_list(parent, &names);

	for (int i = 0; i < n; i++) {
		if (i < n - keep) {
			snprintf(path, sizeof(path), "%s/%s", parent, names[i]);
			if (bundle_rm_rf(path) == 0)
				printf("removed the old backup %s (backup_keep %d)\n",
				       names[i], keep);
			else
				fprintf(stderr, "renkei-server: cannot remove %s: %s\n", path,
				        strerror(errno));
		}
		free(names[i]);
	}
	free(names);
}

int
admin_backup(struct admin *a, const char *to_dir)
{
	const struct conf *conf = a->conf;
	struct store_config cfg;
	struct store_key bkey;
	struct bundle_info info;
	struct audit_event ev = {0};
	char err[ADMIN_ERR], name[128], partial[4200], final[4200], lock[4200];
	char login[64], device[64], reason[700];
	struct tm tm;
	time_t now = time(NULL);
	int lfd = -1, rc = 1;
	int64_t t_rec;
	bool made = false;

	if (admin_store_config(a, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	if (bundle_key_load(a, &bkey, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s (renkei-server init makes one)\n", err);
		goto out;
	}
	if (memcmp(bkey.bytes, cfg.care_key.bytes, 32) == 0 ||
	    memcmp(bkey.bytes, cfg.audit_key.bytes, 32) == 0) {
		fprintf(stderr, "renkei-server: the backup key is one of the live "
		                "keys: backups must have a key of their own\n");
		goto out;
	}
	if (mkdir_private(to_dir) != 0 || inside_data(conf, to_dir) != 0)
		goto out;
	snprintf(lock, sizeof(lock), "%s/.renkei-backup.lock", to_dir);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "renkei-server: %s: %s\n", lock,
		        lfd < 0 ? strerror(errno) : "another backup into this folder "
		                                    "is running");
		goto out;
	}
	remove_partials(to_dir);

	gmtime_r(&now, &tm);
	snprintf(name, sizeof(name), BUNDLE_PREFIX "%04d%02d%02dT%02d%02d%02dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec);
	for (int i = 2;; i++) {
		struct stat st;
		snprintf(final, sizeof(final), "%s/%s", to_dir, name);
		if (stat(final, &st) != 0)
			break;
		/* Two backups in one second: the second gets a suffix (two
		 * digits, so that names still sort by time). */
		snprintf(name + strlen(BUNDLE_PREFIX) + 16,
		         sizeof(name) - strlen(BUNDLE_PREFIX) - 16, "-%02d", i);
	}
	snprintf(partial, sizeof(partial), "%s/.%s.partial", to_dir, name);
	if (mkdir(partial, 0700) != 0) {
		fprintf(stderr, "renkei-server: cannot create %s: %s\n", partial,
		        strerror(errno));
		goto out;
	}
	made = true;
	if (write_backup(a, &cfg, &bkey, partial, name, &info, err,
	                 sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: backup failed: %s\n", err);
		goto out;
	}

	/* Step 4: recorded, or not kept. */
	admin_trail_actor(&ev, "backup", login, device);
	ev.action = "backup";
	ev.object = name;
	snprintf(reason, sizeof(reason),
	         "to %s: care.db %lld bytes, audit.db %lld bytes, audit head "
	         "record %lld, %lld records in the outbox; manifest sha256 %s",
	         to_dir, (long long)info.care_bytes, (long long)info.audit_bytes,
	         (long long)info.head_id, (long long)info.staged, info.digest);
	ev.reason = reason;
	t_rec = rk_mono_ms();
	if (admin_trail_append(a, &cfg, &ev, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: the backup could not be recorded in "
		                "the audit trail, so it was not kept: %s\n",
		        err);
		goto out;
	}
	if (rename(partial, final) != 0 || store_fsync_path(to_dir) != 0) {
		fprintf(stderr, "renkei-server: cannot rename %s to %s: %s\n", partial,
		        final, strerror(errno));
		goto out;
	}
	made = false;
	fprintf(stderr, "backup: recorded in the audit trail in %lld ms\n",
	        (long long)(rk_mono_ms() - t_rec));
	{
		char hh[65];
		rk_hex_encode(info.head_hash, 32, hh);
		printf("backup %s: care.db %.1f MiB, audit.db %.1f MiB; audit head "
		       "record %lld (%.16s...), last checkpoint %lld at record %lld; "
		       "%lld records in the outbox, forwarded on restore\n",
		       final, (double)info.care_bytes / 1048576.0,
		       (double)info.audit_bytes / 1048576.0, (long long)info.head_id,
		       hh, (long long)info.last_cp.cp_id,
		       (long long)info.last_cp.record_id, (long long)info.staged);
	}
	rotate(to_dir, conf->backup_keep);
	rc = 0;
out:
	if (made)
		bundle_rm_rf(partial);
	if (lfd >= 0)
		close(lfd); /* the lock goes with it */
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	OPENSSL_cleanse(&bkey, sizeof(bkey));
	return rc;
}

static int
verify_one(const char *dir, const struct store_key *bkey)
{
	struct bundle_info info;
	char err[1024], hh[65], when[40];

	if (bundle_check(dir, bkey, stderr, &info, err, sizeof(err)) != 0) {
		printf("FAILED: %s: %s\n", dir, err);
		return 1;
	}
	rk_hex_encode(info.head_hash, 32, hh);
	audit_format_time(info.created_ms, 0, true, when, sizeof(when));
	printf("OK: %s (made %s): care.db %.1f MiB, audit.db %.1f MiB, both open "
	       "with the backup key and pass integrity_check; %lld audit records "
	       "and %lld checkpoints verified, head record %lld (%.16s...); %lld "
	       "records in the outbox\n",
	       info.name, when, (double)info.care_bytes / 1048576.0,
	       (double)info.audit_bytes / 1048576.0, (long long)info.records,
	       (long long)info.checkpoints, (long long)info.head_id, hh,
	       (long long)info.staged);
	return 0;
}

int
admin_backup_verify(struct admin *a, const char *dir)
{
	struct store_key bkey;
	char err[ADMIN_ERR], path[4200], **names;
	struct stat st;
	int n, rc = 0;

	if (bundle_key_load(a, &bkey, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (stat(path, &st) == 0) {
		rc = verify_one(dir, &bkey);
		OPENSSL_cleanse(&bkey, sizeof(bkey));
		return rc;
	}
	/* A folder of backups: every one of them. */
	n = bundle_list(dir, &names);
	if (n <= 0) {
		fprintf(stderr, "renkei-server: %s holds no backup\n", dir);
		OPENSSL_cleanse(&bkey, sizeof(bkey));
		free(names);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rc |= verify_one(path, &bkey);
		free(names[i]);
	}
	free(names);
	OPENSSL_cleanse(&bkey, sizeof(bkey));
	return rc;
}
