/* Unit tests: store/ (keys, group commit, savepoints) and care/ (posts,
 * idempotency, sequences, amend/retract rules, the access policy). */
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

#include "unit_store.h"

#include "auth/auth.h"
#include "care/care.h"
#include "store/schema.h"
#include "store/store.h"
#include "util/text.h"

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct store_conn *sc;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	struct rk_status st;
	int64_t pid;
	const char *users[][3] = {{"dr", "physician", "org-a"},
	                          {"ns", "nurse", "org-a"},
	                          {"cm", "care_manager", "org-a"},
	                          {"fam", "family", ""},
	                          {"aud", "auditor", "org-a"},
	                          {"out", "physician", "org-a"}};

	unit_tmpdir(f->dir, "store");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	f->cfg.max_batch = 1000;
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(auth_org_add(f->sc, "org-a", "A", "clinic", "", &st), RK_OK);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(auth_user_add(f->sc, users[i][0], users[i][0],
		                               auth_profession_parse(users[i][1]),
		                               users[i][2], "x", &st),
		                 RK_OK);
	struct care_patient_input in = {.code = "pt-1", .name = "テスト 患者"};
	assert_int_equal(care_patient_add(f->sc, &in, rk_now_ms(), &pid, &st), RK_OK);
	int64_t now = rk_now_ms();
	assert_int_equal(care_sheet_add(f->sc, pid, "dr", "主治医", true, 0, 0, 0, now, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid, "ns", "訪問看護", false, 0, 0, 0, now, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid, "cm", "ケアマネ", false, 0, 0, 0, now, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid, "fam", "家族", false, 0, 0, 0, now, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid, "aud", "監査", false, 0, 0, 0, now, &st), RK_OK);
	store_conn_release(f->sc);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	store_conn_close(f->sc);
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

static struct policy_actor
actor(struct fx *f, const char *login)
{
	struct auth_user u;
	assert_int_equal(auth_user_load(f->sc, login, 0, &u), RK_OK);
	struct policy_actor a = {.user_id = u.id, .profession = u.profession};
	return a;
}

static int
post(struct fx *f, const char *login, const char *cid, int vis, const char *text,
     struct care_post *out, bool *dup, struct rk_status *st)
{
	struct policy_actor a = actor(f, login);
	struct care_post_input in = {.client_id = cid, .kind = KIND_VISIT_NOTE,
	                             .visibility = vis, .text = text};
	return care_post_create(f->sc, &a, "pt-1", &in, rk_now_ms(), out, dup, st);
}

static void
test_wrong_key_refused(void **state)
{
	struct fx *f = *state;
	struct store_config bad = f->cfg;
	struct store_conn *sc = NULL;
	char err[256];

	bad.care_key.bytes[0] ^= 1;
	assert_int_not_equal(store_conn_open(&sc, &bad, 0, err, sizeof(err)), RK_OK);
	assert_non_null(strstr(err, "key"));
}

/* PRAGMA rekey on a file of its own: afterwards only the new key opens
 * it, the rows are all there and integrity_check is ok; a key that
 * opens nothing is told apart from an unreadable file. (Killing it
 * midway is tests/integration/56-rekey-kill.c.) */
