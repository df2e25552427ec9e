/* Unit tests: audit/ — append, the hash chain, checkpoints and keys,
 * and tamper detection in audit.db (queries and exports are in
 * test_audit_export.c). Each test gets fresh encrypted databases and a
 * fresh signing key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/text.h"

#include "audit_fixture.h"
static int
sql_try(struct fx *f, const char *text)
{
	return sqlite3_exec(store_conn_db(f->sc), text, NULL, NULL, NULL);
}

static int64_t
sql_int(struct fx *f, const char *text)
{
	sqlite3_stmt *q;
	int64_t v;
	assert_int_equal(sqlite3_prepare_v2(store_conn_db(f->sc), text, -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* What someone holding the database key (not the signing key) can do. */
static void
drop_triggers(struct fx *f)
{
	sql(f, "DROP TRIGGER audit.records_append_only;"
	       "DROP TRIGGER audit.records_no_update;"
	       "DROP TRIGGER audit.records_no_delete;"
	       "DROP TRIGGER audit.checkpoints_append_only;"
	       "DROP TRIGGER audit.checkpoints_no_update;"
	       "DROP TRIGGER audit.checkpoints_no_delete;");
}

/* Record i (1-based) of a deterministic trail: three users of two
 * organisations reading two patients' boards, a login every 5th, a
 * denial every 7th, a break-glass at 4... */static struct audit_verify_result
verify(struct fx *f, unsigned flags)
{
	struct audit_verify_result r;
	assert_int_equal(audit_verify_db(f->sc, "audit", f->pub, flags, NULL, &r),
	                 RK_OK);
	return r;
}
/* ------------------------------------------------------------ clean chain */

static void
test_clean_chain_verifies(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;

	r = verify(f, AUDIT_VERIFY_STRICT); /* empty trail */
	assert_true(r.ok);
	assert_int_equal(r.records, 0);

	fill(f, 50, 10);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit.checkpoints"), 5);
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_true(r.ok);
	assert_int_equal(r.records, 50);
	assert_int_equal(r.checkpoints, 5);
	assert_int_equal(r.first_bad_id, 0);
	assert_int_equal(r.last_signed_id, 50);
	assert_int_equal(r.last_signed_ms, TS(50));
	assert_int_equal(r.unsigned_tail, 0);

	/* three more, unsigned: fine unless strict */
	fill_range(f, 51, 53, 0);
	r = verify(f, 0);
	assert_true(r.ok);
	assert_int_equal(r.records, 53);
	assert_int_equal(r.unsigned_tail, 3);
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 51);
}

static void
test_triggers_refuse_changes(void **state)
{
	struct fx *f = *state;

	fill(f, 5, 5);
	assert_int_not_equal(sql_try(f, "UPDATE audit.records SET patient = 'x' WHERE id = 2"),
	                     SQLITE_OK);
	assert_int_not_equal(sql_try(f, "DELETE FROM audit.records WHERE id = 5"), SQLITE_OK);
	assert_int_not_equal(sql_try(f, "INSERT OR REPLACE INTO audit.records "
	                                "SELECT * FROM audit.records WHERE id = 3"),
	                     SQLITE_OK);
	assert_int_not_equal(sql_try(f, "INSERT INTO audit.records(id, ts_ms, actor_user_id, "
	                                "actor_profession, session_id, action, outcome, "
	                                "prev_hash, hash) VALUES (9, 0, 0, 0, 0, 'x', 0, "
	                                "x'00', x'00')"),
	                     SQLITE_OK); /* not the next id */
	assert_int_not_equal(sql_try(f, "UPDATE audit.checkpoints SET signed_ms = 0"),
	                     SQLITE_OK);
	assert_int_not_equal(sql_try(f, "DELETE FROM audit.checkpoints"), SQLITE_OK);
	assert_int_not_equal(sql_try(f, "INSERT OR REPLACE INTO audit.checkpoints "
	                                "SELECT * FROM audit.checkpoints"),
	                     SQLITE_OK);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit.records"), 5);
	assert_true(verify(f, AUDIT_VERIFY_STRICT).ok);
}

/* ---------------------------------------------------------------- tamper */

struct tamper {
	const char *what;
	const char *sql;
	int64_t first_bad;
	int64_t bad_checkpoint;
};

