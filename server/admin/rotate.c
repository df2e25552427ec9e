/*
 * `renkei-server audit rotate-key`: a new audit signing key, introduced
 * by a rotation checkpoint that the old key signs (audit/canon.h, "the
 * chain of signing keys"). Offline, under the data folder's lock, and
 * crash-safe in the manner of rekey.c:
 *
 *   state  KEYS/audit-signing.key  .key.new  audit.db
 *   A      S0                      -         last rotation names S0 (or none: root)
 *   B      S0                      S1        as in A
 *   C      S0                      S1        record "audit.key.rotate" and the
 *                                            rotation checkpoint naming S1,
 *                                            signed by S0 (one transaction)
 *   D      S1 (.pub written first) -         as in C
 *
 * Recovery: if audit-signing.key.new exists, the trail says which state:
 * its last rotation names S1 — C, finish (write the .pub, rename); it
 * does not — B, the rotation never happened: record the attempt as
 * failed (signed by S0, still the trail's key; once only: the record
 * names S1) and remove the .new. audit-root.pub, the trust anchor, is
 * never touched.
 */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/anchor.h"
#include "util/err.h"
#include "util/text.h"

static void
id_hex(const uint8_t pub[32], char out[65])
{
	uint8_t id[32];

	rk_sha256(pub, 32, id);
	rk_hex_encode(id, 32, out);
}

int
admin_rotation_recover(struct admin *a, struct store_conn *sc, bool *changed)
{
	char keyp[4200], newp[4300], pubp[4200], root[4200], err[ADMIN_ERR] = "";
	char object[96], hex[65];
	uint8_t seed[KEYS_LEN], pub[32], want[32];
	struct audit_signer *next = NULL, *old = NULL;
	struct stat st;
	int rc = -1, r;

	*changed = false;
	admin_key_path(a, KEYS_SIGNING, keyp, sizeof(keyp));
	admin_key_path(a, KEYS_SIGNING_PUB, pubp, sizeof(pubp));
	admin_key_path(a, KEYS_ROOT_PUB, root, sizeof(root));
	snprintf(newp, sizeof(newp), "%s%s", keyp, KEYS_NEW_SUFFIX);
	if (lstat(newp, &st) != 0)
		return 0;
	if (keys_unwrap_file(newp, "audit-signing", a->conf->data_dir, &a->kek,
	                     seed, err, sizeof(err)) != 0)
		goto out;
	next = audit_signer_new(seed, err, sizeof(err));
	OPENSSL_cleanse(seed, sizeof(seed));
	if (next == NULL || audit_signer_pub(next, pub, NULL) != RK_OK ||
	    audit_trail_key(sc, "audit", root, want, err, sizeof(err)) != RK_OK)
		goto out;
	id_hex(pub, hex);
	if (memcmp(pub, want, 32) == 0) {
		if (audit_signer_write_pub(next, pubp, err, sizeof(err)) != RK_OK)
			goto out;
		if (keys_rename_durable(newp, keyp) != 0) {
			snprintf(err, sizeof(err), "cannot rename %s to %s: %s", newp,
			         keyp, strerror(errno));
			goto out;
		}
		printf("audit signing key: an interrupted rotation had committed: "
		       "the trail names the NEW key (key id %.16s...), now in %s; "
		       "finished\n",
		       hex, keyp);
	} else {
		if ((old = admin_signer(a, err, sizeof(err))) == NULL ||
		    admin_signer_matches(a, sc, old, err, sizeof(err)) != 0)
			goto out;
		snprintf(object, sizeof(object), "audit-signing:%s", hex);
		r = admin_recorded(sc, "audit.key.rotate", object);
		if (r < 0 ||
		    (r == 0 &&
		     admin_record(a, sc, old, "audit rotate-key",
		                  "audit.key.rotate", object, RK_ERR_UNAVAILABLE,
		                  "interrupted before it committed: the signing key "
		                  "stays") != 0)) {
			err[0] = '\0';
			goto out;
		}
		if (unlink(newp) != 0 || keys_sync_dir_of(newp) != 0) {
			snprintf(err, sizeof(err), "cannot remove %s: %s", newp,
			         strerror(errno));
			goto out;
		}
		printf("audit signing key: an interrupted rotation had not "
		       "committed: the OLD key stays; the new key (key id "
		       "%.16s...) was discarded\n",
		       hex);
	}
	*changed = true;
	rc = 0;
out:
	if (rc != 0 && err[0] != '\0')
		fprintf(stderr, "renkei-server: %s\n", err);
	audit_signer_free(next);
	audit_signer_free(old);
	return rc;
}