static void
test_file_rekey(void **state)
{
	struct fx *f = *state;
	struct store_key next, other;
	struct store_conn *sc = NULL;
	struct store_config cfg = f->cfg;
	char err[256];

	store_conn_close(f->sc);
	f->sc = NULL;
	rk_random(next.bytes, 32);
	rk_random(other.bytes, 32);
	assert_int_equal(store_file_opens(f->care, &f->cfg.care_key, err, sizeof(err)), 1);
	assert_int_equal(store_file_opens(f->care, &next, err, sizeof(err)), 0);
	assert_int_equal(store_file_rekey(f->care, &other, &next, err, sizeof(err)), -1);
	assert_int_equal(store_file_rekey(f->care, &f->cfg.care_key, &next, err,
	                                  sizeof(err)),
	                 0);
	assert_int_equal(store_file_opens(f->care, &f->cfg.care_key, err, sizeof(err)), 0);
	assert_int_equal(store_file_opens(f->care, &next, err, sizeof(err)), 1);
	assert_int_equal(store_file_integrity(f->care, &next, err, sizeof(err)), 0);
	assert_int_equal(store_file_integrity(f->care, &other, err, sizeof(err)), -1);
	assert_int_equal(store_file_opens("/nonexistent/x.db", &next, err, sizeof(err)), -1);
	/* The store opens it with the new key, in WAL again, every row kept. */
	cfg.care_key = next;
	assert_int_equal(store_conn_open(&sc, &cfg, 0, err, sizeof(err)), RK_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(store_conn_db(sc),
	                                    "SELECT (SELECT count(*) FROM users), "
	                                    "(SELECT count(*) FROM sheet_members)",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 6);
	assert_int_equal(sqlite3_column_int(q, 1), 5);
	sqlite3_finalize(q);
	f->sc = sc;
	f->cfg.care_key = next;
}

/* The data folder's lock is exclusive, and dies with its holder. */
static void
test_data_lock(void **state)
{
	struct fx *f = *state;
	char err[512];
	int a = store_lock_data(f->dir, "a test", err, sizeof(err));

	assert_true(a >= 0);
	assert_int_equal(store_lock_data(f->dir, "a second test", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a second test cannot run beside it"));
	assert_non_null(strstr(err, "held by pid"));
	store_unlock_data(a);
	a = store_lock_data(f->dir, "a test", err, sizeof(err));
	assert_true(a >= 0);
	store_unlock_data(a);
}

/* ---- group commit */

struct gop {
	struct store_op op;
	int i, fail, sleep_ms, done, rc;
	int *ndone;
};

static int
gop_run(struct store_conn *sc, struct store_op *op)
{
	struct gop *g = (struct gop *)op;
	sqlite3_stmt *q;
	if (g->sleep_ms)
		usleep((useconds_t)g->sleep_ms * 1000);
	q = store_stmt(sc, "INSERT INTO orgs(code, name) VALUES (?, 'g')");
	char code[32];
	snprintf(code, sizeof(code), "g-%d", g->i);
	sqlite3_bind_text(q, 1, code, -1, SQLITE_TRANSIENT);
	if (store_step(sc, q) != SQLITE_DONE)
		return RK_ERR_STORE;
	return g->fail ? RK_ERR_INVALID : RK_OK;
}

/* A read-side op that only waits. */
static int
sleep_run(struct store_conn *sc, struct store_op *op)
{
	struct gop *g = (struct gop *)op;
	(void)sc;
	if (g->sleep_ms)
		usleep((useconds_t)g->sleep_ms * 1000);
	return RK_OK;
}

static void
gop_done(struct store_op *op, int rc)
{
	struct gop *g = (struct gop *)op;
	g->done = 1;
	g->rc = rc;
	(*g->ndone)++;
}

static void
nowake(void *arg)
{
	(void)arg;
}

static void
test_group_commit(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = f->cfg;
	struct store *s;
	struct store_stats st;
	char err[256];
	enum { N = 500 };
	struct gop *ops = calloc(N, sizeof(*ops));
	int ndone = 0;

	cfg.wake = nowake;
	assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), RK_OK);
	for (int i = 0; i < N; i++) {
		ops[i].op.run = gop_run;
		ops[i].op.done = gop_done;
		ops[i].i = i;
		ops[i].fail = i == 7;
		ops[i].sleep_ms = i == 0 ? 200 : 0; /* hold the writer: the rest queue */
		ops[i].ndone = &ndone;
		assert_int_equal(store_submit_write(s, &ops[i].op), RK_OK);
		if (i == 0)
			usleep(50000); /* let the writer take op 0 alone and sleep */
	}
	while (ndone < N) {
		usleep(1000);
		store_complete(s);
	}
	store_get_stats(s, &st);
	/* The first op runs alone; the 499 that queued behind it share one
	 * commit. */
	assert_true(st.commits <= 3);
	assert_true(st.batch_max >= N - 2);
	for (int i = 0; i < N; i++)
		assert_int_equal(ops[i].rc, i == 7 ? RK_ERR_INVALID : RK_OK);
	store_close(s, NULL, NULL);
	/* The failed op rolled back alone. */
	sqlite3_stmt *q = store_stmt(f->sc, "SELECT count(*) FROM orgs WHERE code LIKE 'g-%'");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), N - 1);
	sqlite3_reset(q);
	free(ops);
}