static void
test_tamper_detected(void **state)
{
	static const struct tamper cases[] = {
		{"one field", "UPDATE audit.records SET patient = 'pt-9' WHERE id = 17", 17, 0},
		{"a time", "UPDATE audit.records SET ts_ms = ts_ms + 1 WHERE id = 23", 23, 0},
		{"an outcome", "UPDATE audit.records SET outcome = 0 WHERE id = 7", 7, 0},
		{"null to empty", "UPDATE audit.records SET reason = '' WHERE id = 3", 3, 0},
		{"japanese text",
		 "UPDATE audit.records SET reason = replace(reason, '救急', '予定') WHERE id = 4",
		 4, 0},
		{"a content digest changed",
		 "UPDATE audit.records SET content_sha256 = replace(content_sha256, '9f', '00')"
		 " WHERE id = 9", 9, 0},
		{"a content digest removed",
		 "UPDATE audit.records SET content_sha256 = NULL WHERE id = 12", 12, 0},
		{"a content digest added",
		 "UPDATE audit.records SET content_sha256 = (SELECT content_sha256 FROM"
		 " audit.records WHERE id = 9) WHERE id = 10", 10, 0},
		{"a deleted record", "DELETE FROM audit.records WHERE id = 17", 17, 0},
		{"the first record deleted", "DELETE FROM audit.records WHERE id = 1", 1, 0},
		{"two records swapped",
		 "CREATE TEMP TABLE sw AS SELECT * FROM audit.records WHERE id IN (12, 31);"
		 "DELETE FROM audit.records WHERE id IN (12, 31);"
		 "INSERT INTO audit.records SELECT 43 - id, ts_ms, actor_user_id, actor_login,"
		 " actor_profession, actor_org, session_id, address, device, action, patient,"
		 " object, outcome, error_code, reason, prev_hash, hash, content_sha256 FROM temp.sw;",
		 12, 0},
		{"two records' contents swapped, hashes left",
		 "CREATE TEMP TABLE sw AS SELECT * FROM audit.records WHERE id IN (12, 31);"
		 "DELETE FROM audit.records WHERE id IN (12, 31);"
		 "INSERT INTO audit.records SELECT 43 - s.id, s.ts_ms, s.actor_user_id,"
		 " s.actor_login, s.actor_profession, s.actor_org, s.session_id, s.address,"
		 " s.device, s.action, s.patient, s.object, s.outcome, s.error_code, s.reason,"
		 " o.prev_hash, o.hash, s.content_sha256 FROM temp.sw s JOIN temp.sw o ON o.id = 43 - s.id;",
		 12, 0},
		{"the tail truncated", "DELETE FROM audit.records WHERE id > 35", 36, 4},
		{"a forged record appended with a made-up hash",
		 "INSERT INTO audit.records VALUES (51, 1767225700000, 1, 'dr', 1, 'org-a', 100,"
		 " '192.0.2.10', NULL, 'board.read', 'pt-1', NULL, 0, NULL, NULL,"
		 " (SELECT hash FROM audit.records WHERE id = 50), zeroblob(32), NULL)",
		 51, 0},
		{"a checkpoint altered",
		 "UPDATE audit.checkpoints SET signed_ms = signed_ms + 1 WHERE record_id = 30",
		 21, 3},
		{"a checkpoint moved to another record",
		 "UPDATE audit.checkpoints SET record_id = 29 WHERE record_id = 30", 21, 3},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_new();
		struct audit_verify_result r;

		fill(f, 50, 10);
		drop_triggers(f);
		sql(f, cases[i].sql);
		for (unsigned flags = 0; flags <= AUDIT_VERIFY_STRICT; flags++) {
			r = verify(f, flags);
			if (r.ok || r.first_bad_id != cases[i].first_bad ||
			    r.bad_checkpoint_id != cases[i].bad_checkpoint)
				fail_msg("%s: ok=%d first_bad=%lld (want %lld) "
				         "checkpoint=%lld (want %lld): %s",
				         cases[i].what, r.ok, (long long)r.first_bad_id,
				         (long long)cases[i].first_bad,
				         (long long)r.bad_checkpoint_id,
				         (long long)cases[i].bad_checkpoint, r.why);
			assert_true(r.why[0] != '\0');
		}
		print_message("%-45s -> %s\n", cases[i].what, r.why);
		fx_free(f);
	}
}

/* A forger holding the database key but not the signing key appends a
 * record with a correct chain hash (our own code computes it). Nothing
 * in audit.db can tell it from a genuine record not yet signed: it is
 * reported as the unsigned tail, and fails a strict verify. */
