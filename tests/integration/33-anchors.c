/*
 * 33-anchors: signed checkpoints shipped off the host (checkpoint_sink)
 * and `renkei-server audit verify --anchors FILE` (audit/anchor.h).
 *
 *  - With file:PATH every checkpoint the server signs (the one at
 *    shutdown included) is appended as an anchor line, carrying its
 *    record, hash, time, clock state and signature; with exec:PATH a
 *    command receives each line. An untouched chain verifies against both.
 *  - Someone holding the database key AND the signing key rewrites a
 *    record, hashes the chain again and signs new checkpoints: plain
 *    `audit verify` passes, `--anchors` fails and names the record the
 *    anchor vouches for, with the stretch that was rewritten.
 *  - The same person removes the newest records and their checkpoints:
 *    `--anchors` names where the chain now ends and what is missing.
 *  - A forged anchor line (a signature that is not the server's) fails.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"

#include "audit/canon.h"
#include "audit/internal.h"
#include "util/err.h"
#include "util/text.h"

#define POSTS 120

struct run {
	struct h_server *s;
	char anchors[400], shipped[400], ship[400];
	/* Checkpoints signed before the server ran with the sink: the demo
	 * ward's import signs one over its own records. */
	int64_t before;
};

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	char sink[420], exec_sink[420];
	FILE *f;

	r->s = h_server_new();
	if (r->s == NULL) {
		free(r);
		return -1;
	}
	/* "On another mount": another folder will do for the test. */
	snprintf(r->anchors, sizeof(r->anchors), "%s/offhost/anchors.log", r->s->dir);
	snprintf(r->shipped, sizeof(r->shipped), "%s/offhost/shipped.log", r->s->dir);
	snprintf(r->ship, sizeof(r->ship), "%s/ship.sh", r->s->dir);
	snprintf(sink, sizeof(sink), "%s/offhost", r->s->dir);
	mkdir(sink, 0700);
	f = fopen(r->ship, "w");
	if (f == NULL)
		return -1;
	/* A command that ships the line: here, to a file of its own. */
	fprintf(f, "#!/bin/sh\nread line\n[ \"$line\" = \"$1\" ] || exit 3\n"
	           "printf '%%s\\n' \"$1\" >> '%s'\n",
	        r->shipped);
	fclose(f);
	chmod(r->ship, 0700);
	snprintf(sink, sizeof(sink), "file:%s", r->anchors);
	snprintf(exec_sink, sizeof(exec_sink), "exec:%s", r->ship);
	(void)exec_sink;
	{
		sqlite3 *db = h_db_open(r->s);
		r->before = db != NULL ? h_db_int(db, "SELECT count(*) FROM"
		                                      " audit.checkpoints")
		                       : -1;
		sqlite3_close(db);
		if (r->before < 0)
			return -1;
	}
	{
		const char *args[] = {"--checkpoint-sink", sink,
		                      "--audit-checkpoint-records", "20", NULL};
		if (h_server_start(r->s, args) != 0) {
			h_server_free(r->s);
			free(r);
			return -1;
		}
	}
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;
	int rc = h_server_free(r->s);
	free(r);
	return rc;
}