static int
count_g(struct fx *f)
{
	sqlite3_stmt *q = store_stmt(f->sc, "SELECT count(*) FROM orgs WHERE code LIKE 'g-%'");
	int n;
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return n;
}

/* A full queue turns work away instead of growing: with the writer held
 * by one op, queue_max more are taken and the next is refused
 * (RK_ERR_EXHAUSTED, counted); once the queue drains, submits work
 * again, and everything taken is committed. */
static void
test_queue_high_water(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = f->cfg;
	struct store *s;
	struct store_stats st;
	char err[256];
	enum { MAX = 4 };
	struct gop ops[MAX + 3];
	int ndone = 0;

	memset(ops, 0, sizeof(ops));
	cfg.wake = nowake;
	cfg.queue_max = MAX;
	assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), RK_OK);
	for (int i = 0; i < MAX + 3; i++) {
		ops[i].op.run = gop_run;
		ops[i].op.done = gop_done;
		ops[i].i = 1000 + i;
		ops[i].sleep_ms = i == 0 ? 300 : 0;
		ops[i].ndone = &ndone;
	}
	assert_int_equal(store_submit_write(s, &ops[0].op), RK_OK);
	usleep(100000); /* the writer takes op 0 and sleeps */
	for (int i = 1; i <= MAX; i++)
		assert_int_equal(store_submit_write(s, &ops[i].op), RK_OK);
	assert_int_equal(store_submit_write(s, &ops[MAX + 1].op), RK_ERR_EXHAUSTED);
	store_get_stats(s, &st);
	assert_int_equal(st.refused_full, 1);
	while (ndone < MAX + 1) {
		usleep(1000);
		store_complete(s);
	}
	assert_int_equal(store_submit_write(s, &ops[MAX + 2].op), RK_OK);
	while (ndone < MAX + 2) {
		usleep(1000);
		store_complete(s);
	}
	for (int i = 0; i < MAX + 3; i++)
		if (i != MAX + 1)
			assert_int_equal(ops[i].rc, RK_OK);
	store_close(s, NULL, NULL);
	assert_int_equal(count_g(f), MAX + 2);
}

/* Password checks have threads of their own: a read submitted behind a
 * slow hash op is answered first (it would wait on one reader). */
static void
test_hashers_apart_from_readers(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = f->cfg;
	struct store *s;
	char err[256];
	struct gop slow = {0}, fast = {0};
	int ndone = 0;

	cfg.wake = nowake;
	cfg.readers = 1;
	cfg.hashers = 1;
	assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), RK_OK);
	slow.op.run = sleep_run;
	slow.op.done = gop_done;
	slow.sleep_ms = 500;
	slow.ndone = &ndone;
	fast.op.run = sleep_run;
	fast.op.done = gop_done;
	fast.ndone = &ndone;
	assert_int_equal(store_submit_hash(s, &slow.op), RK_OK);
	usleep(50000);
	assert_int_equal(store_submit_read(s, &fast.op), RK_OK);
	for (int i = 0; i < 300 && !fast.done; i++) {
		usleep(1000);
		store_complete(s);
	}
	assert_true(fast.done);
	assert_false(slow.done);
	while (ndone < 2) {
		usleep(1000);
		store_complete(s);
	}
	store_close(s, NULL, NULL);
}