static void
test_forged_append_with_valid_hash(void **state)
{
	struct fx *f = *state;
	struct audit_event ev = {.actor_user_id = 1, .actor_login = "dr",
	                         .action = "board.read", .patient = "pt-1",
	                         .ts_ms = TS(51)};
	struct audit_verify_result r;

	fill(f, 50, 10);
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	r = verify(f, 0);
	assert_true(r.ok);
	assert_int_equal(r.unsigned_tail, 1);
	assert_int_equal(r.last_signed_id, 50);
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 51);
}

/* ... and if they also sign it, with a key of their own, the checkpoint
 * gives them away. */
static void
test_forged_checkpoint_detected(void **state)
{
	struct fx *f = *state;
	struct audit_event ev = {.actor_user_id = 1, .actor_login = "dr",
	                         .action = "board.read", .ts_ms = TS(51)};
	struct audit_signer *other;
	struct audit_verify_result r;

	fill(f, 50, 10);
	other = fx_signer(NULL, NULL);
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", other, 1, 0, TS(51)),
	                 RK_OK);
	audit_signer_free(other);
	r = verify(f, 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 51);
	assert_int_equal(r.bad_checkpoint_id, 6);
	assert_non_null(strstr(r.why, "a key that no rotation introduced"));
}

/* ---- the chain of signing keys */

/* S0 signs 1..30, rotates at 31 to S1, which signs to 60 and rotates at
 * 61 to S2, which signs to 80: all of it verifies from the root key,
 * the rotation checkpoints counted like any other. */
static void
test_rotated_keys_verify(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;
	uint8_t want[32], pub[32];
	char err[256];

	fill(f, 30, 10);
	fx_rotate(f, 31, fx_signer(NULL, NULL));
	fill_range(f, 32, 60, 10);
	fx_rotate(f, 61, fx_signer(NULL, NULL));
	fill_range(f, 62, 80, 10);
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 1, 0,
	                                        TS(81)),
	                 RK_OK);
	store_conn_release(f->sc);
	r = verify(f, AUDIT_VERIFY_STRICT);
	if (!r.ok)
		fail_msg("%s", r.why);
	assert_int_equal(r.records, 80);
	assert_int_equal(r.checkpoints,
	                 sql_int(f, "SELECT count(*) FROM audit.checkpoints"));
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit.checkpoints "
	                            "WHERE next_key IS NOT NULL"),
	                 2);
	/* The server's check at start: the key in use is the one the last
	 * rotation named. */
	assert_int_equal(audit_trail_key(f->sc, "audit", f->pub, want, err,
	                                 sizeof(err)),
	                 RK_OK);
	assert_int_equal(audit_signer_pub(f->signer, pub, NULL), RK_OK);
	assert_memory_equal(want, pub, 32);
	/* A rotation needs a record of its own first. */
	assert_int_equal(audit_rotate_sign(f->sc, "audit", f->signer, pub, TS(90)),
	                 RK_ERR_PRECONDITION);
}

/* After a rotation, a checkpoint signed by a key that no rotation
 * introduced fails, and so does one by the key the rotation replaced. */
static void
test_checkpoint_by_a_key_not_in_the_chain_fails(void **state)
{
	struct fx *f = *state;
	struct audit_signer *old, *stranger;
	struct audit_verify_result r;
	uint8_t seed0[32];

	memcpy(seed0, f->seed, 32);
	fill(f, 30, 10);
	fx_rotate(f, 31, fx_signer(NULL, NULL));
	fill_range(f, 32, 40, 10);
	stranger = fx_signer(NULL, NULL);
	fx_sign_with(f, 41, stranger);
	audit_signer_free(stranger);
	r = verify(f, 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 32); /* after the last good cp (31) */
	assert_non_null(strstr(r.why, "a key that no rotation introduced"));
	/* The same checkpoint by the replaced key: refused as well. */
	sql(f, "DROP TRIGGER audit.checkpoints_no_delete");
	sql(f, "DELETE FROM audit.checkpoints WHERE record_id = 41");
	old = audit_signer_new(seed0, (char[64]){0}, 64);
	assert_non_null(old);
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", old, 1, 0, TS(42)),
	                 RK_OK);
	store_conn_release(f->sc);
	audit_signer_free(old);
	r = verify(f, 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 32);
	assert_non_null(strstr(r.why, "a rotation had already replaced"));
}

/* A rotation checkpoint altered to name another key (as someone with the
 * database key, not the signing key, could): its statement no longer
 * verifies, and nothing after it is proven. */
