/* Unit tests: where the store's writer puts audit records (store.h,
 * docs/audit-commit.md), with the real audit journal: a record commits
 * with the change it records or not at all, nothing is done while the
 * trail cannot be written, what a crash left in the outbox reaches the
 * trail once, and the disk reserve refuses changes but not reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_store.h"

#include "audit/audit.h"
#include "store/store.h"
#include "util/err.h"

struct fx {
	char dir[64];
	char care[96], audit[96];
	struct store_config cfg;
	struct audit_journal journal;
};

/* The real journal, whose forward can be made to fail (a trail that
 * cannot be written, e.g. audit.db's disk is full). */
static bool forward_fails;

static int
flaky_forward(struct store_conn *jc, void *arg)
{
	if (forward_fails)
		return RK_ERR_STORE;
	return audit_store_journal.forward(jc, arg);
}

static struct store_journal flaky;

static void
nowake(void *arg)
{
	(void)arg;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_conn *sc;
	char err[256];

	unit_tmpdir(f->dir, "journal");
	unit_store_config(&f->cfg, f->dir, f->care, f->audit);
	f->cfg.wake = nowake;
	f->cfg.journal = &flaky;
	f->cfg.journal_arg = &f->journal;
	flaky = audit_store_journal;
	flaky.forward = flaky_forward;
	forward_fails = false;
	/* A change that COMMIT refuses: a deferred foreign key. */
	assert_int_equal(store_conn_open(&sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(store_exec(sc, "CREATE TABLE t_later (org_id INTEGER"
	                                " REFERENCES orgs(id) DEFERRABLE INITIALLY"
	                                " DEFERRED)"),
	                 RK_OK);
	store_conn_close(sc);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	unit_rm_rf(f->dir);
	free(f);
	return 0;
}

enum jop_kind { JOP_WRITE, JOP_READ, JOP_COMMIT_FAILS };

struct jop {
	struct store_op op;
	enum jop_kind kind;
	int i, done, rc;
};

static int
jop_run(struct store_conn *sc, struct store_op *op)
{
	struct jop *j = (struct jop *)op;
	char sql[128];

	if (j->kind == JOP_READ)
		return RK_OK;
	if (j->kind == JOP_COMMIT_FAILS)
		snprintf(sql, sizeof(sql), "INSERT INTO t_later VALUES (999999)");
	else
		snprintf(sql, sizeof(sql),
		         "INSERT INTO orgs(code, name) VALUES ('j-%d', 'j')", j->i);
	return store_exec(sc, sql);
}

static void
jop_done(struct store_op *op, int rc)
{
	struct jop *j = (struct jop *)op;
	j->done = 1;
	j->rc = rc;
	audit_entries_free(op->journal);
	op->journal = NULL;
}

/* Submit one op carrying one record ("test.write" or "test.read",
 * object i, outcome from the op) and wait for it. */
static int
run_one(struct store *s, enum jop_kind kind, int i, bool lean)
{
	struct jop j = {.kind = kind, .i = i};
	struct audit_event ev = {.action = kind == JOP_READ ? "test.read" : "test.write",
	                         .actor_user_id = 7};
	char obj[16];
	struct audit_entry *e;

	snprintf(obj, sizeof(obj), "%d", i);
	ev.object = obj;
	e = audit_entry_new(&ev);
	e->outcome_from_op = true;
	j.op.journal = e;
	j.op.run = jop_run;
	j.op.done = jop_done;
	j.op.lean = lean;
	assert_int_equal(store_submit_write(s, &j.op), RK_OK);
	for (int t = 0; t < 5000 && !j.done; t++) {
		usleep(1000);
		store_complete(s);
	}
	assert_true(j.done);
	return j.rc;
}

static struct store *
open_store(struct fx *f)
{
	struct store *s;
	char err[256];

	assert_int_equal(store_open(&s, &f->cfg, err, sizeof(err)), RK_OK);
	return s;
}

static int64_t
count(struct fx *f, const char *sql)
{
	struct store_conn *sc;
	char err[256];
	sqlite3_stmt *q;
	int64_t n;

	assert_int_equal(store_conn_open(&sc, &f->cfg, 1, err, sizeof(err)), RK_OK);
	q = store_stmt(sc, sql);
	assert_non_null(q);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	store_conn_close(sc);
	return n;
}

static int64_t
records(struct fx *f, const char *action, int object, int outcome)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit.records WHERE action = '%s' AND"
	         " object = '%d' AND outcome = %d",
	         action, object, outcome);
	return count(f, sql);
}

/* Records of action with no object and the given outcome. */
static int64_t
records_no_object(struct fx *f, const char *action, int outcome)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit.records WHERE action = '%s' AND"
	         " object IS NULL AND outcome = %d",
	         action, outcome);
	return count(f, sql);
}

static int64_t
orgs(struct fx *f, int i)
{
	char sql[100];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM orgs WHERE code = 'j-%d'", i);
	return count(f, sql);
}

/* Records of a change reach the trail once each, after it commits; a
 * read's record goes straight there; nothing waits in the outbox. */