/* The hashers' queue has a bound of its own, far below queue_max: with
 * the one hasher held by a slow check and hash_queue_max more waiting,
 * the next is refused at once (counted apart from refused_full), while
 * reads are still taken; once it drains, logins are taken again. */
static void
test_hash_queue_bounded(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = f->cfg;
	struct store *s;
	struct store_stats st;
	char err[256];
	enum { MAX = 2 };
	struct gop ops[MAX + 3], rd = {0};
	int ndone = 0;

	memset(ops, 0, sizeof(ops));
	cfg.wake = nowake;
	cfg.hashers = 1;
	cfg.queue_max = 100;
	cfg.hash_queue_max = MAX;
	assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), RK_OK);
	for (int i = 0; i < MAX + 3; i++) {
		ops[i].op.run = sleep_run;
		ops[i].op.done = gop_done;
		ops[i].sleep_ms = i == 0 ? 300 : 0;
		ops[i].ndone = &ndone;
	}
	rd.op.run = sleep_run;
	rd.op.done = gop_done;
	rd.ndone = &ndone;
	assert_int_equal(store_submit_hash(s, &ops[0].op), RK_OK);
	usleep(100000); /* the hasher takes op 0 and sleeps */
	for (int i = 1; i <= MAX; i++)
		assert_int_equal(store_submit_hash(s, &ops[i].op), RK_OK);
	assert_int_equal(store_submit_hash(s, &ops[MAX + 1].op), RK_ERR_EXHAUSTED);
	assert_int_equal(store_submit_read(s, &rd.op), RK_OK);
	store_get_stats(s, &st);
	assert_int_equal(st.refused_hash_full, 1);
	assert_int_equal(st.refused_full, 0);
	while (ndone < MAX + 2) {
		usleep(1000);
		store_complete(s);
	}
	assert_int_equal(store_submit_hash(s, &ops[MAX + 2].op), RK_OK);
	while (ndone < MAX + 3) {
		usleep(1000);
		store_complete(s);
	}
	store_close(s, NULL, NULL);
}

/* A journal whose records cannot be written anywhere. */
static int
failing_stage(struct store_conn *wc, struct store_op *batch, void *arg)
{
	(void)wc;
	(void)batch;
	(void)arg;
	return RK_ERR_STORE;
}

static int
failing_forward(struct store_conn *jc, void *arg)
{
	(void)jc;
	(void)arg;
	return RK_ERR_STORE;
}

static int
failing_append(struct store_conn *jc, struct store_op *batch, int batch_rc,
               void *arg)
{
	(void)jc;
	(void)batch;
	(void)batch_rc;
	(void)arg;
	return RK_ERR_STORE;
}

static int
ok_reconcile(struct store_conn *wc, void *arg)
{
	(void)wc;
	(void)arg;
	return RK_OK;
}

static const struct store_journal failing_journal = {
	failing_stage, failing_forward, failing_append, ok_reconcile, NULL};

/* No action without its record: a journal that cannot be written fails
 * the whole batch, and nothing of it is committed. */
static void
test_journal_failure_fails_closed(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = f->cfg;
	struct store *s;
	char err[256];
	struct gop ops[3];
	int ndone = 0;

	memset(ops, 0, sizeof(ops));
	cfg.wake = nowake;
	cfg.journal = &failing_journal;
	assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), RK_OK);
	for (int i = 0; i < 3; i++) {
		ops[i].op.run = gop_run;
		ops[i].op.done = gop_done;
		ops[i].i = 1000 + i;
		ops[i].ndone = &ndone;
		assert_int_equal(store_submit_write(s, &ops[i].op), RK_OK);
	}
	while (ndone < 3) {
		usleep(1000);
		store_complete(s);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(ops[i].rc, RK_ERR_STORE);
	store_close(s, NULL, NULL);
	assert_int_equal(count_g(f), 0);
}

/* A lean op (no savepoint) that fails after writing fails its batch:
 * never half an op committed. */