static void
test_altered_rotation_fails(void **state)
{
	struct fx *f = *state;
	struct audit_signer *mine = fx_signer(NULL, NULL);
	struct audit_verify_result r;
	uint8_t pub[32];
	char hex[65], text[200];

	fill(f, 20, 10);
	fx_rotate(f, 21, fx_signer(NULL, NULL));
	fill_range(f, 22, 40, 10);
	assert_int_equal(audit_signer_pub(mine, pub, NULL), RK_OK);
	rk_hex_encode(pub, 32, hex);
	sql(f, "DROP TRIGGER audit.checkpoints_no_update");
	snprintf(text, sizeof(text),
	         "UPDATE audit.checkpoints SET next_key = x'%s' WHERE record_id = 21",
	         hex);
	sql(f, text);
	audit_signer_free(mine);
	r = verify(f, 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 21);
	assert_non_null(strstr(r.why, "rotation statement does not verify"));
}

/* Rewrite record 23 and recompute every hash after it: the chain is
 * self-consistent, and only the checkpoint at 30 shows it. The fault is
 * located to the interval after the last good checkpoint (21..30). */
static void
test_rewritten_chain_caught_by_checkpoint(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = store_conn_db(f->sc);
	sqlite3_stmt *q, *u;
	struct audit_hasher h;
	struct audit_verify_result r;
	uint8_t prev[32], hash[32];

	fill(f, 50, 10);
	drop_triggers(f);
	sql(f, "UPDATE audit.records SET patient = 'pt-9' WHERE id = 23");
	assert_int_equal(audit_hasher_init(&h), RK_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT " AUDIT_REC_COLS
	                                        "FROM audit.records WHERE id >= 22 "
	                                        "ORDER BY id",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit.records SET "
	                                        "prev_hash = ?1, hash = ?2 WHERE id = ?3",
	                                    -1, &u, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW); /* record 22 */
	memcpy(prev, sqlite3_column_blob(q, AUDIT_COL_HASH), 32);
	sql(f, "BEGIN");
	while (sqlite3_step(q) == SQLITE_ROW) {
		struct audit_canon c;
		audit_row_canon(q, &c);
		assert_int_equal(audit_hash_record(&h, prev, &c, hash), RK_OK);
		sqlite3_bind_blob(u, 1, prev, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(u, 2, hash, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int64(u, 3, c.id);
		assert_int_equal(sqlite3_step(u), SQLITE_DONE);
		sqlite3_reset(u);
		memcpy(prev, hash, 32);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	sql(f, "COMMIT");
	audit_hasher_fini(&h);

	r = verify(f, 0);
	assert_false(r.ok);
	assert_int_equal(r.first_bad_id, 21);
	assert_non_null(strstr(r.why, "checkpoint 3"));
}

/* What checkpoints cannot show, written down as tests: records removed
 * after the newest checkpoint, or removed together with the checkpoints
 * that covered them. last_signed_id is what an operator compares with
 * the AUDIT-CHECKPOINT lines of the operational log. */
static void
test_truncation_limits(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;

	fill(f, 55, 10);
	drop_triggers(f);
	sql(f, "DELETE FROM audit.records WHERE id > 50");
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_true(r.ok); /* within the checkpoint interval: undetectable */
	assert_int_equal(r.records, 50);

	sql(f, "DELETE FROM audit.records WHERE id > 30;"
	       "DELETE FROM audit.checkpoints WHERE record_id > 30");
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_true(r.ok); /* records and their checkpoints: only the log shows it */
	assert_int_equal(r.last_signed_id, 30);
}

/* ----------------------------------------------------------- checkpoints */

static void
test_checkpoint_by_time(void **state)
{
	struct fx *f = *state;
	struct audit_event ev = {.action = "login", .ts_ms = BASE_MS};

	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 0, 5000,
	                                        BASE_MS),
	                 RK_OK); /* nothing to sign */
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	ev.ts_ms = BASE_MS + 3000;
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 0, 5000,
	                                        BASE_MS + 4999),
	                 RK_OK);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit.checkpoints"), 0);
	/* measured from the oldest unsigned record, not the newest */
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 0, 5000,
	                                        BASE_MS + 5000),
	                 RK_OK);
	assert_int_equal(sql_int(f, "SELECT record_id FROM audit.checkpoints"), 2);
	/* covered: nothing more to sign however late it is */
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 1, 1,
	                                        BASE_MS + 99999),
	                 RK_OK);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit.checkpoints"), 1);
	store_conn_release(f->sc);
	assert_true(verify(f, AUDIT_VERIFY_STRICT).ok);
}