int
admin_audit_rotate_key(struct admin *a)
{
	char keyp[4200], newp[4300], pubp[4200], err[ADMIN_ERR] = "", object[96];
	char old_hex[65], new_hex[65], reason[200];
	uint8_t seed[KEYS_LEN], old_pub[32], new_pub[32];
	struct audit_signer *old = NULL, *next = NULL;
	struct store_conn *sc = NULL;
	int lock, rc = 1;

	if ((lock = admin_offline_begin(a, "audit rotate-key")) < 0)
		return 1;
	if (admin_offline_recover(a) != 0 || admin_open(a, &sc) != 0)
		goto out;
	admin_key_path(a, KEYS_SIGNING, keyp, sizeof(keyp));
	admin_key_path(a, KEYS_SIGNING_PUB, pubp, sizeof(pubp));
	snprintf(newp, sizeof(newp), "%s%s", keyp, KEYS_NEW_SUFFIX);
	if ((old = admin_signer(a, err, sizeof(err))) == NULL ||
	    admin_signer_matches(a, sc, old, err, sizeof(err)) != 0 ||
	    audit_signer_pub(old, old_pub, NULL) != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	/* A -> B */
	rk_random(seed, sizeof(seed));
	next = audit_signer_new(seed, err, sizeof(err));
	if (next == NULL || audit_signer_pub(next, new_pub, NULL) != RK_OK ||
	    keys_wrap_file(newp, "audit-signing", &a->kek, seed, false, err,
	                   sizeof(err)) != 0) {
		OPENSSL_cleanse(seed, sizeof(seed));
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	id_hex(old_pub, old_hex);
	id_hex(new_pub, new_hex);
	/* B -> C: the record, and the checkpoint over it that names the new
	 * key, in one transaction. */
	snprintf(object, sizeof(object), "audit-signing:%s", new_hex);
	snprintf(reason, sizeof(reason), "signing key %.16s... replaced by %.16s...",
	         old_hex, new_hex);
	if (store_exec(sc, "BEGIN IMMEDIATE") != RK_OK ||
	    admin_append(sc, "audit rotate-key", "audit.key.rotate",
	                 object, RK_OK, reason) != 0 ||
	    audit_rotate_sign(sc, "audit", old, new_pub, 0) != RK_OK) {
		struct audit_anchor dropped;
		store_conn_release(sc);
		store_exec(sc, "ROLLBACK");
		audit_signer_take(old, &dropped);
		fprintf(stderr, "renkei-server: cannot write the rotation "
		                "checkpoint (run renkei-server keys check)\n");
		goto out;
	}
	store_conn_release(sc);
	if (store_exec(sc, "COMMIT") != RK_OK) {
		struct audit_anchor dropped;
		store_exec(sc, "ROLLBACK");
		audit_signer_take(old, &dropped);
		fprintf(stderr, "renkei-server: cannot commit the rotation "
		                "checkpoint (run renkei-server keys check)\n");
		goto out;
	}
	admin_anchor(a, old); /* the rotation checkpoint, off the host too */
	/* C -> D */
	if (audit_signer_write_pub(next, pubp, err, sizeof(err)) != RK_OK ||
	    keys_rename_durable(newp, keyp) != 0) {
		fprintf(stderr, "renkei-server: %s (run renkei-server keys check)\n",
		        err[0] ? err : strerror(errno));
		goto out;
	}
	printf("audit signing key rotated: key id %.16s... replaced by %.16s... "
	       "(a rotation checkpoint signed by the old key names the new one; "
	       "%s/%s stays the key to verify with)\n",
	       old_hex, new_hex, a->conf->keys_dir, KEYS_ROOT_PUB);
	rc = 0;
out:
	audit_signer_free(old);
	audit_signer_free(next);
	store_conn_close(sc);
	store_unlock_data(lock);
	return rc;
}