static void
test_lean_dirty_failure_fails_batch(void **state)
{
	struct fx *f = *state;
	struct store_config cfg = f->cfg;
	struct store *s;
	char err[256];
	struct gop ops[2];
	int ndone = 0;

	memset(ops, 0, sizeof(ops));
	cfg.wake = nowake;
	assert_int_equal(store_open(&s, &cfg, err, sizeof(err)), RK_OK);
	ops[0].i = 2000;
	ops[0].sleep_ms = 100; /* both in one batch */
	ops[1].i = 2001;
	ops[1].fail = 1;       /* writes a row, then fails */
	for (int i = 0; i < 2; i++) {
		ops[i].op.run = gop_run;
		ops[i].op.done = gop_done;
		ops[i].op.lean = true;
		ops[i].ndone = &ndone;
		assert_int_equal(store_submit_write(s, &ops[i].op), RK_OK);
	}
	while (ndone < 2) {
		usleep(1000);
		store_complete(s);
	}
	store_close(s, NULL, NULL);
	/* Either they shared a batch (both fail, nothing kept) or op 0 went
	 * alone first (kept); the dirty op's row is never kept. */
	sqlite3_stmt *q = store_stmt(f->sc, "SELECT count(*) FROM orgs WHERE code = 'g-2001'");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_reset(q);
	assert_int_not_equal(ops[1].rc, RK_OK);
}

/* ---- care */

static void
test_post_idempotent_and_sequenced(void **state)
{
	struct fx *f = *state;
	struct care_post a, b, c;
	struct rk_status st = {0};
	bool dup;

	assert_int_equal(post(f, "ns", "cid-1", VIS_PROFESSIONAL, "訪問しました", &a, &dup, &st), RK_OK);
	assert_false(dup);
	assert_int_equal(post(f, "ns", "cid-1", VIS_PROFESSIONAL, "again", &b, &dup, &st), RK_OK);
	assert_true(dup);
	assert_int_equal(a.id, b.id);
	assert_string_equal(b.text, "訪問しました");
	assert_int_equal(post(f, "dr", "cid-1", VIS_CLINICAL, "dr's own", &c, &dup, &st), RK_OK);
	assert_false(dup); /* client ids are per author */
	assert_int_equal(c.seq, a.seq + 1);
	care_post_fini(&a);
	care_post_fini(&b);
	care_post_fini(&c);
	/* Append-only, enforced by the database itself. */
	assert_int_not_equal(store_exec(f->sc, "UPDATE posts SET body = 'x'"), RK_OK);
	assert_int_not_equal(store_exec(f->sc, "DELETE FROM posts"), RK_OK);
}

/* A client id is the author's key on one board: the same key on another
 * board is another post, and a repeat returns that board's own post. */
static void
test_client_id_scoped_to_board(void **state)
{
	struct fx *f = *state;
	struct policy_actor ns = actor(f, "ns");
	struct care_post_input in = {.client_id = "cid-b", .kind = KIND_VISIT_NOTE,
	                             .visibility = VIS_PROFESSIONAL, .text = "一"};
	struct care_patient_input pin = {.code = "pt-2", .name = "二人目"};
	struct care_post a, b, c;
	struct rk_status st = {0};
	int64_t pid2;
	bool dup;

	assert_int_equal(care_patient_add(f->sc, &pin, rk_now_ms(), &pid2, &st), RK_OK);
	assert_int_equal(care_sheet_add(f->sc, pid2, "ns", "訪問看護", false, 0, 0,
	                                0, rk_now_ms(), &st),
	                 RK_OK);
	assert_int_equal(care_post_create(f->sc, &ns, "pt-1", &in, rk_now_ms(), &a, &dup, &st), RK_OK);
	assert_false(dup);
	in.text = "二";
	assert_int_equal(care_post_create(f->sc, &ns, "pt-2", &in, rk_now_ms(), &b, &dup, &st), RK_OK);
	assert_false(dup);
	assert_int_not_equal(a.id, b.id);
	assert_int_equal(b.patient_id, pid2);
	assert_int_equal(care_post_create(f->sc, &ns, "pt-2", &in, rk_now_ms(), &c, &dup, &st), RK_OK);
	assert_true(dup);
	assert_int_equal(c.id, b.id);
	assert_string_equal(c.text, "二");
	care_post_fini(&a);
	care_post_fini(&b);
	care_post_fini(&c);
}