static void
test_checkpoint_refuses_broken_chain(void **state)
{
	struct fx *f = *state;

	fill(f, 20, 10);
	fill_range(f, 21, 25, 0);
	drop_triggers(f);
	sql(f, "UPDATE audit.records SET object = 'x' WHERE id = 23");
	assert_int_equal(audit_checkpoint_maybe(f->sc, "audit", f->signer, 1, 0,
	                                        TS(26)),
	                 RK_ERR_STORE);
	assert_int_equal(sql_int(f, "SELECT max(record_id) FROM audit.checkpoints"), 20);
	store_conn_release(f->sc);
}

static void
test_keys(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char err[256], pub1[512] = {0}, pub2[512] = {0}, priv[160];
	uint8_t raw1[32], raw2[32], id[32], want[32];
	struct audit_signer *again;
	FILE *p;

	/* The public key file: PEM, public only, readable by anyone. */
	assert_int_equal(stat(f->pub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	p = fopen(f->pub, "r");
	assert_non_null(p);
	assert_true(fread(pub1, 1, sizeof(pub1) - 1, p) > 0);
	fclose(p);
	assert_non_null(strstr(pub1, "BEGIN PUBLIC KEY"));
	assert_null(strstr(pub1, "PRIVATE"));

	/* The same seed is the same key (what unwrapping relies on); the id
	 * is SHA-256 of the raw public key. */
	again = audit_signer_new(f->seed, err, sizeof(err));
	assert_non_null(again);
	assert_int_equal(audit_signer_pub(f->signer, raw1, id), RK_OK);
	assert_int_equal(audit_signer_pub(again, raw2, NULL), RK_OK);
	assert_memory_equal(raw1, raw2, 32);
	rk_sha256(raw1, 32, want);
	assert_memory_equal(id, want, 32);
	unlink(f->pub);
	assert_int_equal(audit_signer_write_pub(again, f->pub, err, sizeof(err)),
	                 RK_OK);
	audit_signer_free(again);
	p = fopen(f->pub, "r");
	assert_non_null(p);
	assert_true(fread(pub2, 1, sizeof(pub2) - 1, p) > 0);
	fclose(p);
	assert_string_equal(pub1, pub2);

	/* A PEM private key (the layout before wrapping) gives its seed. */
	snprintf(priv, sizeof(priv), "%s/old-signing.pem", f->dir);
	assert_int_equal(audit_pem_seed(priv, raw2, err, sizeof(err)), RK_ERR_IO);
	assert_int_equal(audit_pem_seed(f->pub, raw2, err, sizeof(err)),
	                 RK_ERR_CONFIG); /* a public key has no seed */

	struct audit_verify_result r;
	assert_int_equal(audit_verify_db(f->sc, "audit", f->care, 0, NULL, &r),
	                 RK_ERR_CONFIG); /* a database is not a public key */
	assert_int_equal(audit_verify_db(f->sc, "nope", f->pub, 0, NULL, &r),
	                 RK_ERR_INVALID);
}
/* ---------------------------------------------------- append and queries */

static void
test_append_cleans_fields(void **state)
{
	struct fx *f = *state;
	struct audit_query q = {.outcome = -1};
	struct audit_record *recs;
	size_t n;
	bool more;
	char longtext[3 * 1000 + 1] = {0};
	struct audit_event ev = {.action = "login", .actor_login = "\xff\xfe" "bad\x01",
	                         .actor_org = "", .outcome = RK_ERR_UNAUTHENTICATED,
	                         .error_code = "UNAUTHENTICATED"};

	assert_int_equal(audit_append(f->sc, "audit", &(struct audit_event){0}),
	                 RK_ERR_INVALID); /* no action */
	assert_int_equal(audit_append(f->sc, "elsewhere", &ev), RK_ERR_INVALID);
	for (int i = 0; i < 1000; i++)
		memcpy(longtext + 3 * i, "あ", 3);
	ev.reason = longtext;
	assert_int_equal(audit_append(f->sc, "audit", &ev), RK_OK);

	assert_int_equal(audit_query_run(f->sc, "audit", &q, &recs, &n, &more), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(recs[0].ev.actor_login, "\xef\xbf\xbd\xef\xbf\xbd" "bad\xef\xbf\xbd");
	assert_null(recs[0].ev.actor_org);
	assert_null(recs[0].ev.patient);
	assert_true(recs[0].ev.ts_ms > BASE_MS); /* 0 = now */
	assert_int_equal(strlen(recs[0].ev.reason), AUDIT_FIELD_MAX / 3 * 3);
	assert_true(rk_utf8_valid(recs[0].ev.reason, strlen(recs[0].ev.reason)));
	assert_memory_equal(recs[0].prev_hash, (uint8_t[32]){0}, 32);
	audit_records_free(recs, n);
	store_conn_release(f->sc);
	assert_true(verify(f, 0).ok);
}
/* ---------------------------------------------------------- trusted time */

/* Sign msg with the fixture's private key, as a server that predates the
 * clock's state would have. */
static void
sign_raw(struct fx *f, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	EVP_PKEY *pkey =
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, f->seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;

	assert_non_null(pkey);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, len), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
}

/* A checkpoint signs the clock's state with its time (message version
 * 2): changing the state breaks the signature. A checkpoint signed
 * before the state was recorded (version 1, clock_sync NULL) still
 * verifies, and so does an export holding both kinds. */
static void
test_checkpoint_signs_the_clock_state(void **state)
{
	struct fx *f = *state;
	struct audit_verify_result r;
	int clock = rk_clock_sync_state();
	uint8_t msg[AUDIT_CP_MSG_MAX], hash[32], sig[64];
	sqlite3_stmt *q;
	char upd[400], hex[129];
	FILE *out;

	fill(f, 20, 10);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit.checkpoints"
	                            " WHERE clock_sync IS NOT NULL"),
	                 2);
	assert_int_equal(sql_int(f, "SELECT min(clock_sync) FROM audit.checkpoints"),
	                 clock);
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_true(r.ok);
	assert_int_equal(r.unsynced_checkpoints, clock == RK_CLOCK_SYNCED ? 0 : 2);

	drop_triggers(f);
	snprintf(upd, sizeof(upd), "UPDATE audit.checkpoints SET clock_sync = %d"
	                           " WHERE record_id = 10",
	         clock == RK_CLOCK_SYNCED ? 0 : 1);
	sql(f, upd);
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_false(r.ok);
	assert_int_equal(r.bad_checkpoint_id, 1);
	assert_non_null(strstr(r.why, "signature"));

	/* The first checkpoint as an older server signed it: version 1. */
	assert_int_equal(sqlite3_prepare_v2(store_conn_db(f->sc),
	                                    "SELECT record_hash, signed_ms FROM"
	                                    " audit.checkpoints WHERE record_id = 10",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	memcpy(hash, sqlite3_column_blob(q, 0), 32);
	assert_int_equal(audit_cp_message_for(msg, 10, hash, sqlite3_column_int64(q, 1), -1),
	                 AUDIT_CP_MSG_LEN);
	sqlite3_finalize(q);
	assert_memory_equal(msg, "renkei-audit-v1", 16);
	sign_raw(f, msg, AUDIT_CP_MSG_LEN, sig);
	rk_hex_encode(sig, 64, hex);
	snprintf(upd, sizeof(upd), "UPDATE audit.checkpoints SET clock_sync = NULL,"
	                           " sig = x'%s' WHERE record_id = 10",
	         hex);
	sql(f, upd);
	r = verify(f, AUDIT_VERIFY_STRICT);
	assert_true(r.ok);
	assert_int_equal(r.checkpoints, 2);
	assert_int_equal(r.unsynced_checkpoints, clock == RK_CLOCK_SYNCED ? 0 : 1);

	/* The export carries both kinds and verifies offline. */
	out = fopen(f->out, "w");
	assert_non_null(out);
	assert_true(audit_export(f->sc, "audit", 0, 0, AUDIT_JSONL, out) == 20);
	fclose(out);
	assert_int_equal(audit_verify_export(f->out, f->pub, &r), RK_OK);
	assert_true(r.ok);
	assert_int_equal(r.checkpoints, 2);
	assert_int_equal(r.unsynced_checkpoints, clock == RK_CLOCK_SYNCED ? 0 : 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_chain_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_triggers_refuse_changes, setup, teardown),
		cmocka_unit_test(test_tamper_detected),
		cmocka_unit_test_setup_teardown(test_forged_append_with_valid_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_checkpoint_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_chain_caught_by_checkpoint, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_truncation_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_refuses_broken_chain, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_signs_the_clock_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_cleans_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_keys_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_by_a_key_not_in_the_chain_fails,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered_rotation_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
