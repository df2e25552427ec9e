/*
 * `renkei-server rekey care|audit` and `renkei-server keys check`.
 *
 * A rekey replaces a database key, offline (the data folder's lock
 * keeps the server, and any other rekey, out for the whole time), in
 * four steps, each of which either happened completely or not at all
 * when the process dies — SIGKILL included:
 *
 *   state  KEYS/care.key  KEYS/care.key.new  care.db under  audit.db holds
 *   A      K0             -                  K0             -
 *   B      K0             K1                 K0             -
 *   C      K0             K1                 K1             -
 *   D      K0             K1                 K1             "key.rekey" ok, care.db:<id K1>
 *   E      K1             -                  K1             "key.rekey" ok
 *
 *   A->B  K1 wrapped into care.key.new: written to care.key.new.tmp,
 *         fsynced, renamed, folder fsynced (keys_wrap_file), so the file
 *         is whole or absent.
 *   B->C  PRAGMA rekey in rollback-journal mode: one transaction whose
 *         journal keeps every page under K0, so that until its commit
 *         (the journal's deletion) the next open, with either key,
 *         plays the journal back and finds K0's database
 *         (store/rekey.c).
 *   C->D  the audit record and a checkpoint over it, one audit.db
 *         transaction (for `rekey audit`, in audit.db under K1).
 *   D->E  care.key.new renamed over care.key, folder fsynced.
 *
 * Recovery (at the start of every rekey, rotate-key and keys check; the
 * server refuses to start while a NAME.new exists): if care.key.new is
 * there, try K0 on care.db: it opens — state B, the rekey never
 * committed: record it as failed, remove care.key.new (back to A). Else
 * try K1: it opens — C or D: record it as done unless the record naming
 * K1 is already there (D), rename (E). Neither opens: refuse and touch
 * nothing. A record names its new key ("care.db:<id>"), which is what
 * makes writing it again after a crash a no-op. The tool says in each
 * case which key opens the database.
 *
 * audit.db is rekeyed the same way with audit.key; an interrupted
 * signing-key rotation is resolved in between (rotate.c), once both
 * databases open, and before any record is signed.
 */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/err.h"
#include "util/text.h"

struct target {
	const char *name; /* "care": the key's name and the database's */
	const char *file; /* KEYS_CARE */
};
static const struct target targets[2] = {{"care", KEYS_CARE},
                                         {"audit", KEYS_AUDIT}};

/* What recovery found for one database. */
struct dbstate {
	const struct target *t;
	struct store_key key;  /* the key that opens it now */
	struct store_key next; /* a key being put in place (leftover) */
	char state;            /* 0 nothing left, 'B' not committed, 'C' committed */
	char id_old[17], id_new[17];
	char keyp[4200], newp[4300], db[4200];
};

