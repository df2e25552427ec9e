/*
 * 56-rekey-kill: `renkei-server rekey` killed with SIGKILL at random
 * moments (issue 12, item 2). care.db is made large enough (tens of MiB
 * of posts) that a rekey takes a while; one rekey is timed whole (T),
 * then each cycle starts `rekey care` (every third cycle `rekey audit`)
 * and kills it after a random delay: in three cycles of ten anywhere in
 * [0, T] (mostly while PRAGMA rekey rewrites pages), otherwise in
 * [0.85 T, 1.25 T], around the commit, the record and the rename, where
 * the states are many and the window short. T follows what the cycles
 * see (a kill past T that found the rekey unfinished moves it later; a
 * rekey that ended first moves it towards when it did), since the
 * machine's load moves it. Nothing in the server knows it is tested:
 * the production binary runs, and is killed.
 *
 * After every kill, before any tool looks:
 *  - the database opens with exactly one of the two keys (the old one,
 *    or the new one left in KEYS/NAME.new or already in KEYS/NAME), and
 *    PRAGMA integrity_check is ok with it;
 * then `renkei-server keys check`:
 *  - finishes or undoes the rekey and says which key opens the database,
 *    the one found above; KEYS/NAME then holds that key, no .new is left;
 *  - every post is still there;
 *  - the audit trail holds one "key.rekey" record per key change (ok)
 *    and one per rekey undone (failed), never two for one new key, and
 *    `audit verify` passes.
 * At the end the server starts on the rekeyed folder and serves.
 *
 * Then `audit rotate-key` is killed the same way: `keys check` settles
 * each, the trail holds one record per rotation, and it verifies.
 *
 * RENKEI_REKEY_CYCLES sets the cycles (default 8, CI; half as many for
 * rotations), RENKEI_REKEY_SEED the random seed (printed, to replay a
 * failure).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define BULK_POSTS 4000
#define BULK_TEXT 8000 /* bytes per post: ~32 MiB of text */

static struct h_server *srv;
static long posts_total;
static int changes_ok, undone;

static int
write_bulk_ward(const char *path)
{
	json_t *root = json_object(), *users = json_array(), *pts = json_array();
	json_t *sheet = json_array(), *posts = json_array();
	char *text = malloc(BULK_TEXT + 1);
	int rc;

	if (text == NULL)
		return -1;
	json_array_append_new(users, h_ward_user("bulk.dr", "physician",
	                                         "org-clinic-hikari"));
	json_array_append_new(sheet, h_ward_member("bulk.dr", "主治医", 1, NULL,
	                                           NULL));
	srand(12);
	for (int i = 0; i < BULK_POSTS; i++) {
		/* Varied ASCII: every page of it differs. */
		for (int k = 0; k < BULK_TEXT; k++)
			text[k] = (char)('a' + rand() % 26);
		text[BULK_TEXT] = '\0';
		json_array_append_new(posts, h_ward_post("bulk.dr", "all", text));
	}
	json_array_append_new(pts, json_pack("{s:s, s:s, s:o, s:o}", "id",
	                                     "pt-bulk", "name", "pt-bulk", "sheet",
	                                     sheet, "posts", posts));
	json_object_set_new(root, "users", users);
	json_object_set_new(root, "patients", pts);
	rc = json_dump_file(root, path, JSON_COMPACT);
	json_decref(root);
	free(text);
	return rc;
}

static int
setup(void **state)
{
	char path[600];
	sqlite3 *db;

	(void)state;
	if ((srv = h_server_new()) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/bulk-ward.json", srv->dir);
	if (write_bulk_ward(path) != 0 || h_import(srv, path) != 0)
		return -1;
	unlink(path);
	if ((db = h_db_open(srv)) == NULL)
		return -1;
	posts_total = (long)h_db_int(db, "SELECT count(*) FROM posts");
	sqlite3_close(db);
	return posts_total >= BULK_POSTS ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return h_server_free(srv);
}

/* ------------------------------------------------------------- helpers */

/* Open path with the key hex (as the server does); 1 opens, 0 not, and
 * *integrity_ok tells what integrity_check said when it opens. */
static int
opens_with(const char *path, const char *hex, int *integrity_ok)
{
	char sql[200];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ok = 0;

	*integrity_ok = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return 0;
	}
	snprintf(sql, sizeof(sql),
	         "PRAGMA key = \"x'%s'\"; PRAGMA cipher_page_size = 4096;", hex);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
	                 NULL) == SQLITE_OK) {
		ok = 1;
		if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) ==
		        SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(q, 0);
			*integrity_ok = t != NULL && strcmp(t, "ok") == 0;
			if (!*integrity_ok)
				fprintf(stderr, "integrity_check: %s\n", t ? t : "?");
		}
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	return ok;
}

static int
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Start `renkei-server CMD ARG` (rekey care, audit rotate-key), and
 * SIGKILL it after delay_ms unless it ended before. Returns 1 if it was
 * killed, 0 if it had ended by itself (its exit status in *status, the
 * time it ran in *took_ms). */
