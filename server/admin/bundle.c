/*
 * One backup folder: key, manifest, check (admin/bundle.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "admin/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "audit/audit.h"
#include "audit/canon.h"
#include "keys/keys.h"
#include "store/backup.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

int
bundle_key_load(struct admin *a, struct store_key *key, char *err,
                size_t errlen)
{
	const char *env = getenv("RENKEI_BACKUP_KEY");
	const char *path = a->conf->backup_key_file;
	char buf[KEYS_LINE_MAX];
	ssize_t n;
	int fd, rc;

	if (env != NULL && env[0] != '\0') {
		size_t len = strlen(env);
		while (len > 0 && (env[len - 1] == '\n' || env[len - 1] == ' '))
			len--;
		if (rk_hex_decode(env, len, key->bytes, sizeof(key->bytes)) != 0) {
			snprintf(err, errlen, "RENKEI_BACKUP_KEY must hold 64 hex digits");
			return -1;
		}
		return 0;
	}
	if (keys_file_check(path, a->conf->data_dir, true, NULL, err, errlen) != 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the backup key %s: %s", path,
		         strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if (strncmp(buf, "renkei-key ", 11) == 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		if (admin_kek(a, false, err, errlen) != 0)
			return -1;
		return keys_unwrap_file(path, "backup", a->conf->data_dir, &a->kek,
		                        key->bytes, err, errlen);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	rc = rk_hex_decode(buf, (size_t)n, key->bytes, sizeof(key->bytes));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc != 0) {
		snprintf(err, errlen,
		         "%s is neither a wrapped backup key nor 64 hex digits", path);
		return -1;
	}
	return 0;
}

/* HMAC-SHA256(key, "renkei-backup/1 " label || data): the manifest's MAC
 * (data = the manifest), the key id (no data). */
static void
keyed(const struct store_key *key, const char *label, const void *data,
      size_t n, uint8_t out[32])
{
	char head[64];
	size_t hn = (size_t)snprintf(head, sizeof(head), "renkei-backup/1 %s", label);
	uint8_t *msg = rk_malloc(hn + n + 1);
	unsigned int len = 32;

	memcpy(msg, head, hn);
	if (n > 0)
		memcpy(msg + hn, data, n);
	if (HMAC(EVP_sha256(), key->bytes, 32, msg, hn + n, out, &len) == NULL)
		abort(); /* as rk_random: nothing can go on without it */
	free(msg);
}

void
bundle_key_id(const struct store_key *key, char out[33])
{
	uint8_t id[32];

	keyed(key, "key id", NULL, 0, id);
	rk_hex_encode(id, 16, out);
}

int
bundle_file_hash(const char *path, int64_t *bytes, uint8_t sha[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t buf[1 << 16];
	unsigned int len = 32;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int rc = -1;

	*bytes = 0;
	if (fd < 0 || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		*bytes += n;
	}
	if (n == 0 && EVP_DigestFinal_ex(ctx, sha, &len) == 1)
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
bundle_add_file(json_t *files, const char *dir, const char *name, char *err,
                size_t errlen)
{
	char path[4200], hex[65];
	uint8_t sha[32];
	int64_t bytes;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bundle_file_hash(path, &bytes, sha) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	rk_hex_encode(sha, 32, hex);
	json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", name,
	                                       "bytes", (json_int_t)bytes,
	                                       "sha256", hex));
	return 0;
}

static int
write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -1;
	while (n > 0 && rc == 0) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = -1;
		else {
			data += w;
			n -= (size_t)w;
		}
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -1;
	close(fd);
	return rc;
}

