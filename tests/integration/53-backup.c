/*
 * 53-backup: online backup and restore (admin/backup.h), on the real
 * server over real TLS with real SQLCipher files.
 *
 *  - A backup taken while three members post continuously restores into a
 *    new folder where every post acknowledged up to the backup's audit
 *    head is present, byte for byte (and every post acknowledged before
 *    the backup began); the restored posts are exactly the acknowledged
 *    ones up to some point, with no hole; `audit verify` and `verify
 *    --content` pass; no ok
 *    record names a post that is not stored; the server serves from the
 *    restored folder and takes new posts; the backup holds none of the
 *    live keys, the backup key or the signing key (hex and raw bytes).
 *  - `backup verify` passes on the backup and fails on a copy with one
 *    byte changed (in care.db, in audit.db, in the manifest), on a file
 *    added, and with another backup key; restore refuses each.
 *  - restore refuses a folder that holds databases and a missing signing
 *    key; backup refuses a folder inside the data folder; backup_keep
 *    keeps the newest generations.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"

extern char **environ;

#define POSTERS 3
#define IN_FLIGHT 8
#define RATE_PER_S 400 /* all posters together, while the backup runs */
/* Posts made as fast as they are taken before that, a few KiB each, so
 * that the databases are big enough (~5 MiB) for a copy held to
 * BACKUP_MB_S to take seconds, with over a thousand posts committed
 * while it reads. */
#define WARM_POSTS 1500
#define BACKUP_MB_S "2"

static const char *const poster_login[POSTERS] = {"dr.tanaka", "ns.kobayashi",
                                                  "cm.nakamura"};
static const char *const poster_board[POSTERS] = {"pt-yamada", "pt-sato",
                                                  "pt-yamada"};

struct sent {
	uint64_t rid;
	char cid[48];
	char *text;
};

struct acked {
	int poster;
	char cid[48];
	char *text;
	uint64_t id;
	int before_backup; /* acknowledged before the backup command started */
};

struct run {
	struct h_server *s;
	char bk[200];     /* the folder given to backup --to */
	char name[128];   /* the backup made under load */
	struct acked *acked;
	size_t nacked, capacked;
	long sent;
};

static int
setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));
	const char *tmp = getenv("TMPDIR");

	/* Checkpoints often, so that the backup's chain has several. */
	static const char *const args[] = {"--audit-checkpoint-records", "200", NULL};
	r->s = h_server_up(args);
	if (r->s == NULL) {
		free(r);
		return -1;
	}
	snprintf(r->bk, sizeof(r->bk), "%s/renkei-it-bk-XXXXXX",
	         tmp != NULL && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(r->bk) == NULL) {
		h_server_free(r->s);
		free(r);
		return -1;
	}
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct run *r = *state;
	char cmd[400];
	int rc = h_server_free(r->s);

	if (getenv("RENKEI_KEEP_TEST_DATA") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->bk);
		if (h_sh(cmd, NULL) != 0)
			fprintf(stderr, "could not remove %s\n", r->bk);
	}
	for (size_t i = 0; i < r->nacked; i++)
		free(r->acked[i].text);
	free(r->acked);
	free(r);
	return rc;
}

/* ------------------------------------------------------------- commands */

/* renkei-server ARGS... with stdout and stderr to log; returns the pid. */
static pid_t
spawn_admin(const char *log, const char *const *args)
{
	posix_spawn_file_actions_t fa;
	char *argv[24];
	int n = 0;
	pid_t pid;

	argv[n++] = (char *)h_server_bin();
	for (; args[n - 1] != NULL && n < 23; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log,
	                                 O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Run renkei-server with args (NULL-terminated); its exit status, and its
 * output in *out (malloc'ed) if out is not NULL. */
static int
admin(const struct run *r, char **out, const char *const *args)
{
	char log[300];
	int st = -1;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/admin-%ld.log", r->bk, (long)h_mono_ms());
	unlink(log);
	pid = spawn_admin(log, args);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (out != NULL) {
		*out = h_read_file(log, NULL);
		if (*out == NULL)
			*out = strdup("");
	}
	unlink(log);
	if (!WIFEXITED(st)) {
		print_message("renkei-server %s: killed by signal %d\n", args[0],
		              WIFSIGNALED(st) ? WTERMSIG(st) : -1);
		return 128;
	}
	return WEXITSTATUS(st);
}

/* The backups in a folder (names starting renkei-backup-), counted; the
 * newest name (they sort by their time) into newest[128]. */
static int
backups_in(const char *dir, char newest[128])
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	newest[0] = '\0';
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "renkei-backup-", 14) != 0)
			continue;
		n++;
		if (strcmp(e->d_name, newest) > 0)
			snprintf(newest, 128, "%.127s", e->d_name);
	}
	closedir(d);
	return n;
}

