/*
 * 50-crash-cycles: SIGKILL under load, again and again. Three members
 * post to their boards with unique client ids, many requests in flight on
 * each connection; at a random moment the server is killed, and started
 * again on the same data. After every restart:
 *  - every post the server acknowledged is stored exactly once, with the
 *    same bytes, on the same board, under the id it was acknowledged with;
 *  - each board's sequence numbers run 1..last_seq, no gap, no repeat;
 *  - PRAGMA integrity_check is ok on care.db and on audit.db;
 *  - `renkei-server audit verify` passes;
 *  - no audit record with result ok names a post change whose id, author
 *    or patient is not the post stored under that id (docs/audit-commit.md).
 *
 * RENKEI_CRASH_CYCLES sets the number of cycles (default 5; CI), and
 * RENKEI_CRASH_SEED the random seed (printed, to replay a failure).
 * scripts/crash-cycles N runs many.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define POSTERS 3
#define IN_FLIGHT 24

static const char *const poster_login[POSTERS] = {"dr.tanaka", "ns.kobayashi",
                                                  "cm.nakamura"};
/* Boards each poster is on (demo ward). */
static const char *const poster_boards[POSTERS][3] = {
    {"pt-yamada", "pt-sato", "pt-suzuki"},
    {"pt-yamada", "pt-sato", NULL},
    {"pt-yamada", "pt-sato", "pt-suzuki"},
};
static const char *const all_boards[] = {"pt-yamada", "pt-sato", "pt-suzuki"};

struct sent {
	uint64_t rid;
	char cid[48];
	const char *patient;
	char *text;
};

struct acked {
	int poster;
	char cid[48];
	const char *patient;
	char *text;
	uint64_t id;
};

struct run {
	struct h_server *s;
	unsigned seed;
	struct acked *acked;
	size_t nacked, capacked;
	long posts_sent, records_checked;
};

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	const char *seed = getenv("RENKEI_CRASH_SEED");

	r->s = h_server_up(NULL);
	if (r->s == NULL) {
		free(r);
		return -1;
	}
	r->seed = seed != NULL ? (unsigned)strtoul(seed, NULL, 10)
	                       : (unsigned)h_now_ms();
	print_message("crash-cycles: seed %u (RENKEI_CRASH_SEED to replay)\n",
	              r->seed);
	srand(r->seed);
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;
	int rc = h_server_free(r->s);

	for (size_t i = 0; i < r->nacked; i++)
		free(r->acked[i].text);
	free(r->acked);
	free(r);
	return rc;
}

/* A note with multi-byte characters and a length that varies. */
static char *
note_text(int cycle, long n)
{
	size_t extra = (size_t)(rand() % 400);
	char *t = malloc(200 + extra);
	int k = snprintf(t, 200, "訪問記録 cycle %d post %ld — 体温 36.%ld℃ ",
	                 cycle, n, n % 10);

	for (size_t i = 0; i < extra; i++)
		t[k + (int)i] = (char)('a' + rand() % 26);
	t[k + (int)extra] = '\0';
	return t;
}

static int
send_post(struct run *r, struct rkc *c, int p, int cycle, struct sent *slot)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	const char *board;
	int nb = poster_boards[p][2] != NULL ? 3 : 2;

	board = poster_boards[p][rand() % nb];
	snprintf(slot->cid, sizeof(slot->cid), "crash-%u-%d-%d-%ld", r->seed,
	         cycle, p, r->posts_sent);
	slot->patient = board;
	slot->text = note_text(cycle, r->posts_sent);
	r->posts_sent++;
	cp.patient = (char *)board;
	cp.client_id = slot->cid;
	cp.kind = RENKEI__V1__POST_KIND__VISIT_NOTE;
	cp.visibility = RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL;
	cp.text = slot->text;
	req.body_case = RENKEI__V1__ENVELOPE__BODY_CREATE_POST_REQUEST;
	req.create_post_request = &cp;
	if (rkc_send_request(c, &req) != 0)
		return -1;
	slot->rid = req.request_id;
	return 0;
}