int
bundle_write_manifest(const char *dir, json_t *m, const struct store_key *key,
                      char digest[65], char *err, size_t errlen)
{
	char path[4200], hex[66];
	char *text = json_dumps(m, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	uint8_t mac[32], sha[32];
	size_t n;

	if (text == NULL) {
		snprintf(err, errlen, "cannot encode the manifest");
		return -1;
	}
	n = strlen(text);
	text[n] = '\0';
	rk_sha256(text, n, sha);
	rk_hex_encode(sha, 32, digest);
	keyed(key, "manifest", text, n, mac);
	rk_hex_encode(mac, 32, hex);
	hex[64] = '\n';
	hex[65] = '\0';
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (write_file(path, text, n) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	free(text);
	snprintf(path, sizeof(path), "%s/manifest.hmac", dir);
	if (write_file(path, hex, 65) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------- check */

static char *
read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*n = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			if (cap > (16u << 20)) { /* a manifest is a few KiB */
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = rk_realloc(buf, cap);
		}
		size_t r = fread(buf + *n, 1, 4096, f);
		*n += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[*n] = '\0';
	return buf;
}

static bool
get_hex(json_t *o, const char *k, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL && strlen(s) == 2 * n && rk_hex_decode(s, 2 * n, out, n) == 0;
}

/* Every file the manifest lists, as listed; none it does not. */
static int
check_files(const char *dir, json_t *m, struct bundle_info *info, char *err,
            size_t errlen)
{
	json_t *files = json_object_get(m, "files"), *f;
	size_t i;
	DIR *d;
	struct dirent *de;

	/* care.db, audit.db, audit-signing.pub, and since signing keys can
	 * rotate audit-root.pub, which the chain verifies from. */
	if (!json_is_array(files) || json_array_size(files) < 3 ||
	    json_array_size(files) > 4) {
		snprintf(err, errlen, "the manifest lists no files");
		return -1;
	}
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		json_int_t bytes = json_integer_value(json_object_get(f, "bytes"));
		uint8_t want[32], got[32];
		char path[4200];
		int64_t n;

		if (name == NULL || strchr(name, '/') != NULL || name[0] == '.' ||
		    !get_hex(f, "sha256", want, 32)) {
			snprintf(err, errlen, "the manifest's file %zu is malformed", i);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (bundle_file_hash(path, &n, got) != 0) {
			snprintf(err, errlen, "%s: cannot be read: %s", name, strerror(errno));
			return -1;
		}
		if (n != bytes) {
			snprintf(err, errlen, "%s: %lld bytes, the manifest says %lld",
			         name, (long long)n, (long long)bytes);
			return -1;
		}
		if (memcmp(want, got, 32) != 0) {
			snprintf(err, errlen, "%s: its SHA-256 is not the manifest's "
			                      "(the file was changed)",
			         name);
			return -1;
		}
		if (strcmp(name, "care.db") == 0)
			info->care_bytes = n;
		else if (strcmp(name, "audit.db") == 0)
			info->audit_bytes = n;
	}
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		bool listed = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		              strcmp(de->d_name, "manifest.json") == 0 ||
		              strcmp(de->d_name, "manifest.hmac") == 0;
		json_array_foreach(files, i, f) {
			const char *name = json_string_value(json_object_get(f, "name"));
			listed |= name != NULL && strcmp(name, de->d_name) == 0;
		}
		if (!listed) {
			snprintf(err, errlen, "%s is not in the manifest", de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* The manifest, if its MAC is the backup key's. */
static json_t *
read_manifest(const char *dir, const struct store_key *key, char *err,
              size_t errlen)
{
	char path[4200], *text, *mac_hex, id[33];
	uint8_t mac[32], want[32];
	size_t n, mn;
	json_t *m;
	json_error_t je;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	text = read_all(path, &n);
	if (text == NULL) {
		snprintf(err, errlen, "%s: cannot be read (not a backup?)", path);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/manifest.hmac", dir);
	mac_hex = read_all(path, &mn);
	if (mac_hex == NULL || mn < 64 || rk_hex_decode(mac_hex, 64, want, 32) != 0) {
		snprintf(err, errlen, "%s: missing or malformed", path);
		free(text);
		free(mac_hex);
		return NULL;
	}
	free(mac_hex);
	keyed(key, "manifest", text, n, mac);
	if (CRYPTO_memcmp(mac, want, 32) != 0) {
		m = json_loads(text, 0, NULL);
		bundle_key_id(key, id);
		if (m != NULL &&
		    json_string_value(json_object_get(m, "backup_key_id")) != NULL &&
		    strcmp(json_string_value(json_object_get(m, "backup_key_id")), id) != 0)
			snprintf(err, errlen,
			         "this backup was made with another backup key (key id "
			         "%s; the key given has id %s)",
			         json_string_value(json_object_get(m, "backup_key_id")), id);
		else
			snprintf(err, errlen, "manifest.json does not match its MAC "
			                      "(the manifest was changed)");
		json_decref(m);
		free(text);
		return NULL;
	}
	m = json_loads(text, 0, &je);
	free(text);
	if (m == NULL || json_integer_value(json_object_get(m, "renkei_backup")) !=
	                         BUNDLE_FORMAT) {
		snprintf(err, errlen, "manifest.json: not a renkei backup of format %d",
		         BUNDLE_FORMAT);
		json_decref(m);
		return NULL;
	}
	return m;
}

int
bundle_check(const char *dir, const struct store_key *key, FILE *progress,
             struct bundle_info *info, char *err, size_t errlen)
{
	char care[4200], audit[4200], pub[4200], why[300];
	struct store_config cfg;
	struct store_conn *sc = NULL;
	struct audit_verify_result vr;
	json_t *m, *a, *cp;
	uint8_t sha[32], pub_id[32];
	int64_t head;
	uint8_t head_hash[32];
	EVP_PKEY *pk;
	const char *s;
	size_t n;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	m = read_manifest(dir, key, err, errlen);
	if (m == NULL)
		return -1;
	if (check_files(dir, m, info, err, errlen) != 0)
		goto out;
	s = json_string_value(json_object_get(m, "name"));
	snprintf(info->name, sizeof(info->name), "%s", s != NULL ? s : "?");
	info->created_ms = json_integer_value(json_object_get(m, "created_ms"));
	a = json_object_get(m, "audit");
	info->head_id = json_integer_value(json_object_get(a, "head_id"));
	info->staged = json_integer_value(
	        json_object_get(json_object_get(m, "care"), "outbox_staged"));
	if (!get_hex(a, "head_hash", info->head_hash, 32) ||
	    !get_hex(m, "signing_key_id", info->signing_key_id, 32)) {
		snprintf(err, errlen, "the manifest is malformed");
		goto out;
	}
	cp = json_object_get(a, "last_checkpoint");
	if (json_is_object(cp)) {
		info->last_cp.cp_id = json_integer_value(json_object_get(cp, "id"));
		info->last_cp.record_id = json_integer_value(json_object_get(cp, "record_id"));
		if (!get_hex(cp, "record_hash", info->last_cp.hash, 32) ||
		    !get_hex(cp, "key_id", info->last_cp.key_id, 32)) {
			snprintf(err, errlen, "the manifest's checkpoint is malformed");
			goto out;
		}
	}
	{
		char mpath[4200], *text;
		snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
		text = read_all(mpath, &n);
		if (text != NULL) {
			rk_sha256(text, n, sha);
			rk_hex_encode(sha, 32, info->digest);
		}
		free(text);
	}

	/* The public key in the backup is the one the manifest names. */
	snprintf(pub, sizeof(pub), "%s/audit-signing.pub", dir);
	pk = audit_pubkey_load(pub, pub_id, err, errlen);
	if (pk == NULL)
		goto out;
	EVP_PKEY_free(pk);
	if (memcmp(pub_id, info->signing_key_id, 32) != 0) {
		snprintf(err, errlen, "audit-signing.pub is not the key the manifest names");
		goto out;
	}
	/* The chain verifies from the root key (the first signing key) across
	 * its rotations; a backup made before the root travelled with it has
	 * only the signing key, which then is the root. */
	{
		char root[4200];
		struct stat rst;
		snprintf(root, sizeof(root), "%s/" KEYS_ROOT_PUB, dir);
		if (stat(root, &rst) == 0)
			snprintf(pub, sizeof(pub), "%s", root);
	}

	/* Both databases open with the backup key, and are whole. */
	snprintf(care, sizeof(care), "%s/care.db", dir);
	snprintf(audit, sizeof(audit), "%s/audit.db", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.care_path = care;
	cfg.audit_path = audit;
	cfg.care_key = *key;
	cfg.audit_key = *key;
	if (store_conn_open(&sc, &cfg, 1, why, sizeof(why)) != RK_OK) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if (progress != NULL)
		fprintf(progress, "backup verify: %s: integrity_check\n", info->name);
	if (store_integrity(sc, "main", why, sizeof(why)) != RK_OK) {
		snprintf(err, errlen, "care.db: integrity_check: %s", why);
		goto out;
	}
	if (store_integrity(sc, "audit", why, sizeof(why)) != RK_OK) {
		snprintf(err, errlen, "audit.db: integrity_check: %s", why);
		goto out;
	}
	/* The chain, as `audit verify` checks it, with the backup's key. */
	if (progress != NULL)
		fprintf(progress, "backup verify: %s: audit chain\n", info->name);
	if (audit_verify_db(sc, "audit", pub, 0, progress, &vr) != RK_OK || !vr.ok) {
		snprintf(err, errlen, "audit chain: first bad record %lld: %s",
		         (long long)vr.first_bad_id, vr.why);
		goto out;
	}
	info->records = vr.records;
	info->checkpoints = vr.checkpoints;
	if (audit_chain_head(sc, "audit", &head, head_hash) != RK_OK ||
	    head != info->head_id || memcmp(head_hash, info->head_hash, 32) != 0) {
		snprintf(err, errlen, "audit.db's head is not the manifest's (record "
		                      "%lld)",
		         (long long)info->head_id);
		goto out;
	}
	/* The pair is one moment: the trail names no post change the care
	 * copy lacks (docs/backup.md). */
	{
		sqlite3_stmt *q = NULL;
		int64_t bad = -1;
		if (sqlite3_prepare_v2(
		            store_conn_db(sc),
		            "SELECT count(*), min(r.id) FROM audit.records r"
		            " WHERE r.action IN ('post.create', 'post.amend',"
		            " 'post.retract') AND r.outcome = 0 AND NOT EXISTS"
		            " (SELECT 1 FROM main.posts p JOIN main.patients pt"
		            " ON pt.id = p.patient_id WHERE p.id = CAST(r.object AS"
		            " INTEGER) AND p.author_id = r.actor_user_id"
		            " AND pt.code = r.patient)",
		            -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			bad = sqlite3_column_int64(q, 0);
		if (bad != 0) {
			snprintf(err, errlen,
			         "audit record %lld (and %lld in all) names a post that "
			         "care.db does not hold: the two are not one moment",
			         bad > 0 ? (long long)sqlite3_column_int64(q, 1) : 0LL,
			         (long long)bad);
			sqlite3_finalize(q);
			goto out;
		}
		sqlite3_finalize(q);
	}
	{
		struct audit_anchor last;
		if (audit_anchor_latest(sc, "audit", &last) != RK_OK ||
		    last.cp_id != info->last_cp.cp_id ||
		    last.record_id != info->last_cp.record_id ||
		    memcmp(last.hash, info->last_cp.hash, 32) != 0) {
			snprintf(err, errlen, "audit.db's last checkpoint is not the "
			                      "manifest's");
			goto out;
		}
		info->last_cp = last;
	}
	rc = 0;
out:
	store_conn_close(sc);
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	json_decref(m);
	return rc;
}

/* ------------------------------------------------------------- the folder */

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
bundle_list(const char *parent, char ***names)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	char **v = NULL, path[4200];
	size_t n = 0, cap = 0;
	struct stat st;

	*names = NULL;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, BUNDLE_PREFIX, strlen(BUNDLE_PREFIX)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/manifest.hmac", parent, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = rk_realloc(v, cap * sizeof(*v));
		}
		v[n++] = rk_strdup(de->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), by_name); /* the names hold their UTC time */
	*names = v;
	return (int)n;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

int
bundle_rm_rf(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
bundle_progress_cb(const struct store_copy_progress *p, void *arg)
{
	struct bundle_progress *bp = arg;
	int64_t now = rk_mono_ms();
	bool done = p->pages_done == p->pages_total;
	double mib = 1024.0 * 1024.0;

	if (bp->start_ms == 0)
		bp->start_ms = now;
	if (bp->max_mb_s > 0 && !done) {
		/* Where the copy may be by now at that rate; sleep off the
		 * lead. */
		int64_t due = bp->start_ms + p->pages_done * p->page_size * 1000 /
		                                     ((int64_t)bp->max_mb_s << 20);
		if (due > now)
			usleep((useconds_t)(due - now) * 1000);
		now = rk_mono_ms();
	}

	if (!done && now - bp->last_ms < 1000)
		return;
	bp->last_ms = now;
	fprintf(stderr, "%s: %s %.1f / %.1f MiB (%d%%, %lld / %lld pages)\n",
	        bp->verb, p->what, (double)(p->pages_done * p->page_size) / mib,
	        (double)(p->pages_total * p->page_size) / mib,
	        p->pages_total > 0 ? (int)(100 * p->pages_done / p->pages_total) : 100,
	        (long long)p->pages_done, (long long)p->pages_total);
}