static int
killed_after(const char *cmd, const char *arg, int delay_ms, int *status,
             int64_t *took_ms)
{
	char log[600];
	pid_t pid;
	int st, killed = 0;
	int64_t end;

	snprintf(log, sizeof(log), "%s/rekey.log", srv->dir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(h_server_bin(), h_server_bin(), cmd, arg, "--data", srv->dir,
		      (char *)NULL);
		_exit(127);
	}
	*took_ms = h_mono_ms();
	end = *took_ms + delay_ms;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (h_mono_ms() >= end) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
			break;
		}
		usleep(500);
	}
	*status = st;
	*took_ms = h_mono_ms() - *took_ms;
	return killed;
}

static int
rekey_killed_after(const char *which, int delay_ms, int *status,
                   int64_t *took_ms)
{
	return killed_after("rekey", which, delay_ms, status, took_ms);
}

static int64_t
db_count(const char *sql)
{
	sqlite3 *db = h_db_open(srv);
	int64_t n;

	assert_non_null(db);
	n = h_db_int(db, sql);
	sqlite3_close(db);
	return n;
}

static void
assert_trail_and_posts(void)
{
	char cmd[1000], *out = NULL;
	int rc;

	assert_int_equal(db_count("SELECT count(*) FROM posts"), posts_total);
	assert_int_equal(db_count("SELECT count(*) FROM audit.records WHERE "
	                          "action = 'key.rekey' AND outcome = 0"),
	                 changes_ok);
	assert_int_equal(db_count("SELECT count(*) FROM audit.records WHERE "
	                          "action = 'key.rekey' AND outcome != 0"),
	                 undone);
	assert_int_equal(db_count("SELECT count(*) - count(DISTINCT object) FROM "
	                          "audit.records WHERE action = 'key.rekey'"),
	                 0);
	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         srv->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0 || strstr(out, "OK:") == NULL)
		fail_msg("audit verify: exit %d: %s", rc, out);
	free(out);
}

/* ---------------------------------------------------------------- test */

