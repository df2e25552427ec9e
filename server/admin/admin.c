/*
 * The offline commands on the databases: audit verify, bench and
 * pubkey (the account commands are in accounts.c; the keys, init and
 * the records of offline commands in keyring.c).
 */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

int
admin_audit_verify(struct admin *a)
{
	struct store_conn *sc;
	struct audit_verify_result res;
	char pub[4200], err[ADMIN_ERR];
	int64_t t0 = rk_mono_ms();
	int rc;

	/* The root key is the trust anchor: the rotations in the trail
	 * lead from it to every later key. */
	admin_key_path(a, KEYS_ROOT_PUB, pub, sizeof(pub));
	if (keys_file_check(pub, a->conf->data_dir, false, NULL, err,
	                    sizeof(err)) != 0) {
		fprintf(stderr, "renkei-server: %s\n", err);
		return 1;
	}
	if (admin_open(a, &sc) != 0)
		return 1;
	rc = audit_verify_db(sc, "audit", pub, 0, stderr, &res);
	store_conn_close(sc);
	if (rc != RK_OK) {
		fprintf(stderr, "renkei-server: audit verify could not run: %s\n",
		        res.why[0] ? res.why : rk_strerror(rc));
		return 1;
	}
	double secs = (double)(rk_mono_ms() - t0) / 1000.0;
	if (!res.ok) {
		printf("FAILED: first bad record %lld: %s\n", (long long)res.first_bad_id,
		       res.why);
		return 1;
	}
	printf("OK: %lld records and %lld checkpoints verified in %.2f s "
	       "(%.0f records/s); %lld records after the last checkpoint\n",
	       (long long)res.records, (long long)res.checkpoints, secs,
	       secs > 0 ? (double)res.records / secs : 0.0,
	       (long long)res.unsigned_tail);
	if (res.unsynced_checkpoints > 0)
		printf("note: %lld checkpoints were signed while the clock was not "
		       "known to be synchronised (their times rest on the host's "
		       "clock alone)\n",
		       (long long)res.unsynced_checkpoints);
	return 0;
}

int
admin_audit_bench(struct admin *a, long records)
{
	struct store_conn *sc;
	struct audit_signer *signer;
	struct audit_verify_result res;
	char err[ADMIN_ERR], pub[4200];
	sqlite3_stmt *q;
	int64_t t0, t1;
	int rc = 1;

	if (records < 1 || records > 100000000) {
		fprintf(stderr, "renkei-server: --records 1..100000000\n");
		return 2;
	}
	if (admin_init(a) != 0 || admin_open(a, &sc) != 0)
		return 1;
	q = store_stmt(sc, "SELECT (SELECT count(*) FROM users) + "
	                   "(SELECT count(*) FROM audit.records)");
	if (q == NULL || sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int64(q, 0) != 0) {
		fprintf(stderr, "renkei-server: audit bench needs a new, empty data "
		                "folder (this one holds users or audit records)\n");
		store_conn_close(sc);
		return 1;
	}
	store_conn_release(sc);
	signer = admin_signer(a, err, sizeof(err));
	if (signer == NULL) {
		fprintf(stderr, "renkei-server: %s\n", err);
		store_conn_close(sc);
		return 1;
	}
	t0 = rk_mono_ms();
	for (long i = 0; i < records;) {
		if (store_exec(sc, "BEGIN") != RK_OK)
			goto out;
		for (int k = 0; k < 10000 && i < records; k++, i++) {
			char obj[24];
			struct audit_event ev = {
				.actor_user_id = 1 + i % 500,
				.actor_login = "bench.user",
				.actor_profession = 3,
				.actor_org = "org-bench",
				.session_id = 1 + i / 100,
				.address = "127.0.0.1",
				.device = "bench",
				.action = i % 3 ? "board.read" : "post.create",
				.patient = "pt-bench",
				.object = obj,
			};
			snprintf(obj, sizeof(obj), "%ld", i);
			if (audit_append(sc, "audit", &ev) != RK_OK)
				goto out;
			if (i % 1000 == 999 &&
			    audit_checkpoint_maybe(sc, "audit", signer, 1000, 0,
			                           rk_now_ms()) != RK_OK)
				goto out;
		}
		store_conn_release(sc);
		if (store_exec(sc, "COMMIT") != RK_OK)
			goto out;
		fprintf(stderr, "\rwritten %ld / %ld records", i, records);
	}
	store_exec(sc, "BEGIN");
	audit_checkpoint_maybe(sc, "audit", signer, 1, 1, rk_now_ms());
	store_conn_release(sc);
	store_exec(sc, "COMMIT");
	t1 = rk_mono_ms();
	fprintf(stderr, "\nwrote %ld records in %.1f s\n", records,
	        (double)(t1 - t0) / 1000.0);
	admin_key_path(a, KEYS_ROOT_PUB, pub, sizeof(pub));
	t0 = rk_mono_ms();
	if (audit_verify_db(sc, "audit", pub, 0, stderr, &res) != RK_OK || !res.ok) {
		fprintf(stderr, "renkei-server: verification failed: %s\n", res.why);
		goto out;
	}
	t1 = rk_mono_ms();
	printf("verified %lld records and %lld checkpoints in %.2f s: %.0f records/s\n",
	       (long long)res.records, (long long)res.checkpoints,
	       (double)(t1 - t0) / 1000.0,
	       t1 > t0 ? (double)res.records * 1000.0 / (double)(t1 - t0) : 0.0);
	rc = 0;
out:
	if (rc != 0 && !sqlite3_get_autocommit(store_conn_db(sc)))
		store_exec(sc, "ROLLBACK");
	audit_signer_free(signer);
	store_conn_close(sc);
	return rc;
}

int
admin_audit_pubkey(struct admin *a, bool current)
{
	char pub[4200];
	FILE *f;
	int ch;

	admin_key_path(a, current ? KEYS_SIGNING_PUB : KEYS_ROOT_PUB, pub,
	               sizeof(pub));
	f = fopen(pub, "r");
	if (f == NULL) {
		fprintf(stderr, "renkei-server: cannot open %s: %s\n", pub,
		        strerror(errno));
		return 1;
	}
	while ((ch = fgetc(f)) != EOF)
		putchar(ch);
	fclose(f);
	return 0;
}
