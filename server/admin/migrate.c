/*
 * `renkei-server keys migrate`: from the layout before keys_dir, where
 * DATA/keys/ held the database keys and the backup key as 64 hex digits
 * and the signing key as PEM, in the clear and inside the data folder, to the key folder
 * with every key wrapped under the KEK. Each old file is overwritten
 * with zeros, fsynced and removed once its wrapped copy is in place;
 * copies of the data folder made before still hold the old keys, which
 * is why the command ends by advising a rekey and a rotation.
 */
#include "admin/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/err.h"
#include "util/text.h"

static int
read_hex_key(const char *path, uint8_t out[32], char *err, size_t errlen)
{
	char buf[130];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	rc = n > 0 ? rk_hex_decode(buf, (size_t)n, out, 32) : -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc != 0)
		snprintf(err, errlen, "%s must hold 64 hex digits", path);
	return rc;
}

/* Overwrite with zeros, fsync, remove. */
static int
shred(const char *path)
{
	char zero[4096] = {0};
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == 0)
		for (off_t done = 0; done < st.st_size; done += (off_t)sizeof(zero))
			if (write(fd, zero, sizeof(zero)) < 0)
				break;
	fsync(fd);
	close(fd);
	return unlink(path);
}

int
admin_keys_migrate(struct admin *a)
{
	const struct conf *conf = a->conf;
	static const char *const old[4] = {"care.key", "audit.key",
	                                   "audit-signing.pem", "backup.key"};
	static const char *const files[4] = {KEYS_CARE, KEYS_AUDIT, KEYS_SIGNING,
	                                     NULL};
	static const char *const names[4] = {"care", "audit", "audit-signing",
	                                     "backup"};
	char from[4200], to[4200], err[ADMIN_ERR] = "";
	uint8_t key[32];
	struct store_conn *sc;
	struct audit_signer *s = NULL;
	struct stat st;
	int lock, rc = 1, moved = 0;

	lock = store_lock_data(conf->data_dir, "keys migrate", err, sizeof(err));
	if (lock < 0 ||
	    keys_dir_make(conf->keys_dir, conf->data_dir, err, sizeof(err)) != 0 ||
	    admin_kek(a, true, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		snprintf(from, sizeof(from), "%s/keys/%s", conf->data_dir, old[i]);
		if (files[i] != NULL)
			admin_key_path(a, files[i], to, sizeof(to));
		else
			snprintf(to, sizeof(to), "%s", conf->backup_key_file);
		if (lstat(from, &st) != 0)
			continue;
		if (lstat(to, &st) == 0) {
			fprintf(stderr,
			        "renkei-server: both %s and %s exist: refusing to "
			        "choose; remove the one that is not in use\n",
			        from, to);
			goto out;
		}
		if ((i != 2 ? read_hex_key(from, key, err, sizeof(err))
		           : (audit_pem_seed(from, key, err, sizeof(err)) == RK_OK
		                  ? 0
		                  : -1)) != 0 ||
		    keys_wrap_file(to, names[i], &a->kek, key, false, err,
		                   sizeof(err)) != 0) {
			OPENSSL_cleanse(key, sizeof(key));
			fprintf(stderr, "renkei-server: %s\n", err);
			goto out;
		}
		if (i == 2) {
			/* The only key this trail ever had: it is also the root. */
			s = audit_signer_new(key, err, sizeof(err));
			admin_key_path(a, KEYS_SIGNING_PUB, to, sizeof(to));
			if (s == NULL ||
			    audit_signer_write_pub(s, to, err, sizeof(err)) != RK_OK) {
				OPENSSL_cleanse(key, sizeof(key));
				fprintf(stderr, "renkei-server: %s\n", err);
				goto out;
			}
			admin_key_path(a, KEYS_ROOT_PUB, to, sizeof(to));
			if (lstat(to, &st) != 0 &&
			    audit_signer_write_pub(s, to, err, sizeof(err)) != RK_OK) {
				OPENSSL_cleanse(key, sizeof(key));
				fprintf(stderr, "renkei-server: %s\n", err);
				goto out;
			}
		}
		OPENSSL_cleanse(key, sizeof(key));
		printf("moved %s to %s, wrapped under the key-encryption key (%s)\n",
		       from, to, a->kek.source);
		moved++;
	}
	/* The databases open with the moved keys before the old ones go. */
	struct store_config cfg;
	admin_store_paths(a, &cfg);
	admin_key_path(a, KEYS_CARE, to, sizeof(to));
	int ok = keys_unwrap_file(to, "care", conf->data_dir, &a->kek,
	                          cfg.care_key.bytes, err, sizeof(err)) == 0;
	admin_key_path(a, KEYS_AUDIT, to, sizeof(to));
	ok = ok && keys_unwrap_file(to, "audit", conf->data_dir, &a->kek,
	                            cfg.audit_key.bytes, err, sizeof(err)) == 0;
	ok = ok && store_conn_open(&sc, &cfg, 0, err, sizeof(err)) == RK_OK;
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	if (!ok) {
		fprintf(stderr, "renkei-server: %s (the old keys are left as they "
		                "were)\n",
		        err);
		goto out;
	}
	store_conn_close(sc);
	for (int i = 0; i < 4; i++) {
		snprintf(from, sizeof(from), "%s/keys/%s", conf->data_dir, old[i]);
		if (shred(from) != 0)
			fprintf(stderr, "renkei-server: cannot remove %s: %s\n", from,
			        strerror(errno));
	}
	snprintf(from, sizeof(from), "%s/keys/audit-signing.pem.pub",
	         conf->data_dir);
	unlink(from);
	snprintf(from, sizeof(from), "%s/keys", conf->data_dir);
	rmdir(from);
	if (moved > 0)
		printf("keys now in %s. Copies of %s made before this still hold "
		       "the old keys in the clear: consider renkei-server rekey "
		       "care, rekey audit and audit rotate-key\n",
		       conf->keys_dir, conf->data_dir);
	else
		printf("nothing to migrate: no keys in %s/keys\n", conf->data_dir);
	rc = 0;
out:
	audit_signer_free(s);
	store_unlock_data(lock);
	return rc;
}