static void
keep_ack(struct run *r, int p, struct sent *slot, uint64_t id)
{
	struct acked *a;

	if (r->nacked == r->capacked) {
		r->capacked = r->capacked ? r->capacked * 2 : 1024;
		r->acked = realloc(r->acked, r->capacked * sizeof(*r->acked));
		assert_non_null(r->acked);
	}
	a = &r->acked[r->nacked++];
	a->poster = p;
	memcpy(a->cid, slot->cid, sizeof(a->cid));
	a->patient = slot->patient;
	a->text = slot->text; /* moves */
	a->id = id;
	slot->text = NULL;
}

/* An answer to one of ours: an acknowledged post is kept; anything else
 * must be a clean refusal (the server is going down), never a success
 * without a post. Returns 1 if the answer was for a slot. */
static int
take_answer(struct run *r, int p, struct sent *slots, Renkei__V1__Envelope *env)
{
	for (int i = 0; i < IN_FLIGHT; i++) {
		struct sent *slot = &slots[i];
		if (slot->text == NULL || slot->rid != env->request_id)
			continue;
		if (env->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
			assert_non_null(env->post_response->post);
			assert_false(env->post_response->duplicate);
			keep_ack(r, p, slot, env->post_response->post->id);
		} else {
			free(slot->text);
			slot->text = NULL;
		}
		return 1;
	}
	return 0;
}

/* One cycle: post for a random 150..1350 ms, kill, read what the
 * server had sent before it died. */
static void
load_and_kill(struct run *r, int cycle)
{
	struct rkc *c[POSTERS];
	struct sent slots[POSTERS][IN_FLIGHT];
	int64_t kill_at;
	size_t before = r->nacked;
	int st;

	memset(slots, 0, sizeof(slots));
	for (int p = 0; p < POSTERS; p++) {
		c[p] = h_connect_login(r->s, poster_login[p], NULL);
		assert_non_null(c[p]);
	}
	kill_at = h_mono_ms() + 150 + rand() % 1200;
	while (h_mono_ms() < kill_at) {
		for (int p = 0; p < POSTERS; p++) {
			Renkei__V1__Envelope *env = NULL;
			for (int i = 0; i < IN_FLIGHT; i++)
				if (slots[p][i].text == NULL)
					assert_int_equal(send_post(r, c[p], p, cycle, &slots[p][i]), 0);
			while (rkc_recv(c[p], 1, &env) == 0) {
				take_answer(r, p, slots[p], env);
				h_env_free(env);
				env = NULL;
			}
		}
	}
	kill(r->s->pid, SIGKILL);
	for (int p = 0; p < POSTERS; p++) {
		Renkei__V1__Envelope *env = NULL;
		/* Whatever the server wrote before it died still counts. */
		while (rkc_recv(c[p], 300, &env) == 0) {
			take_answer(r, p, slots[p], env);
			h_env_free(env);
			env = NULL;
		}
		for (int i = 0; i < IN_FLIGHT; i++)
			free(slots[p][i].text);
		rkc_abort(c[p]);
	}
	st = h_server_stop(r->s, SIGKILL, 5000);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_true(r->nacked > before); /* the load did reach the server */
}

/* Every acknowledged post, exactly once, byte for byte. */
static void
check_acked(struct run *r, sqlite3 *db)
{
	sqlite3_stmt *q = NULL;

	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT p.id, pt.code, p.body FROM posts p"
	                     " JOIN patients pt ON pt.id = p.patient_id"
	                     " JOIN users u ON u.id = p.author_id"
	                     " WHERE p.client_id = ?1 AND u.login = ?2",
	                     -1, &q, NULL),
	                 SQLITE_OK);
	for (size_t i = 0; i < r->nacked; i++) {
		const struct acked *a = &r->acked[i];
		int rows = 0;

		sqlite3_bind_text(q, 1, a->cid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, poster_login[a->poster], -1, SQLITE_STATIC);
		while (sqlite3_step(q) == SQLITE_ROW) {
			const void *body = sqlite3_column_blob(q, 2);
			size_t n = (size_t)sqlite3_column_bytes(q, 2);
			rows++;
			if ((uint64_t)sqlite3_column_int64(q, 0) != a->id ||
			    strcmp((const char *)sqlite3_column_text(q, 1), a->patient) != 0 ||
			    n != strlen(a->text) || memcmp(body, a->text, n) != 0)
				fail_msg("acknowledged post %s (id %llu) stored differently",
				         a->cid, (unsigned long long)a->id);
		}
		sqlite3_reset(q);
		if (rows != 1)
			fail_msg("acknowledged post %s (id %llu) stored %d times",
			         a->cid, (unsigned long long)a->id, rows);
	}
	sqlite3_finalize(q);
}