static void
paths(struct admin *a, struct dbstate *d, const struct target *t)
{
	memset(d, 0, sizeof(*d));
	d->t = t;
	admin_key_path(a, t->file, d->keyp, sizeof(d->keyp));
	snprintf(d->newp, sizeof(d->newp), "%s%s", d->keyp, KEYS_NEW_SUFFIX);
	snprintf(d->db, sizeof(d->db), "%s/%s.db", a->conf->data_dir, t->name);
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Unwrap the key, and any key left half in place; find which one opens
 * the database. Reads only (a hot journal is played back). */
static int
probe(struct admin *a, struct dbstate *d, char *err, size_t errlen)
{
	int r;

	if (keys_unwrap_file(d->keyp, d->t->name, a->conf->data_dir, &a->kek,
	                     d->key.bytes, err, errlen) != 0)
		return -1;
	keys_id(d->key.bytes, d->id_old);
	if (!exists(d->newp))
		return 0;
	if (keys_unwrap_file(d->newp, d->t->name, a->conf->data_dir, &a->kek,
	                     d->next.bytes, err, errlen) != 0)
		return -1;
	keys_id(d->next.bytes, d->id_new);
	r = store_file_opens(d->db, &d->key, err, errlen);
	if (r == 1) {
		d->state = 'B';
		return 0;
	}
	if (r == 0 && (r = store_file_opens(d->db, &d->next, err, errlen)) == 1) {
		d->state = 'C';
		d->key = d->next;
		return 0;
	}
	if (r == 0)
		snprintf(err, errlen,
		         "%s opens neither with %s (key id %s) nor with %s (key id "
		         "%s): touching nothing",
		         d->db, d->keyp, d->id_old, d->newp, d->id_new);
	return -1;
}

static int
open_with(struct admin *a, const struct store_key *care,
          const struct store_key *audit, struct store_conn **sc, char *err,
          size_t errlen)
{
	struct store_config cfg;
	int rc;

	admin_store_paths(a, &cfg);
	cfg.care_key = *care;
	cfg.audit_key = *audit;
	rc = store_conn_open(sc, &cfg, 0, err, errlen);
	OPENSSL_cleanse(&cfg, sizeof(cfg));
	return rc == RK_OK ? 0 : -1;
}

/* Record a rekey's outcome (once: a record naming the new key is never
 * written twice). */
static int
record(struct admin *a, struct store_conn *sc, struct audit_signer *signer,
       const struct dbstate *d, const char *id_old, const char *id_new,
       bool done)
{
	char object[64], reason[200];
	int r;

	snprintf(object, sizeof(object), "%s.db:%s", d->t->name, id_new);
	r = admin_recorded(sc, "key.rekey", object);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (done)
		snprintf(reason, sizeof(reason), "%s.db: key %s replaced by key %s",
		         d->t->name, id_old, id_new);
	else
		snprintf(reason, sizeof(reason),
		         "interrupted before it committed: %s.db keeps key %s",
		         d->t->name, id_old);
	return admin_record(a, sc, signer, "rekey", "key.rekey", object,
	                    done ? RK_OK : RK_ERR_UNAVAILABLE, reason);
}

/* The last step of a state: B -> A or C/D -> E. */
static int
settle(struct dbstate *d, char *err, size_t errlen)
{
	if (d->state == 'B') {
		if (unlink(d->newp) != 0 || keys_sync_dir_of(d->newp) != 0) {
			snprintf(err, errlen, "cannot remove %s: %s", d->newp,
			         strerror(errno));
			return -1;
		}
		printf("%s.db: an interrupted rekey had not committed: %s.db opens "
		       "with the OLD key (key id %s, %s), as before; the new key "
		       "(key id %s) was discarded\n",
		       d->t->name, d->t->name, d->id_old, d->t->file, d->id_new);
	} else if (d->state == 'C') {
		if (keys_rename_durable(d->newp, d->keyp) != 0) {
			snprintf(err, errlen, "cannot rename %s to %s: %s", d->newp,
			         d->keyp, strerror(errno));
			return -1;
		}
		printf("%s.db: an interrupted rekey had committed: %s.db opens with "
		       "the NEW key (key id %s), now in %s; finished\n",
		       d->t->name, d->t->name, d->id_new, d->t->file);
	}
	return 0;
}

static void
wipe(struct dbstate *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		OPENSSL_cleanse(&d[i], sizeof(d[i]));
}

/* Resolve everything a crash left half done; on success d[] holds the
 * key that opens each database. *sc_out (if not NULL) gets an open
 * connection with those keys. 0, or -1 after printing why. */
static int
recover(struct admin *a, struct dbstate d[2], struct store_conn **sc_out)
{
	struct audit_signer *signer = NULL;
	struct store_conn *sc = NULL;
	char err[ADMIN_ERR];
	bool changed = false;
	int rc = -1;

	for (int i = 0; i < 2; i++) {
		paths(a, &d[i], &targets[i]);
		if (probe(a, &d[i], err, sizeof(err)) != 0)
			goto out;
	}
	if (open_with(a, &d[0].key, &d[1].key, &sc, err, sizeof(err)) != 0)
		goto out;
	/* A rotation first: records below must be signed by the key the
	 * trail expects. */
	if (admin_rotation_recover(a, sc, &changed) != 0) {
		err[0] = '\0';
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		if (d[i].state == 0)
			continue;
		if (signer == NULL &&
		    (signer = admin_signer(a, err, sizeof(err))) == NULL)
			goto out;
		if (record(a, sc, signer, &d[i], d[i].id_old, d[i].id_new,
		           d[i].state == 'C') != 0) {
			err[0] = '\0';
			goto out;
		}
		if (settle(&d[i], err, sizeof(err)) != 0)
			goto out;
		if (d[i].state == 'C')
			memcpy(d[i].id_old, d[i].id_new, sizeof(d[i].id_old));
	}
	rc = 0;
out:
	if (rc != 0 && err[0] != '\0')
		fprintf(stderr, "renkei-server: %s\n", err);
	audit_signer_free(signer);
	if (rc == 0 && sc_out != NULL)
		*sc_out = sc;
	else
		store_conn_close(sc);
	return rc;
}

/* The lock, the KEK, the folder: what rekey, rotate-key and keys check
 * start with. The lock descriptor, or -1 after printing why. */
static int
begin_offline(struct admin *a, const char *what)
{
	char err[ADMIN_ERR];
	int lock = store_lock_data(a->conf->data_dir, what, err, sizeof(err));

	if (lock < 0 || admin_keys_sane(a, err, sizeof(err)) != 0 ||
	    admin_kek(a, false, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		store_unlock_data(lock);
		return -1;
	}
	return lock;
}

int
admin_offline_begin(struct admin *a, const char *what)
{
	return begin_offline(a, what);
}

int
admin_offline_recover(struct admin *a)
{
	struct dbstate d[2];
	int rc = recover(a, d, NULL);

	wipe(d, 2);
	return rc;
}

int
admin_rekey(struct admin *a, const char *which)
{
	const struct target *t = NULL;
	struct dbstate d[2];
	struct audit_signer *signer = NULL;
	struct store_conn *sc = NULL;
	struct store_key next;
	char err[ADMIN_ERR];
	int lock, me, r, rc = 1;

	for (int i = 0; i < 2; i++)
		if (strcmp(which, targets[i].name) == 0)
			t = &targets[i];
	if (t == NULL) {
		fprintf(stderr, "usage: renkei-server rekey care|audit\n");
		return 2;
	}
	me = t == &targets[0] ? 0 : 1;
	if ((lock = begin_offline(a, "rekey")) < 0)
		return 1;
	if (recover(a, d, &sc) != 0)
		goto out;
	if (d[me].state == 'C') {
		printf("%s.db: the interrupted rekey is what was asked for: "
		       "nothing more to do\n",
		       t->name);
		rc = 0;
		goto out;
	}
	/* The key that signs the record must be the one the trail expects:
	 * find out before anything changes. */
	if ((signer = admin_signer(a, err, sizeof(err))) == NULL ||
	    admin_signer_matches(a, sc, signer, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	store_conn_close(sc); /* the rekey needs the file to itself */
	sc = NULL;

	/* A -> B */
	rk_random(next.bytes, sizeof(next.bytes));
	d[me].next = next;
	keys_id(next.bytes, d[me].id_new);
	if (keys_wrap_file(d[me].newp, t->name, &a->kek, next.bytes, false, err,
	                   sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	/* B -> C */
	r = store_file_rekey(d[me].db, &d[me].key, &next, err, sizeof(err));
	if (r < 0) {
		/* Not committed, as far as SQLite said: see what opens it. */
		fprintf(stderr, "renkei-server: %s\n", err);
		if (recover(a, d, NULL) != 0)
			fprintf(stderr, "renkei-server: run renkei-server keys "
			                "check once the cause is fixed\n");
		goto out;
	}
	d[me].state = 'C';
	/* C -> D */
	if (open_with(a, me == 0 ? &next : &d[0].key, me == 1 ? &next : &d[1].key,
	              &sc, err, sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s (run renkei-server keys check)\n",
		        err);
		goto out;
	}
	if (record(a, sc, signer, &d[me], d[me].id_old, d[me].id_new, true) != 0)
		goto out;
	/* D -> E */
	if (keys_rename_durable(d[me].newp, d[me].keyp) != 0) {
		fprintf(stderr,
		        "renkei-server: cannot rename %s to %s: %s (run "
		        "renkei-server keys check)\n",
		        d[me].newp, d[me].keyp, strerror(errno));
		goto out;
	}
	printf("%s.db: rekeyed: key %s replaced by key %s (in %s); %s.db opens "
	       "with the NEW key\n",
	       t->name, d[me].id_old, d[me].id_new, d[me].keyp, t->name);
	rc = 0;
out:
	OPENSSL_cleanse(&next, sizeof(next));
	wipe(d, 2);
	audit_signer_free(signer);
	store_conn_close(sc);
	store_unlock_data(lock);
	return rc;
}

int
admin_keys_check(struct admin *a)
{
	struct dbstate d[2];
	struct audit_signer *signer = NULL;
	struct store_conn *sc = NULL;
	uint8_t pub[32], id[32];
	char err[ADMIN_ERR], hex[17];
	int lock, rc = 1;

	if ((lock = begin_offline(a, "keys check")) < 0)
		return 1;
	if (recover(a, d, &sc) != 0)
		goto out;
	for (int i = 0; i < 2; i++)
		printf("%s.db: opens with the key in %s (key id %s)\n", d[i].t->name,
		       d[i].keyp, d[i].id_old);
	if ((signer = admin_signer(a, err, sizeof(err))) == NULL ||
	    admin_signer_matches(a, sc, signer, err, sizeof(err)) != 0 ||
	    audit_signer_pub(signer, pub, id) != RK_OK) {
		fprintf(stderr, "renkei-server: %s\n", err);
		goto out;
	}
	rk_hex_encode(id, 8, hex);
	printf("audit signing key: %s/%s (key id %s...) is the key the trail "
	       "expects\n",
	       a->conf->keys_dir, KEYS_SIGNING, hex);
	rc = 0;
out:
	wipe(d, 2);
	audit_signer_free(signer);
	store_conn_close(sc);
	store_unlock_data(lock);
	return rc;
}