/* ----------------------------------------------------------------- load */

static int
send_post(struct run *r, struct rkc *c, int p, struct sent *slot)
{
	Renkei__V1__Envelope req = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__CreatePostRequest cp = RENKEI__V1__CREATE_POST_REQUEST__INIT;
	size_t extra = (size_t)(rand() % 300) + (r->sent < WARM_POSTS ? 3000 : 0);
	int k;

	snprintf(slot->cid, sizeof(slot->cid), "bk-%d-%ld", p, r->sent);
	slot->text = malloc(200 + extra);
	k = snprintf(slot->text, 200, "訪問記録 backup %ld — SpO2 9%ld%% ", r->sent,
	             r->sent % 10);
	for (size_t i = 0; i < extra; i++)
		slot->text[k + (int)i] = (char)('a' + rand() % 26);
	slot->text[k + (int)extra] = '\0';
	r->sent++;
	cp.patient = (char *)poster_board[p];
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
take_answer(struct run *r, int p, struct sent *slots, Renkei__V1__Envelope *env,
            int before)
{
	for (int i = 0; i < IN_FLIGHT; i++) {
		struct sent *slot = &slots[i];
		struct acked *a;

		if (slot->text == NULL || slot->rid != env->request_id)
			continue;
		/* Under load every post is taken: a backup refuses nobody. */
		h_assert_body(env, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
		if (r->nacked == r->capacked) {
			r->capacked = r->capacked ? r->capacked * 2 : 1024;
			r->acked = realloc(r->acked, r->capacked * sizeof(*r->acked));
			assert_non_null(r->acked);
		}
		a = &r->acked[r->nacked++];
		a->poster = p;
		memcpy(a->cid, slot->cid, sizeof(a->cid));
		a->text = slot->text;
		a->id = env->post_response->post->id;
		a->before_backup = before;
		slot->text = NULL;
		return;
	}
}

/* Post at RATE_PER_S while `backup --to` runs (started after warm_ms),
 * and for a while after it ended. */
static void
post_while_backing_up(struct run *r, int *backup_status, int64_t *backup_ms)
{
	struct rkc *c[POSTERS];
	struct sent slots[POSTERS][IN_FLIGHT];
	int64_t t0 = 0, started = 0, ended = 0;
	const char *args[] = {"backup", "--data", r->s->dir, "--to", r->bk,
	                      "--backup-max-mb-s", BACKUP_MB_S, NULL};
	char log[300];
	pid_t pid = 0;
	int st = -1;

	snprintf(log, sizeof(log), "%s/backup-under-load.log", r->bk);
	memset(slots, 0, sizeof(slots));
	for (int p = 0; p < POSTERS; p++) {
		c[p] = h_connect_login(r->s, poster_login[p], NULL);
		assert_non_null(c[p]);
	}
	for (;;) {
		int64_t now = h_mono_ms();

		/* Warm-up done (all acknowledged): the steady load begins. */
		if (t0 == 0 && r->nacked >= WARM_POSTS)
			t0 = now;
		if (pid == 0 && t0 != 0 && now - t0 >= 1000) {
			pid = spawn_admin(log, args);
			assert_true(pid > 0);
			started = now;
		}
		if (pid > 0 && ended == 0 && waitpid(pid, &st, WNOHANG) == pid)
			ended = h_mono_ms();
		if (ended != 0 && now - ended >= 500)
			break;
		assert_true(t0 == 0 || now - t0 < 100000); /* the backup must end */
		for (int p = 0; p < POSTERS; p++) {
			Renkei__V1__Envelope *env = NULL;
			for (int i = 0; i < IN_FLIGHT; i++)
				if (slots[p][i].text == NULL &&
				    (t0 == 0 ? r->sent < WARM_POSTS
				             : r->sent < WARM_POSTS + (now - t0) * RATE_PER_S / 1000))
					assert_int_equal(send_post(r, c[p], p, &slots[p][i]), 0);
			while (rkc_recv(c[p], 1, &env) == 0) {
				take_answer(r, p, slots[p], env, pid == 0);
				h_env_free(env);
				env = NULL;
			}
		}
	}
	/* Drain what is in flight. */
	for (int p = 0; p < POSTERS; p++) {
		Renkei__V1__Envelope *env = NULL;
		while (rkc_recv(c[p], 2000, &env) == 0) {
			take_answer(r, p, slots[p], env, 0);
			h_env_free(env);
			env = NULL;
		}
		for (int i = 0; i < IN_FLIGHT; i++)
			free(slots[p][i].text);
		rkc_close(c[p]);
	}
	{
		char *out = h_read_file(log, NULL);
		fputs(out != NULL ? out : "(no backup log)\n", stderr);
		free(out);
	}
	*backup_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	*backup_ms = ended - started;
}

/* ------------------------------------------------------------- the keys */

/* A key of the live key folder, unwrapped with the test KEK: hex and
 * raw bytes. */
static void
hex_key(const struct h_server *srv, const char *file, char hex[65],
        uint8_t raw[32])
{
	assert_int_equal(h_key_hex(srv, file, hex), 0);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		raw[i] = (uint8_t)v;
	}
}

static void
assert_not_in(const char *dir, const void *needle, size_t n, const char *what)
{
	char found[300];
	int hits = h_dir_grep(dir, needle, n, found, sizeof(found));

	assert_true(hits >= 0);
	if (hits != 0)
		fail_msg("%s found in the backup: %s", what, found);
}

/* None of the keys, raw or as hex (either case), nor a wrapped key
 * file's text, in any file of dir. */
static void
assert_no_key_in(const struct run *r, const char *dir)
{
	static const char *const keys[] = {"care.key", "audit.key", "backup.key",
	                                   "audit-signing.key"};
	char path[600], hex[65], upper[65];
	uint8_t raw[32];

	for (size_t k = 0; k < 4; k++) {
		hex_key(r->s, keys[k], hex, raw);
		for (int i = 0; i < 64; i++)
			upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
		upper[64] = '\0';
		assert_not_in(dir, raw, 32, keys[k]);
		assert_not_in(dir, hex, 64, keys[k]);
		assert_not_in(dir, upper, 64, keys[k]);
		/* nor the wrapped file itself (its ciphertext and tag) */
		snprintf(path, sizeof(path), "%s/%s", r->s->keys, keys[k]);
		char *text = h_read_file(path, NULL);
		assert_non_null(text);
		assert_true(strlen(text) > 80);
		assert_not_in(dir, text + strlen(text) - 80, 79, keys[k]);
		free(text);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
}

/* ------------------------------------------------------------- restored */

/* A data folder for restore, and its key folder beside it (DIR-keys)
 * with the certificates and the signing key, as an operator brings them
 * (keys are never in a backup); no database. */
static struct h_server *
new_folder(const struct run *r, int with_signing_key)
{
	struct h_server *n = calloc(1, sizeof(*n));
	char cmd[3000];

	assert_non_null(n);
	n->last_status = -1;
	snprintf(n->dir, sizeof(n->dir), "%s/restored-XXXXXX", r->bk);
	assert_non_null(mkdtemp(n->dir));
	snprintf(n->keys, sizeof(n->keys), "%.250s-keys", n->dir);
	snprintf(n->ca, sizeof(n->ca), "%s/certs/ca.pem", n->keys);
	snprintf(n->log_path, sizeof(n->log_path), "%s/server.log", n->dir);
	snprintf(cmd, sizeof(cmd),
	         "mkdir -m 700 '%s' && cp -r '%s/certs' '%s/'%s%s%s%s%s", n->keys,
	         r->s->keys, n->keys, with_signing_key ? " && cp -p '" : "",
	         with_signing_key ? r->s->keys : "",
	         with_signing_key ? "/audit-signing.key' '" : "",
	         with_signing_key ? n->keys : "", with_signing_key ? "/'" : "");
	assert_int_equal(h_sh(cmd, NULL), 0);
	return n;
}

static int
restore(const struct run *r, const char *from, const struct h_server *to,
        char **out)
{
	char key[400];
	const char *args[] = {"restore", "--from", from, "--data", to->dir,
	                      "--backup-key-file", key, NULL};

	snprintf(key, sizeof(key), "%s/backup.key", r->s->keys);
	return admin(r, out, args);
}

/* The audit record id of each acknowledged post's creation, in the live
 * trail: -1 if none. */
static int64_t
create_record(sqlite3 *live, uint64_t post_id)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
	         "SELECT coalesce((SELECT id FROM audit.records WHERE action ="
	         " 'post.create' AND outcome = 0 AND object = '%llu'), -1)",
	         (unsigned long long)post_id);
	return h_db_int(live, sql);
}