static int
count_lines(const char *path, const char *needle)
{
	char *t = h_read_file(path, NULL), *p;
	int n = 0;

	if (t == NULL)
		return 0;
	for (p = t; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(t);
	return n;
}

static void
post_some(const struct run *r, const char *login, int n, const char *tag)
{
	struct rkc *c = h_connect_login(r->s, login, NULL);
	char cid[64];

	assert_non_null(c);
	for (int i = 0; i < n; i++) {
		Renkei__V1__Envelope *env;
		snprintf(cid, sizeof(cid), "%s-%d", tag, i);
		env = h_post_env(c, "pt-yamada", cid,
		                 RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
		                 "訪問。疼痛コントロール良好。");
		h_assert_body(env, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
		h_env_free(env);
	}
	rkc_close(c);
}

/* renkei-server audit verify --data DIR [--anchors FILE]: exit status,
 * output in *out. */
static int
verify(const char *dir, const char *anchors, char **out)
{
	char cmd[1400];

	if (anchors != NULL)
		snprintf(cmd, sizeof(cmd), "'%s' audit verify --data '%s' --anchors '%s'",
		         h_server_bin(), dir, anchors);
	else
		snprintf(cmd, sizeof(cmd), "'%s' audit verify --data '%s'",
		         h_server_bin(), dir);
	return h_sh(cmd, out);
}

/* A copy of the stopped server's folder, as someone who took the host
 * would have it. */
static struct h_server *
copy_of(const struct run *r, const char *name)
{
	struct h_server *c = calloc(1, sizeof(*c));
	char cmd[2400];

	assert_non_null(c);
	c->last_status = -1;
	snprintf(c->dir, sizeof(c->dir), "%.200s/%s", r->s->dir, name);
	/* ... with its key folder beside it, where the server finds it. */
	snprintf(c->keys, sizeof(c->keys), "%.250s-keys", c->dir);
	snprintf(cmd, sizeof(cmd),
	         "mkdir '%s' && cp -rp '%s/care.db' '%s/audit.db' '%s/' && "
	         "cp -rp '%s' '%s'",
	         c->dir, r->s->dir, r->s->dir, c->dir, r->s->keys, c->keys);
	assert_int_equal(h_sh(cmd, NULL), 0);
	return c;
}

/* ------------------------------------------------ the holder of the keys */

static EVP_PKEY *
signing_key(const struct h_server *c)
{
	char hex[65];
	uint8_t seed[32];
	EVP_PKEY *k;

	/* Unwrapped with the KEK, as the holder of the host would. */
	assert_int_equal(h_key_hex(c, "audit-signing.key", hex), 0);
	assert_int_equal(rk_hex_decode(hex, 64, seed, 32), 0);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	OPENSSL_cleanse(seed, sizeof(seed));
	assert_non_null(k);
	return k;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* Hash the chain again from record `from` (whose reason is first
 * changed), and sign every checkpoint from there on again: what the
 * holder of both keys can do. */
static void
rewrite_and_resign(const struct h_server *c, int64_t from)
{
	sqlite3 *db = h_db_open(c);
	sqlite3_stmt *q, *u, *cq, *cu;
	struct audit_hasher h;
	uint8_t prev[32], hash[32], msg[AUDIT_CP_MSG_MAX], sig[64];
	EVP_PKEY *key = signing_key(c);
	char sql[200];

	assert_non_null(db);
	exec_ok(db, "DROP TRIGGER audit.records_no_update;"
	            "DROP TRIGGER audit.checkpoints_no_update;");
	snprintf(sql, sizeof(sql),
	         "UPDATE audit.records SET reason = 'nothing happened' WHERE id = %lld",
	         (long long)from);
	exec_ok(db, "BEGIN");
	exec_ok(db, sql);
	assert_int_equal(audit_hasher_init(&h), RK_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT " AUDIT_REC_COLS " FROM audit.records WHERE id = ?1",
	                     -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "UPDATE audit.records SET prev_hash = ?2, hash = ?3"
	                     " WHERE id = ?1",
	                     -1, &u, NULL),
	                 SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT hash FROM audit.records WHERE id = %lld",
	         (long long)from - 1);
	{
		sqlite3_stmt *p;
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &p, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(p), SQLITE_ROW);
		memcpy(prev, sqlite3_column_blob(p, 0), 32);
		sqlite3_finalize(p);
	}
	for (int64_t id = from;; id++) {
		struct audit_canon rc;

		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) != SQLITE_ROW)
			break;
		audit_row_canon(q, &rc);
		assert_int_equal(audit_hash_record(&h, prev, &rc, hash), RK_OK);
		sqlite3_reset(q);
		sqlite3_bind_int64(u, 1, id);
		sqlite3_bind_blob(u, 2, prev, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(u, 3, hash, 32, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(u), SQLITE_DONE);
		sqlite3_reset(u);
		memcpy(prev, hash, 32);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	audit_hasher_fini(&h);

	/* Every checkpoint from there on, signed again over the new hashes. */
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT c.id, c.record_id, r.hash, c.signed_ms,"
	                     " coalesce(c.clock_sync, -1) FROM audit.checkpoints c"
	                     " JOIN audit.records r ON r.id = c.record_id"
	                     " WHERE c.record_id >= ?1",
	                     -1, &cq, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "UPDATE audit.checkpoints SET record_hash = ?2, sig = ?3"
	                     " WHERE id = ?1",
	                     -1, &cu, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(cq, 1, from);
	while (sqlite3_step(cq) == SQLITE_ROW) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t siglen = 64;
		size_t len = audit_cp_message_for(msg, sqlite3_column_int64(cq, 1),
		                                  sqlite3_column_blob(cq, 2),
		                                  sqlite3_column_int64(cq, 3),
		                                  sqlite3_column_int(cq, 4));
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, len), 1);
		EVP_MD_CTX_free(ctx);
		sqlite3_bind_int64(cu, 1, sqlite3_column_int64(cq, 0));
		sqlite3_bind_blob(cu, 2, sqlite3_column_blob(cq, 2), 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(cu, 3, sig, 64, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(cu), SQLITE_DONE);
		sqlite3_reset(cu);
	}
	sqlite3_finalize(cq);
	sqlite3_finalize(cu);
	exec_ok(db, "COMMIT");
	EVP_PKEY_free(key);
	sqlite3_close(db);
}

/* ----------------------------------------------------------------- tests */