static void
check_sequences(sqlite3 *db)
{
	for (size_t b = 0; b < 3; b++) {
		char sql[400];
		int64_t n, distinct, lo, hi, last;

#define BOARD_Q(what)                                                       \
	snprintf(sql, sizeof(sql),                                          \
	         "SELECT " what " FROM posts WHERE patient_id ="            \
	         " (SELECT id FROM patients WHERE code = '%s')",            \
	         all_boards[b])
		BOARD_Q("count(*)");
		n = h_db_int(db, sql);
		BOARD_Q("count(DISTINCT seq)");
		distinct = h_db_int(db, sql);
		BOARD_Q("coalesce(min(seq), 1)");
		lo = h_db_int(db, sql);
		BOARD_Q("coalesce(max(seq), 0)");
		hi = h_db_int(db, sql);
		snprintf(sql, sizeof(sql),
		         "SELECT last_seq FROM patients WHERE code = '%s'", all_boards[b]);
		last = h_db_int(db, sql);
		if (n != distinct || lo != 1 || hi != n || last != n)
			fail_msg("%s: %lld posts, %lld distinct seqs, seq %lld..%lld, "
			         "last_seq %lld",
			         all_boards[b], (long long)n, (long long)distinct,
			         (long long)lo, (long long)hi, (long long)last);
	}
}

static void
check_after_restart(struct run *r)
{
	sqlite3 *db = h_db_open(r->s);
	char cmd[700], *out = NULL;
	int64_t bad, checked;
	int rc;

	assert_non_null(db);
	check_acked(r, db);
	check_sequences(db);
	assert_true(h_db_integrity_ok(db, "main"));
	assert_true(h_db_integrity_ok(db, "audit"));
	bad = h_db_false_post_records(db);
	checked = h_db_int(db, "SELECT count(*) FROM audit.records WHERE action ="
	                       " 'post.create' AND outcome = 0");
	/* Every acknowledged post has its ok record. */
	assert_true(checked >= (int64_t)r->nacked);
	r->records_checked = checked;
	sqlite3_close(db);
	if (bad != 0)
		fail_msg("%lld audit records with result ok name a post that is not "
		         "the one stored under their id",
		         (long long)bad);

	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         r->s->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("audit verify failed (exit %d): %s", rc, out ? out : "");
	free(out);
}

static void
test_crash_cycles(void **state)
{
	struct run *r = *state;
	const char *env = getenv("RENKEI_CRASH_CYCLES");
	int cycles = env != NULL ? atoi(env) : 5;

	assert_true(cycles > 0);
	for (int i = 0; i < cycles; i++) {
		load_and_kill(r, i);
		assert_int_equal(h_server_restart(r->s), 0);
		check_after_restart(r);
		print_message("crash-cycles: cycle %d/%d ok: %zu acknowledged so far, "
		              "%ld sent, %ld ok post records checked\n",
		              i + 1, cycles, r->nacked, r->posts_sent,
		              r->records_checked);
	}
	print_message("crash-cycles: %d cycles: %zu acknowledged posts, 0 lost, 0 "
	              "duplicated, integrity ok %d/%d, audit verify ok %d/%d, 0 "
	              "false ok records among %ld\n",
	              cycles, r->nacked, cycles, cycles, cycles, cycles,
	              r->records_checked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crash_cycles),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