static void
test_rekey_killed_at_random_points(void **state)
{
	const char *ev = getenv("RENKEI_REKEY_CYCLES");
	const char *es = getenv("RENKEI_REKEY_SEED");
	int cycles = ev != NULL && atoi(ev) > 0 ? atoi(ev) : 8;
	unsigned seed = es != NULL ? (unsigned)strtoul(es, NULL, 10)
	                           : (unsigned)time(NULL) ^ (unsigned)getpid();
	char before[65], after[65], fresh[65], keyp[600], newp[600], db[600];
	char cmd[1000], *out = NULL;
	int64_t t0, full_ms[2];
	int st, kills = 0, mid = 0, found_old = 0, found_new = 0, ended = 0;

	(void)state;
	print_message("seed %u (RENKEI_REKEY_SEED=%u replays it), %d cycles, "
	              "%ld posts\n",
	              seed, seed, cycles, posts_total);
	srand(seed);
	/* One whole rekey of each, timed: the span the kills are spread on. */
	for (int w = 0; w < 2; w++) {
		const char *which = w == 0 ? "care" : "audit";
		assert_int_equal(rekey_killed_after(which, 600000, &st, &t0), 0);
		full_ms[w] = t0;
		assert_true(h_exited_cleanly(st));
		changes_ok++;
		print_message("a whole rekey %s took %lld ms\n", which,
		              (long long)full_ms[w]);
	}
	assert_trail_and_posts();

	for (int c = 0; c < cycles; c++) {
		int w = c % 3 == 2 ? 1 : 0;
		const char *which = w == 0 ? "care" : "audit";
		double u = (double)rand() / RAND_MAX;
		double span = rand() % 10 < 3 ? u : 0.85 + 0.4 * u;
		int delay = (int)(span * (double)full_ms[w]);
		int killed, ok_old, ok_new = 0, i_old = 0, i_new = 0, had_new;

		snprintf(keyp, sizeof(keyp), "%s.key", which);
		snprintf(newp, sizeof(newp), "%s.key.new", which);
		snprintf(db, sizeof(db), "%s/%s.db", srv->dir, which);
		assert_int_equal(h_key_hex(srv, keyp, before), 0);

		killed = rekey_killed_after(which, delay, &st, &t0);
		kills += killed;
		if (!killed)
			assert_true(h_exited_cleanly(st));

		/* What is on disk, before any tool looks. */
		snprintf(cmd, sizeof(cmd), "%s/%s", srv->keys, newp);
		had_new = exists(cmd);
		fresh[0] = '\0';
		if (had_new)
			assert_int_equal(h_key_hex(srv, newp, fresh), 0);
		assert_int_equal(h_key_hex(srv, keyp, after), 0);
		if (!had_new && strcmp(after, before) != 0)
			memcpy(fresh, after, sizeof(fresh)); /* it finished */
		ok_old = opens_with(db, before, &i_old);
		if (fresh[0] != '\0')
			ok_new = opens_with(db, fresh, &i_new);
		print_message("cycle %d: rekey %s killed after %d ms (%s): %s%s\n", c,
		              which, delay, killed ? "killed" : "had ended",
		              ok_old ? "opens with the old key" : "",
		              ok_new ? "opens with the new key" : "");
		if (ok_old + ok_new != 1)
			fail_msg("cycle %d: %s.db opens with %d of the two keys", c,
			         which, ok_old + ok_new);
		assert_true(ok_old ? i_old : i_new);
		found_old += ok_old;
		found_new += ok_new;
		mid += had_new;
		ended += !killed;
		/* Where the end is now: killed late and unfinished, later;
		 * ended by itself, about when it did. */
		if (killed && ok_old && delay > full_ms[w])
			full_ms[w] = delay + delay / 10;
		else if (!killed)
			full_ms[w] = (full_ms[w] + t0) / 2;

		/* The tool finishes or undoes it, and says which. */
		snprintf(cmd, sizeof(cmd), "%s keys check --data %s", h_server_bin(),
		         srv->dir);
		int rc = h_sh(cmd, &out);
		if (rc != 0)
			fail_msg("cycle %d: keys check: exit %d: %s", c, rc, out);
		if (had_new && strstr(out, ok_new ? "opens with the NEW key"
		                                  : "opens with the OLD key") == NULL)
			fail_msg("cycle %d: keys check does not say the %s key: %s", c,
			         ok_new ? "new" : "old", out);
		free(out);
		out = NULL;
		snprintf(cmd, sizeof(cmd), "%s/%s", srv->keys, newp);
		assert_false(exists(cmd));
		assert_int_equal(h_key_hex(srv, keyp, after), 0);
		assert_string_equal(after, ok_new ? fresh : before);
		if (ok_new)
			changes_ok++;
		else if (had_new)
			undone++;
		assert_trail_and_posts();
	}
	print_message("%d cycles: %d killed (%d with a NAME.new left), %d "
	              "ended first; %d found under the old key, %d under the new "
	              "one\n",
	              cycles, kills, mid, ended, found_old, found_new);

	/* The server serves from the rekeyed folder. */
	assert_int_equal(h_server_start(srv, NULL), 0);
	struct rkc *cl = h_connect_login(srv, "bulk.dr", NULL);
	assert_non_null(cl);
	Renkei__V1__Envelope *r = h_timeline_env(cl, "pt-bulk");
	h_assert_body(r, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
	h_env_free(r);
	rkc_close(cl);
	assert_true(h_exited_cleanly(h_server_stop(srv, SIGTERM, 15000)));
	assert_trail_and_posts();
}

/* `audit rotate-key` killed the same way: afterwards `keys check` settles
 * it (the signing key in place is the one the trail expects), every
 * rotation in the trail has its one record, and audit verify passes. */
static void
test_rotate_key_killed_at_random_points(void **state)
{
	const char *ev = getenv("RENKEI_REKEY_CYCLES");
	int cycles = ev != NULL && atoi(ev) > 0 ? (atoi(ev) + 1) / 2 : 4;
	char cmd[1000], *out = NULL;
	int64_t full, took;
	int st, killed, rotated = 0, kills = 0;

	(void)state;
	assert_int_equal(killed_after("audit", "rotate-key", 600000, &st, &full), 0);
	assert_true(h_exited_cleanly(st));
	rotated++;
	for (int c = 0; c < cycles; c++) {
		int delay = (int)((double)rand() / RAND_MAX * 1.3 * (double)full);

		killed = killed_after("audit", "rotate-key", delay, &st, &took);
		kills += killed;
		if (!killed) {
			assert_true(h_exited_cleanly(st));
			full = (full + took) / 2;
		}
		snprintf(cmd, sizeof(cmd), "%s keys check --data %s", h_server_bin(),
		         srv->dir);
		if (h_sh(cmd, &out) != 0)
			fail_msg("rotation cycle %d: keys check: %s", c, out);
		print_message("rotation cycle %d: killed after %d ms (%s): %s", c,
		              delay, killed ? "killed" : "had ended",
		              strstr(out, "had committed")       ? "it had committed\n"
		              : strstr(out, "had not committed") ? "it had not committed\n"
		                                                 : "nothing left\n");
		free(out);
		out = NULL;
		rotated = (int)db_count("SELECT count(*) FROM audit.checkpoints WHERE "
		                        "next_key IS NOT NULL");
		assert_int_equal(db_count("SELECT count(*) FROM audit.records WHERE "
		                          "action = 'audit.key.rotate' AND outcome = 0"),
		                 rotated);
		assert_int_equal(db_count("SELECT count(*) - count(DISTINCT object) "
		                          "FROM audit.records WHERE action = "
		                          "'audit.key.rotate'"),
		                 0);
		assert_trail_and_posts();
	}
	print_message("%d rotation cycles: %d killed; %d rotations in the trail\n",
	              cycles, kills, rotated);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rekey_killed_at_random_points),
	    cmocka_unit_test(test_rotate_key_killed_at_random_points),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