static void
test_every_checkpoint_is_anchored_and_verifies(void **state)
{
	struct run *r = *state;
	char sink[420], *out = NULL;
	sqlite3 *db;
	int64_t cps;

	post_some(r, "dr.tanaka", POSTS, "a");
	/* The closing checkpoint is anchored too. */
	assert_true(h_exited_cleanly(h_server_stop(r->s, SIGTERM, 20000)));
	db = h_db_open(r->s);
	assert_non_null(db);
	cps = h_db_int(db, "SELECT count(*) FROM audit.checkpoints");
	assert_true(cps >= POSTS / 20);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.checkpoints"
	                              " WHERE clock_sync IS NULL"),
	                 0);
	assert_int_equal(h_db_int(db, "SELECT max(record_id) = (SELECT max(id) FROM"
	                              " audit.records) FROM audit.checkpoints"),
	                 1);
	sqlite3_close(db);
	assert_int_equal(count_lines(r->anchors, "renkei-anchor/1 "),
	                 cps - r->before);
	assert_true(count_lines(r->anchors, " clock_sync=") == cps - r->before);
	assert_int_equal(verify(r->s->dir, r->anchors, &out), 0);
	assert_non_null(strstr(out, "OK: anchors"));
	free(out);

	/* The same through a command. */
	snprintf(sink, sizeof(sink), "exec:%s", r->ship);
	{
		const char *args[] = {"--checkpoint-sink", sink,
		                      "--audit-checkpoint-records", "20", NULL};
		assert_int_equal(h_server_start(r->s, args), 0);
	}
	post_some(r, "ns.kobayashi", 45, "b");
	assert_true(h_exited_cleanly(h_server_stop(r->s, SIGTERM, 20000)));
	assert_true(count_lines(r->shipped, "renkei-anchor/1 ") >= 45 / 20);
	assert_int_equal(verify(r->s->dir, r->shipped, &out), 0);
	assert_non_null(strstr(out, "OK: anchors"));
	free(out);
	/* Both files together: duplicates of nothing, all consistent. */
	assert_int_equal(verify(r->s->dir, r->anchors, &out), 0);
	free(out);
}

static void
test_rewritten_chain_is_named(void **state)
{
	struct run *r = *state;
	struct h_server *c = copy_of(r, "rewritten");
	char *out = NULL, want[64];
	sqlite3 *db;
	int64_t from = 50, anchored;

	rewrite_and_resign(c, from);
	/* The database alone cannot tell: every hash and signature agrees. */
	assert_int_equal(verify(c->dir, NULL, &out), 0);
	assert_non_null(strstr(out, "OK: "));
	free(out);
	/* The anchors can, and say which record they vouch for. */
	db = h_db_open(c);
	assert_non_null(db);
	anchored = h_db_int(db, "SELECT min(record_id) FROM audit.checkpoints"
	                        " WHERE record_id >= 50");
	sqlite3_close(db);
	assert_int_equal(verify(c->dir, r->anchors, &out), 1);
	snprintf(want, sizeof(want), "record %lld is not the record anchored",
	         (long long)anchored);
	if (strstr(out, want) == NULL || strstr(out, "were rewritten") == NULL)
		fail_msg("expected \"%s\" in:\n%s", want, out);
	print_message("%s", strstr(out, "FAILED: anchors"));
	free(out);
	free(c);
}

static void
test_removed_tail_is_named(void **state)
{
	struct run *r = *state;
	struct h_server *c = copy_of(r, "truncated");
	char *out = NULL, want[80];
	sqlite3 *db = h_db_open(c);

	assert_non_null(db);
	exec_ok(db, "DROP TRIGGER audit.records_no_delete;"
	            "DROP TRIGGER audit.checkpoints_no_delete;"
	            "DELETE FROM audit.checkpoints WHERE record_id > 70;"
	            "DELETE FROM audit.records WHERE id > 70;");
	sqlite3_close(db);
	assert_int_equal(verify(c->dir, NULL, &out), 0); /* an unsigned tail */
	free(out);
	assert_int_equal(verify(c->dir, r->anchors, &out), 1);
	snprintf(want, sizeof(want), "the chain ends at record 70");
	if (strstr(out, want) == NULL || strstr(out, "records from 71 on were removed") == NULL)
		fail_msg("expected \"%s\" in:\n%s", want, out);
	free(out);
	free(c);
}

static void
test_forged_anchor_line_fails(void **state)
{
	struct run *r = *state;
	char forged[420], *t, *line, *sig, *out = NULL;
	FILE *f;

	/* The first anchor again, with one hex digit of its signature
	 * changed, after a syslog-like prefix. */
	t = h_read_file(r->anchors, NULL);
	assert_non_null(t);
	line = strtok(t, "\n");
	sig = strstr(line, " sig=");
	assert_non_null(sig);
	sig[5] = sig[5] == '0' ? '1' : '0';
	snprintf(forged, sizeof(forged), "%s/forged.log", r->s->dir);
	f = fopen(forged, "w");
	assert_non_null(f);
	fprintf(f, "Dec  3 09:00:00 host renkei-server[1]: %s\n", line);
	fclose(f);
	free(t);
	assert_int_equal(verify(r->s->dir, forged, &out), 1);
	assert_non_null(strstr(out, "FAILED: anchors: line 1:"));
	assert_non_null(strstr(out, "a signature that does not verify"));
	free(out);
	/* And a file with no anchor in it proves nothing. */
	assert_int_equal(verify(r->s->dir, r->ship, &out), 1);
	assert_non_null(strstr(out, "holds no anchor"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_checkpoint_is_anchored_and_verifies),
		cmocka_unit_test(test_rewritten_chain_is_named),
		cmocka_unit_test(test_removed_tail_is_named),
		cmocka_unit_test(test_forged_anchor_line_fails),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