static void
test_backup_under_load_restores(void **state)
{
	struct run *r = *state;
	struct h_server *n;
	sqlite3 *live, *db;
	sqlite3_stmt *q = NULL;
	char path[600], *out = NULL, *manifest;
	json_t *m;
	int status;
	int64_t ms, head, max_restored = 0;
	size_t up_to_head = 0, before = 0, present = 0;

	post_while_backing_up(r, &status, &ms);
	assert_int_equal(status, 0);
	assert_int_equal(backups_in(r->bk, r->name), 1);
	print_message("backup under load: %zu posts acknowledged (%d first, then "
	              "%d/s), the backup took %lld ms\n",
	              r->nacked, WARM_POSTS, RATE_PER_S, (long long)ms);

	snprintf(path, sizeof(path), "%s/%s/manifest.json", r->bk, r->name);
	manifest = h_read_file(path, NULL);
	assert_non_null(manifest);
	m = json_loads(manifest, 0, NULL);
	assert_non_null(m);
	head = json_integer_value(json_object_get(json_object_get(m, "audit"), "head_id"));
	json_decref(m);
	free(manifest);
	assert_true(head > 0);

	/* verify, then no key anywhere in the backup */
	snprintf(path, sizeof(path), "%s/%s", r->bk, r->name);
	{
		const char *args[] = {"backup", "verify", path, "--data", r->s->dir, NULL};
		assert_int_equal(admin(r, &out, args), 0);
		assert_non_null(strstr(out, "OK: "));
		free(out);
	}
	assert_no_key_in(r, r->bk);

	/* the live trail holds the backup's record */
	live = h_db_open(r->s);
	assert_non_null(live);
	snprintf(path, sizeof(path),
	         "SELECT count(*) FROM audit.records WHERE action = 'backup' AND"
	         " object = '%s' AND outcome = 0",
	         r->name);
	assert_int_equal(h_db_int(live, path), 1);

	/* restore into a new folder */
	n = new_folder(r, 1);
	assert_int_equal(restore(r, r->bk, n, &out), 0);
	fputs(out, stderr);
	free(out);
	{
		const char *args[] = {"audit", "verify", "--data", n->dir, NULL};
		assert_int_equal(admin(r, &out, args), 0);
		assert_non_null(strstr(out, "OK: "));
		free(out);
	}
	/* ... and every post, sheet row, hand-off and photo hashes as the
	 * restored trail says. */
	{
		const char *args[] = {"verify", "--content", "--data", n->dir, NULL};
		assert_int_equal(admin(r, &out, args), 0);
		free(out);
	}
	db = h_db_open(n);
	assert_non_null(db);
	assert_true(h_db_integrity_ok(db, "main"));
	assert_true(h_db_integrity_ok(db, "audit"));
	assert_int_equal(h_db_false_post_records(db), 0);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit.records WHERE"
	                              " action = 'restore' AND outcome = 0"),
	                 1);
	assert_int_equal(h_db_int(db, "SELECT count(*) FROM audit_outbox WHERE id >"
	                              " (SELECT value FROM audit.meta WHERE name ="
	                              " 'outbox_upto')"),
	                 0);

	/* Every acknowledged post whose record is up to the head is there,
	 * byte for byte; the restored ones are a prefix, with no hole. */
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT p.body FROM posts p JOIN users u ON"
	                     " u.id = p.author_id WHERE p.id = ?1 AND u.login = ?2"
	                     " AND p.client_id = ?3",
	                     -1, &q, NULL),
	                 SQLITE_OK);
	for (size_t i = 0; i < r->nacked; i++)
		if (r->acked[i].id > (uint64_t)max_restored) {
			sqlite3_bind_int64(q, 1, (sqlite3_int64)r->acked[i].id);
			sqlite3_bind_text(q, 2, poster_login[r->acked[i].poster], -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(q, 3, r->acked[i].cid, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				max_restored = (int64_t)r->acked[i].id;
			sqlite3_reset(q);
		}
	for (size_t i = 0; i < r->nacked; i++) {
		const struct acked *a = &r->acked[i];
		int64_t rec = create_record(live, a->id);
		int row;

		assert_true(rec > 0);
		sqlite3_bind_int64(q, 1, (sqlite3_int64)a->id);
		sqlite3_bind_text(q, 2, poster_login[a->poster], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, a->cid, -1, SQLITE_STATIC);
		row = sqlite3_step(q) == SQLITE_ROW;
		if (row && ((size_t)sqlite3_column_bytes(q, 0) != strlen(a->text) ||
		            memcmp(sqlite3_column_blob(q, 0), a->text, strlen(a->text)) != 0))
			fail_msg("post %llu restored with other bytes",
			         (unsigned long long)a->id);
		sqlite3_reset(q);
		if (rec <= head) {
			up_to_head++;
			if (!row)
				fail_msg("post %llu (record %lld, head %lld) is not restored",
				         (unsigned long long)a->id, (long long)rec, (long long)head);
		}
		if (a->before_backup) {
			before++;
			if (!row)
				fail_msg("post %llu, acknowledged before the backup began, "
				         "is not restored",
				         (unsigned long long)a->id);
		}
		if ((int64_t)a->id <= max_restored && !row)
			fail_msg("post %llu is a hole in the restored posts",
			         (unsigned long long)a->id);
		present += (size_t)row;
	}
	sqlite3_finalize(q);
	print_message("restored %zu of %zu acknowledged posts: all %zu up to the "
	              "audit head (record %lld), all %zu from before the backup\n",
	              present, r->nacked, up_to_head, (long long)head, before);
	assert_true(before > 0);
	assert_true(up_to_head >= before);
	assert_true(present < r->nacked); /* posting went on after the snapshot */
	sqlite3_close(live);
	sqlite3_close(db);

	/* The server serves from it, old posts and new. */
	assert_int_equal(h_server_start(n, NULL), 0);
	{
		struct rkc *c = h_connect_login(n, "dr.tanaka", NULL);
		Renkei__V1__Envelope *env;

		assert_non_null(c);
		env = h_timeline_env(c, "pt-yamada");
		h_assert_body(env, RENKEI__V1__ENVELOPE__BODY_TIMELINE_RESPONSE);
		assert_true(env->timeline_response->n_posts > 0);
		h_env_free(env);
		env = h_post_env(c, "pt-yamada", "after-restore-1",
		                 RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL,
		                 "復元後の最初の記録");
		h_assert_body(env, RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE);
		h_env_free(env);
		rkc_close(c);
	}
	db = h_db_open(n);
	assert_non_null(db);
	assert_int_equal(h_db_false_post_records(db), 0);
	sqlite3_close(db);
	assert_int_equal(h_server_free(n), 0);
}

/* --------------------------------------------------------------- damage */

static void
flip_byte(const char *path, long at)
{
	FILE *f = fopen(path, "r+b");
	int c;

	assert_non_null(f);
	if (at < 0) {
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		at = ftell(f) / 2;
	}
	assert_int_equal(fseek(f, at, SEEK_SET), 0);
	c = fgetc(f);
	assert_true(c != EOF);
	assert_int_equal(fseek(f, at, SEEK_SET), 0);
	fputc(c ^ 0x01, f);
	fclose(f);
}

/* A copy of the backup made under load, with `file` changed (NULL: an
 * extra file added); backup verify must fail naming what, and restore
 * must refuse it. */
static void
damaged(struct run *r, const char *file, long at, const char *expect)
{
	char copy[400], cmd[1400], path[500], *out = NULL;
	struct h_server *n;

	snprintf(copy, sizeof(copy), "%s/damaged-%s", r->bk, file ? file : "extra");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s/%s' '%s'", copy, r->bk,
	         r->name, copy);
	assert_int_equal(h_sh(cmd, NULL), 0);
	if (file != NULL) {
		snprintf(path, sizeof(path), "%s/%s", copy, file);
		flip_byte(path, at);
	} else {
		snprintf(path, sizeof(path), "%s/notes.txt", copy);
		assert_int_equal(h_write_file(path, "x", 1), 0);
	}
	{
		const char *args[] = {"backup", "verify", copy, "--data", r->s->dir, NULL};
		assert_int_equal(admin(r, &out, args), 1);
	}
	if (strstr(out, expect) == NULL)
		fail_msg("backup verify of %s changed: expected \"%s\" in:\n%s",
		         file ? file : "(extra file)", expect, out);
	print_message("%s changed: %s", file ? file : "extra file",
	              strstr(out, "FAILED") ? strstr(out, "FAILED") : out);
	free(out);
	n = new_folder(r, 1);
	assert_int_equal(restore(r, copy, n, &out), 1);
	assert_non_null(strstr(out, "nothing was restored"));
	free(out);
	snprintf(path, sizeof(path), "%s/care.db", n->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(h_server_free(n), 0);
}

static void
test_verify_fails_on_one_changed_byte(void **state)
{
	struct run *r = *state;
	char *out = NULL, path[400];

	if (r->name[0] == '\0') /* the first test made it */
		skip();
	damaged(r, "care.db", -1, "care.db: its SHA-256 is not the manifest's");
	damaged(r, "audit.db", 5000, "audit.db: its SHA-256");
	damaged(r, "manifest.json", 40, "does not match its MAC");
	damaged(r, NULL, 0, "notes.txt is not in the manifest");

	/* Another backup key: told apart from damage. */
	snprintf(path, sizeof(path), "%s/%s", r->bk, r->name);
	setenv("RENKEI_BACKUP_KEY",
	       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
	{
		const char *args[] = {"backup", "verify", path, "--data", r->s->dir, NULL};
		assert_int_equal(admin(r, &out, args), 1);
	}
	unsetenv("RENKEI_BACKUP_KEY");
	assert_non_null(strstr(out, "another backup key"));
	free(out);
}

/* ------------------------------------------------------ refusals, keep */

static void
test_restore_refusals(void **state)
{
	struct run *r = *state;
	struct h_server *n;
	char *out = NULL, path[400];

	if (r->name[0] == '\0')
		skip();
	snprintf(path, sizeof(path), "%s/%s", r->bk, r->name);
	/* Not into a folder that holds databases: the live one, above all. */
	{
		const char *args[] = {"restore", "--from", path, "--data", r->s->dir, NULL};
		assert_int_equal(admin(r, &out, args), 1);
		assert_non_null(strstr(out, "fresh data folder"));
		free(out);
	}
	/* No backup inside the data folder. */
	{
		char inside[400];
		snprintf(inside, sizeof(inside), "%s/backups", r->s->dir);
		const char *args[] = {"backup", "--data", r->s->dir, "--to", inside, NULL};
		assert_int_equal(admin(r, &out, args), 1);
		assert_non_null(strstr(out, "inside the data folder"));
		free(out);
	}
	/* Not without the key that signed the chain. */
	n = new_folder(r, 0);
	assert_int_equal(restore(r, path, n, &out), 1);
	assert_non_null(strstr(out, "audit signing key"));
	free(out);
	snprintf(path, sizeof(path), "%s/care.db", n->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(h_server_free(n), 0);
}

static void
test_generations_are_rotated(void **state)
{
	struct run *r = *state;
	char dir[400], newest[128], names[3][128], path[600];
	const char *args[] = {"backup", "--data", r->s->dir, "--to", dir,
	                      "--backup-keep", "2", NULL};

	snprintf(dir, sizeof(dir), "%s/generations", r->bk);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(admin(r, NULL, args), 0);
		assert_int_equal(backups_in(dir, newest), i < 2 ? i + 1 : 2);
		snprintf(names[i], sizeof(names[i]), "%s", newest);
	}
	/* The two newest stay. */
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, names[1]);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, names[2]);
	assert_int_equal(access(path, F_OK), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_under_load_restores),
		cmocka_unit_test(test_verify_fails_on_one_changed_byte),
		cmocka_unit_test(test_restore_refusals),
		cmocka_unit_test(test_generations_are_rotated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