/* The rebuild of posts (schema step 6) keeps every row and every
 * reference to them, and the table's indexes and triggers. */
static void
test_posts_rebuild_keeps_rows(void **state)
{
	struct fx *f = *state;
	struct care_post a, b;
	struct rk_status st = {0};
	char err[256];
	sqlite3_stmt *q;
	bool dup;

	assert_int_equal(post(f, "ns", "r-1", VIS_PROFESSIONAL, "一つ目", &a, &dup, &st), RK_OK);
	assert_int_equal(post(f, "dr", "r-2", VIS_CLINICAL, "二つ目", &b, &dup, &st), RK_OK);
	care_post_fini(&b);
	assert_int_equal(store_exec(f->sc, "INSERT INTO acks VALUES (1, 1, 1)"), RK_OK);
	/* Back to schema 5 (the outbox, still empty, as step 5 made it):
	 * opening again runs steps 6 onwards over these rows. (A later step
	 * that cannot run twice must be undone here as well.) */
	{
		int count;
		const struct schema_migration *m = schema_migrations("main", &count);
		assert_true(count >= 7 && m[4].version == 5);
		assert_int_equal(store_exec(f->sc, "DROP TABLE audit_outbox"), RK_OK);
		assert_int_equal(store_exec(f->sc, m[4].sql), RK_OK);
		/* Step 9 added columns to users and sessions (which SQLite
		 * cannot drop) and made tables: users and sessions become
		 * their step 1 shape again, rows kept. */
		assert_int_equal(count >= 9 && m[8].version == 9, 1);
		assert_int_equal(
		        store_exec(f->sc,
		                   "PRAGMA foreign_keys = OFF;"
		                   "DROP TABLE totp; DROP TABLE totp_recovery;"
		                   "DROP TABLE IF EXISTS device_certs;"
		                   "CREATE TABLE users_v8 (id INTEGER PRIMARY KEY,"
		                   " login TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,"
		                   " profession INTEGER NOT NULL, org_id INTEGER REFERENCES"
		                   " orgs(id), pw_hash TEXT NOT NULL, disabled INTEGER NOT"
		                   " NULL DEFAULT 0, created_ms INTEGER NOT NULL);"
		                   "INSERT INTO users_v8 SELECT id, login, display_name,"
		                   " profession, org_id, pw_hash, disabled, created_ms FROM users;"
		                   "CREATE TABLE sessions_v8 (id INTEGER PRIMARY KEY,"
		                   " token_hash BLOB NOT NULL UNIQUE, user_id INTEGER NOT NULL"
		                   " REFERENCES users(id), created_ms INTEGER NOT NULL,"
		                   " expires_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
		                   " ended_ms INTEGER, end_reason TEXT, device TEXT NOT NULL"
		                   " DEFAULT '', address TEXT NOT NULL DEFAULT '');"
		                   "INSERT INTO sessions_v8 SELECT id, token_hash, user_id,"
		                   " created_ms, expires_ms, last_seen_ms, ended_ms, end_reason,"
		                   " device, address FROM sessions;"
		                   "DROP TABLE sessions; DROP TABLE users;"
		                   "ALTER TABLE users_v8 RENAME TO users;"
		                   "ALTER TABLE sessions_v8 RENAME TO sessions;"
		                   "PRAGMA foreign_keys = ON;"),
		        RK_OK);
	}
	assert_int_equal(store_exec(f->sc, "PRAGMA main.user_version = 5"), RK_OK);
	store_conn_close(f->sc);
	assert_int_equal(store_conn_open(&f->sc, &f->cfg, 0, err, sizeof(err)), RK_OK);

	q = store_stmt(f->sc, "SELECT count(*), sum(length(body)) FROM posts");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 2);
	assert_int_equal(sqlite3_column_int(q, 1), 6); /* 3 + 3 characters */
	sqlite3_reset(q);
	q = store_stmt(f->sc, "SELECT count(*) FROM sqlite_master WHERE tbl_name ="
	                      " 'posts' AND type IN ('index', 'trigger')"
	                      " AND name NOT LIKE 'sqlite_autoindex%'");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 5);
	sqlite3_reset(q);
	q = store_stmt(f->sc, "PRAGMA foreign_key_check");
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_reset(q);
	q = store_stmt(f->sc, "SELECT count(*) FROM acks JOIN posts ON posts.id = acks.post_id");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	sqlite3_reset(q);
	assert_int_not_equal(store_exec(f->sc, "UPDATE posts SET body = 'x'"), RK_OK);
	assert_int_not_equal(store_exec(f->sc, "DELETE FROM posts"), RK_OK);
	/* ... and the old key is one board's now. */
	assert_int_equal(post(f, "ns", "r-1", VIS_PROFESSIONAL, "again", &b, &dup, &st), RK_OK);
	assert_true(dup);
	assert_int_equal(b.id, a.id);
	care_post_fini(&a);
	care_post_fini(&b);
}