static void
test_records_reach_the_trail(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f);

	for (int i = 1; i <= 3; i++)
		assert_int_equal(run_one(s, JOP_WRITE, i, i == 2), RK_OK);
	assert_int_equal(run_one(s, JOP_READ, 4, true), RK_OK);
	store_close(s, NULL, NULL);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(orgs(f, i), 1);
		assert_int_equal(records(f, "test.write", i, RK_OK), 1);
	}
	assert_int_equal(records(f, "test.read", 4, RK_OK), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM audit_outbox WHERE id >"
	                          " (SELECT value FROM audit.meta WHERE name ="
	                          " 'outbox_upto')"),
	                 0);
	assert_int_equal(count(f, "SELECT count(*) FROM audit.records"), 4);
}

/* The trail cannot be written: the change that was already committed
 * keeps its record in the outbox, and nothing more is done — neither
 * changes nor reads — until it can. The next start moves the record into
 * the trail, once. */
static void
test_trail_down_fails_closed_then_recovers(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f);

	forward_fails = true;
	assert_int_equal(run_one(s, JOP_WRITE, 1, false), RK_OK); /* committed */
	assert_int_not_equal(run_one(s, JOP_WRITE, 2, false), RK_OK);
	assert_int_not_equal(run_one(s, JOP_READ, 3, true), RK_OK);
	store_close(s, NULL, NULL);
	assert_int_equal(orgs(f, 1), 1);
	assert_int_equal(orgs(f, 2), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM audit.records"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM audit_outbox"), 1);

	forward_fails = false;
	store_close(open_store(f), NULL, NULL); /* start: the outbox moves */
	store_close(open_store(f), NULL, NULL); /* ... and only once */
	assert_int_equal(records(f, "test.write", 1, RK_OK), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM audit.records"), 1);

	/* Writes go on, and the outbox's ids keep growing. */
	s = open_store(f);
	assert_int_equal(run_one(s, JOP_WRITE, 4, false), RK_OK);
	store_close(s, NULL, NULL);
	assert_int_equal(records(f, "test.write", 4, RK_OK), 1);
	assert_int_equal(count(f, "SELECT value FROM audit.meta WHERE name = 'outbox_upto'"), 2);
}

/* A batch whose COMMIT fails did nothing, and the trail says so: its
 * record is a failure, never "ok". */
static void
test_commit_failure_recorded_as_failure(void **state)
{
	struct fx *f = *state;
	struct store *s = open_store(f);

	assert_int_equal(run_one(s, JOP_COMMIT_FAILS, 1, false), RK_ERR_STORE);
	assert_int_equal(run_one(s, JOP_WRITE, 2, false), RK_OK);
	store_close(s, NULL, NULL);
	/* ... and names no object: an id it was given was never kept */
	assert_int_equal(records(f, "test.write", 1, RK_OK), 0);
	assert_int_equal(records_no_object(f, "test.write", RK_ERR_STORE), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM t_later"), 0);
	assert_int_equal(records(f, "test.write", 2, RK_OK), 1);
}

/* An outbox restored older than the trail (a care.db copied back) never
 * hands out an id the trail has already taken. */
static void
test_outbox_ids_not_reused_after_restore(void **state)
{
	struct fx *f = *state;
	struct store_conn *sc;
	char err[256];
	struct store *s;

	store_close(open_store(f), NULL, NULL);
	assert_int_equal(store_conn_open(&sc, &f->cfg, 0, err, sizeof(err)), RK_OK);
	assert_int_equal(store_exec(sc, "INSERT OR REPLACE INTO audit.meta VALUES"
	                                " ('outbox_upto', 1000)"),
	                 RK_OK);
	store_conn_close(sc);
	s = open_store(f);
	assert_int_equal(run_one(s, JOP_WRITE, 1, false), RK_OK);
	store_close(s, NULL, NULL);
	assert_int_equal(records(f, "test.write", 1, RK_OK), 1);
	assert_int_equal(count(f, "SELECT value FROM audit.meta WHERE name = 'outbox_upto'"), 1001);
}

/* Below the disk reserve a change is refused (RK_ERR_EXHAUSTED, and
 * recorded so) while a read goes on; lean ops are no exception. */
static void
test_reserve_refuses_changes_not_reads(void **state)
{
	struct fx *f = *state;
	struct store *s;

	f->cfg.disk_reserve_mb = 1 << 30; /* more than any disk here */
	s = open_store(f);
	assert_int_equal(run_one(s, JOP_WRITE, 1, false), RK_ERR_EXHAUSTED);
	assert_int_equal(run_one(s, JOP_WRITE, 2, true), RK_ERR_EXHAUSTED);
	assert_int_equal(run_one(s, JOP_READ, 3, true), RK_OK);
	store_close(s, NULL, NULL);
	assert_int_equal(orgs(f, 1) + orgs(f, 2), 0);
	assert_int_equal(records_no_object(f, "test.write", RK_ERR_EXHAUSTED), 2);
	assert_int_equal(records(f, "test.read", 3, RK_OK), 1);

	f->cfg.disk_reserve_mb = 0; /* room again: writes resume */
	s = open_store(f);
	assert_int_equal(run_one(s, JOP_WRITE, 4, false), RK_OK);
	store_close(s, NULL, NULL);
	assert_int_equal(orgs(f, 4), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_reach_the_trail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_down_fails_closed_then_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure_recorded_as_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_ids_not_reused_after_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_refuses_changes_not_reads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