static void
test_policy_denials(void **state)
{
	struct fx *f = *state;
	struct care_post p;
	struct rk_status st = {0};
	bool dup;

	assert_int_equal(post(f, "out", "x1", VIS_ALL, "not mine", &p, &dup, &st), RK_ERR_DENIED);
	assert_int_equal(post(f, "aud", "x2", VIS_ALL, "auditor", &p, &dup, &st), RK_ERR_DENIED);
	assert_int_equal(post(f, "fam", "x3", VIS_PROFESSIONAL, "family", &p, &dup, &st), RK_ERR_DENIED);
	assert_string_equal(st.field, "visibility");
	assert_int_equal(post(f, "cm", "x4", VIS_CLINICAL, "cm", &p, &dup, &st), RK_ERR_DENIED);
	assert_int_equal(post(f, "fam", "x5", VIS_ALL, "家族より", &p, &dup, &st), RK_OK);
	care_post_fini(&p);

	/* Family reads only posts marked all. */
	struct policy_actor fam = actor(f, "fam");
	struct care_page pg;
	assert_int_equal(care_timeline(f->sc, &fam, "pt-1", 0, 0, 50, rk_now_ms(), &pg, &st), RK_OK);
	for (size_t i = 0; i < pg.n; i++)
		assert_int_equal(pg.posts[i].visibility, VIS_ALL);
	assert_true(pg.n >= 1);
	care_page_fini(&pg);
	struct policy_actor out = actor(f, "out");
	assert_int_equal(care_timeline(f->sc, &out, "pt-1", 0, 0, 50, rk_now_ms(), &pg, &st), RK_ERR_DENIED);
	assert_int_equal(care_timeline(f->sc, &out, "pt-nope", 0, 0, 50, rk_now_ms(), &pg, &st), RK_ERR_DENIED);
}

static void
test_amend_retract(void **state)
{
	struct fx *f = *state;
	struct care_post p, a, r, x;
	struct rk_status st = {0};
	struct policy_actor ns = actor(f, "ns"), dr = actor(f, "dr");
	struct care_post_input in = {.client_id = "am-1", .kind = KIND_GENERAL,
	                             .visibility = VIS_ALL, .text = "訂正"};
	bool dup;

	assert_int_equal(post(f, "ns", "orig-1", VIS_PROFESSIONAL, "元", &p, &dup, &st), RK_OK);
	assert_int_equal(care_post_amend(f->sc, &dr, p.id, &in, rk_now_ms(), &x, &dup, &st), RK_ERR_DENIED);
	assert_int_equal(care_post_amend(f->sc, &ns, p.id, &in, rk_now_ms(), &a, &dup, &st), RK_OK);
	assert_int_equal(a.amends_id, p.id);
	assert_int_equal(a.visibility, VIS_PROFESSIONAL); /* inherited */
	in.client_id = "am-2";
	assert_int_equal(care_post_amend(f->sc, &ns, p.id, &in, rk_now_ms(), &x, &dup, &st), RK_ERR_PRECONDITION);
	assert_int_equal(care_post_retract(f->sc, &ns, a.id, "rt-1", "誤記", rk_now_ms(), &r, &dup, &st), RK_OK);
	assert_int_equal(r.retracts_id, a.id);
	assert_int_equal(care_post_retract(f->sc, &ns, a.id, "rt-2", "again", rk_now_ms(), &x, &dup, &st), RK_ERR_PRECONDITION);
	/* The original and the amendment are still there, linked. */
	struct care_post back;
	assert_int_equal(care_post_load(f->sc, p.id, &back), RK_OK);
	assert_int_equal(back.amended_by, a.id);
	care_post_fini(&back);
	assert_int_equal(care_post_load(f->sc, a.id, &back), RK_OK);
	assert_int_equal(back.retracted_by, r.id);
	care_post_fini(&back);
	/* Not visible = not there: 99999 and a post the actor cannot see
	 * give the same answer. */
	struct policy_actor out = actor(f, "out");
	int64_t acked;
	bool fresh;
	assert_int_equal(care_ack(f->sc, &out, p.id, rk_now_ms(), &acked, &fresh, &x, &st), RK_ERR_NOT_FOUND);
	assert_int_equal(care_ack(f->sc, &out, 99999, rk_now_ms(), &acked, &fresh, &x, &st), RK_ERR_NOT_FOUND);
	care_post_fini(&p);
	care_post_fini(&a);
	care_post_fini(&r);
}

static void
test_vitals_and_input(void **state)
{
	struct rk_status st = {0};
	struct care_vitals v = {.temperature_dc = 368, .bp_systolic = 112, .bp_diastolic = 68,
	                        .pulse = 88, .spo2 = 95, .respiration = 18};
	(void)state;
	assert_int_equal(care_vitals_check(&v, &st), RK_OK);
	v.spo2 = 101;
	assert_int_equal(care_vitals_check(&v, &st), RK_ERR_INVALID);
	assert_string_equal(st.field, "vitals.spo2");
	v.spo2 = 95;
	v.bp_diastolic = 120;
	assert_int_equal(care_vitals_check(&v, &st), RK_ERR_INVALID);
	struct care_post_input in = {.client_id = "c", .kind = KIND_VITALS,
	                             .visibility = VIS_ALL, .text = "\xc3\x28"};
	assert_int_equal(care_post_input_check(&in, &st), RK_ERR_INVALID);
	in.text = "";
	assert_int_equal(care_post_input_check(&in, &st), RK_ERR_INVALID);
	in.text = "ok";
	in.client_id = "has space";
	assert_int_equal(care_post_input_check(&in, &st), RK_ERR_INVALID);
	assert_int_equal(care_date_to_ms("2026-12-31", true) - care_date_to_ms("2026-12-31", false), 86400000);
	char d[11];
	care_ms_to_date(care_date_to_ms("2026-12-31", true) - 1, d);
	assert_string_equal(d, "2026-12-31");
	assert_true(care_date_to_ms("2026-13-01", false) == INT64_MIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_high_water, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_queue_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hashers_apart_from_readers, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_journal_failure_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lean_dirty_failure_fails_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_idempotent_and_sequenced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_id_scoped_to_board, setup, teardown),
		cmocka_unit_test_setup_teardown(test_posts_rebuild_keeps_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_denials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_amend_retract, setup, teardown),
		cmocka_unit_test(test_vitals_and_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
