/*
 * 51-disk-full: the data folder on a small filesystem made for the test
 * (tmpfs, mounted here: the test runs as root), filled while posting.
 *
 *  - Into the reserve (store_disk_reserve_mb): the poster gets
 *    RESOURCE_EXHAUSTED with the storage message, reads are still
 *    answered, and posting resumes without a restart once space is freed.
 *  - Full to the last byte with no reserve: the same clear error from a
 *    COMMIT that finds no room.
 *  - Only audit.db cannot grow: fail closed — nothing more is done, reads
 *    included, until the trail can be written; then everything resumes.
 *  - Only care.db cannot grow: posts refused, reads answered.
 *
 * In every case nothing acknowledged is lost, both databases pass
 * integrity_check, the chain verifies, and no audit record with result ok
 * names a post that is not stored (joined against care.db).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "harness.h"

#define TEXT_BYTES 8000

struct small_fs {
	char dir[64];
	int mounted;
};

static void
small_fs_mount(struct small_fs *fs, int mb)
{
	char opts[64];

	snprintf(fs->dir, sizeof(fs->dir), "/tmp/renkei-small-XXXXXX");
	assert_non_null(mkdtemp(fs->dir));
	snprintf(opts, sizeof(opts), "size=%dm,mode=0700", mb);
	if (mount("tmpfs", fs->dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		fail_msg("cannot mount a %d MiB tmpfs on %s (%s): this test makes "
		         "its own small filesystem and must run as root",
		         mb, fs->dir, strerror(errno));
	fs->mounted = 1;
}

static void
small_fs_unmount(struct small_fs *fs)
{
	if (fs->mounted && umount2(fs->dir, MNT_DETACH) != 0)
		fprintf(stderr, "umount %s: %s\n", fs->dir, strerror(errno));
	fs->mounted = 0;
	rmdir(fs->dir);
}

static long
free_kib(const char *dir)
{
	struct statvfs v;
	assert_int_equal(statvfs(dir, &v), 0);
	return (long)((unsigned long long)v.f_bavail * v.f_frsize / 1024);
}

/* Write DIR/filler until at most leave_kib are free (0: until the
 * filesystem refuses another byte). */
static void
fill(const char *dir, long leave_kib)
{
	static char block[16384];
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0);
	memset(block, 'f', sizeof(block));
	while (leave_kib == 0 || free_kib(dir) > leave_kib) {
		size_t n = sizeof(block);
		if (leave_kib == 0 && free_kib(dir) < 64)
			n = 512; /* the last bits */
		if (write(fd, block, n) < 0) {
			if (errno == ENOSPC && n == 512)
				break;
			if (errno != ENOSPC)
				fail_msg("filling %s: %s", dir, strerror(errno));
		}
	}
	close(fd);
}

static void
unfill(const char *dir)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/filler", dir);
	assert_int_equal(unlink(path), 0);
}

/* Move DIR/name of a server that is not running onto the small
 * filesystem, leaving a symbolic link (SQLite follows it, and keeps the
 * WAL beside the target). */
static void
move_db(const struct h_server *s, const char *name, const struct small_fs *fs)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "mv %s/%s %s/%s && ln -s %s/%s %s/%s", s->dir,
	         name, fs->dir, name, fs->dir, name, s->dir, name);
	assert_int_equal(h_sh(cmd, NULL), 0);
}

struct acked {
	char cid[40];
	uint64_t id;
};

struct poster {
	struct rkc *c;
	struct acked *acked;
	size_t n, cap;
	long tries;
	char text[TEXT_BYTES + 1];
};

static void
poster_init(struct poster *p, const struct h_server *s)
{
	memset(p, 0, sizeof(*p));
	p->c = h_connect_login(s, "ns.kobayashi", NULL);
	assert_non_null(p->c);
	for (int i = 0; i < TEXT_BYTES; i++)
		p->text[i] = (char)('a' + i % 26);
	memcpy(p->text, "褥瘡の処置", strlen("褥瘡の処置"));
}

/* One post. Returns its answer (kept in p when acknowledged). */
static Renkei__V1__Envelope *
post_one(struct poster *p)
{
	char cid[40];
	Renkei__V1__Envelope *r;

	snprintf(cid, sizeof(cid), "full-%ld", ++p->tries);
	r = h_post_env(p->c, "pt-yamada", cid,
	               RENKEI__V1__VISIBILITY__VISIBILITY_PROFESSIONAL, p->text);
	assert_non_null(r);
	if (r->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE) {
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 256;
			p->acked = realloc(p->acked, p->cap * sizeof(*p->acked));
			assert_non_null(p->acked);
		}
		snprintf(p->acked[p->n].cid, sizeof(p->acked[p->n].cid), "%s", cid);
		p->acked[p->n++].id = r->post_response->post->id;
	}
	return r;
}

/* Post until refused; the refusal (an Error) is returned. */
static Renkei__V1__Envelope *
post_until_refused(struct poster *p, int most)
{
	for (int i = 0; i < most; i++) {
		Renkei__V1__Envelope *r = post_one(p);
		if (r->body_case == RENKEI__V1__ENVELOPE__BODY_ERROR)
			return r;
		h_env_free(r);
	}
	fail_msg("%d posts were all accepted: the disk never filled", most);
	return NULL;
}

static void
assert_storage_full(const Renkei__V1__Envelope *r)
{
	h_assert_error(r, RENKEI__V1__CODE__RESOURCE_EXHAUSTED);
	if (strstr(r->error->message, "storage is full") == NULL ||
	    strstr(r->error->message, "nothing was saved") == NULL)
		fail_msg("unclear message: %s", r->error->message);
	assert_int_equal(r->error->retry_after_ms, 60000);
}

/* After space came back: posting resumes without a restart. */
static void
assert_posting_resumes(struct poster *p)
{
	for (int i = 0; i < 50; i++) {
		Renkei__V1__Envelope *r = post_one(p);
		int ok = r->body_case == RENKEI__V1__ENVELOPE__BODY_POST_RESPONSE;
		h_env_free(r);
		if (ok)
			return;
		h_sleep_ms(100);
	}
	fail_msg("posting did not resume once space was freed");
}

static int
timeline_code(struct rkc *c)
{
	Renkei__V1__Envelope *r = h_timeline_env(c, "pt-yamada");
	int code = h_env_code(r);
	h_env_free(r);
	return code;
}

/* Nothing acknowledged lost, databases whole, chain verified, no false
 * ok; each acknowledged post has exactly one ok record. */
static void
check_data(const struct h_server *s, const struct poster *p)
{
	sqlite3 *db = h_db_open(s);
	sqlite3_stmt *q = NULL;
	char cmd[600], *out = NULL;
	int rc;

	assert_non_null(db);
	assert_true(h_db_integrity_ok(db, "main"));
	assert_true(h_db_integrity_ok(db, "audit"));
	assert_int_equal(h_db_false_post_records(db), 0);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT (SELECT count(*) FROM posts WHERE id = ?1 AND"
	                     " client_id = ?2 AND length(CAST(body AS BLOB)) = ?3),"
	                     " (SELECT count(*) FROM audit.records WHERE action ="
	                     " 'post.create' AND outcome = 0 AND object = ?4)",
	                     -1, &q, NULL),
	                 SQLITE_OK);
	for (size_t i = 0; i < p->n; i++) {
		char obj[24];
		snprintf(obj, sizeof(obj), "%llu", (unsigned long long)p->acked[i].id);
		sqlite3_bind_int64(q, 1, (sqlite3_int64)p->acked[i].id);
		sqlite3_bind_text(q, 2, p->acked[i].cid, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 3, TEXT_BYTES);
		sqlite3_bind_text(q, 4, obj, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		if (sqlite3_column_int(q, 0) != 1 || sqlite3_column_int(q, 1) != 1)
			fail_msg("acknowledged post %s (id %s): stored %d, ok records %d",
			         p->acked[i].cid, obj, sqlite3_column_int(q, 0),
			         sqlite3_column_int(q, 1));
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	snprintf(cmd, sizeof(cmd), "%s audit verify --data %s", h_server_bin(),
	         s->dir);
	rc = h_sh(cmd, &out);
	if (rc != 0)
		fail_msg("audit verify failed (exit %d): %s", rc, out ? out : "");
	free(out);
}

static void
finish(struct h_server *s, struct poster *p, struct small_fs *fs)
{
	rkc_close(p->c);
	free(p->acked);
	assert_int_equal(h_server_free(s), 0);
	small_fs_unmount(fs);
}

/* Everything on one small filesystem; the reserve keeps room for reads. */
static void
test_fills_into_reserve(void **state)
{
	static const char *const args[] = {"--store-disk-reserve-mb", "4", NULL};
	const char *tmp = getenv("TMPDIR");
	struct small_fs fs;
	struct h_server *s;
	struct poster p;
	struct rkc *reader;
	Renkei__V1__Envelope *r;

	(void)state;
	small_fs_mount(&fs, 48);
	setenv("TMPDIR", fs.dir, 1);
	s = h_server_new();
	if (tmp != NULL)
		setenv("TMPDIR", tmp, 1);
	else
		unsetenv("TMPDIR");
	assert_non_null(s);
	assert_int_equal(h_server_start(s, args), 0);
	poster_init(&p, s);
	reader = h_connect_login(s, "dr.tanaka", NULL);
	assert_non_null(reader);

	fill(fs.dir, 4 * 1024 + 12 * 1024); /* 12 MiB of room above the reserve */
	r = post_until_refused(&p, 5000);
	assert_storage_full(r);
	h_env_free(r);
	if (p.n < 50) /* it did post until the disk was tight */
		fail_msg("only %zu posts before the reserve (%ld KiB free)", p.n,
		         free_kib(fs.dir));
	r = post_one(&p);
	assert_storage_full(r);
	h_env_free(r);
	/* Reads, and their audit records, go on. */
	assert_int_equal(timeline_code(reader), RENKEI__V1__CODE__OK);
	assert_int_equal(timeline_code(p.c), RENKEI__V1__CODE__OK);
	assert_int_equal(h_server_log_has(s, "event=STORE-COMMIT-FAIL"), 0);

	unfill(fs.dir);
	assert_posting_resumes(&p);
	rkc_close(reader);
	check_data(s, &p);
	print_message("disk-full: %zu posts acknowledged before the reserve, "
	              "refused with RESOURCE_EXHAUSTED, reads answered, resumed\n",
	              p.n - 1);
	finish(s, &p, &fs);
}

/* No reserve, and the disk full to the last byte: the COMMIT finds no
 * room, and the poster is told so. */
static void
test_full_to_the_last_byte(void **state)
{
	static const char *const args[] = {"--store-disk-reserve-mb", "0", NULL};
	const char *tmp = getenv("TMPDIR");
	struct small_fs fs;
	struct h_server *s;
	struct poster p;
	Renkei__V1__Envelope *r;
	int code;

	(void)state;
	small_fs_mount(&fs, 48);
	setenv("TMPDIR", fs.dir, 1);
	s = h_server_new();
	if (tmp != NULL)
		setenv("TMPDIR", tmp, 1);
	else
		unsetenv("TMPDIR");
	assert_non_null(s);
	assert_int_equal(h_server_start(s, args), 0);
	poster_init(&p, s);
	for (int i = 0; i < 20; i++)
		h_env_free(post_one(&p));
	fill(fs.dir, 0);
	r = post_until_refused(&p, 5000);
	assert_storage_full(r);
	h_env_free(r);
	/* A read needs its record: answered, or refused as unrecorded. */
	code = timeline_code(p.c);
	if (code != RENKEI__V1__CODE__OK && code != RENKEI__V1__CODE__UNAVAILABLE)
		fail_msg("a read on a full disk answered code %d", code);
	unfill(fs.dir);
	assert_posting_resumes(&p);
	check_data(s, &p);
	finish(s, &p, &fs);
}

/* audit.db alone on a full filesystem: fail closed, then resume. */
static void
test_only_audit_cannot_grow(void **state)
{
	static const char *const args[] = {"--store-disk-reserve-mb", "0", NULL};
	struct small_fs fs;
	struct h_server *s;
	struct poster p;
	Renkei__V1__Envelope *r;

	(void)state;
	small_fs_mount(&fs, 16);
	s = h_server_new();
	assert_non_null(s);
	move_db(s, "audit.db", &fs);
	assert_int_equal(h_server_start(s, args), 0);
	poster_init(&p, s);
	fill(fs.dir, 0);
	r = post_until_refused(&p, 5000);
	if (h_env_code(r) != RENKEI__V1__CODE__RESOURCE_EXHAUSTED &&
	    h_env_code(r) != RENKEI__V1__CODE__UNAVAILABLE)
		fail_msg("audit.db full: a post answered %s", h_env_outcome(r));
	h_env_free(r);
	/* Nothing is done while the trail cannot be written: reads neither. */
	assert_int_not_equal(timeline_code(p.c), RENKEI__V1__CODE__OK);
	r = post_one(&p);
	assert_int_not_equal(h_env_code(r), RENKEI__V1__CODE__OK);
	h_env_free(r);

	unfill(fs.dir);
	assert_posting_resumes(&p);
	assert_int_equal(timeline_code(p.c), RENKEI__V1__CODE__OK);
	check_data(s, &p);
	finish(s, &p, &fs);
}

/* care.db alone on a full filesystem: posts refused, reads answered. */
static void
test_only_care_cannot_grow(void **state)
{
	static const char *const args[] = {"--store-disk-reserve-mb", "0", NULL};
	struct small_fs fs;
	struct h_server *s;
	struct poster p;
	Renkei__V1__Envelope *r;

	(void)state;
	small_fs_mount(&fs, 16);
	s = h_server_new();
	assert_non_null(s);
	move_db(s, "care.db", &fs);
	assert_int_equal(h_server_start(s, args), 0);
	poster_init(&p, s);
	fill(fs.dir, 0);
	r = post_until_refused(&p, 5000);
	assert_storage_full(r);
	h_env_free(r);
	assert_int_equal(timeline_code(p.c), RENKEI__V1__CODE__OK);

	unfill(fs.dir);
	assert_posting_resumes(&p);
	check_data(s, &p);
	finish(s, &p, &fs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fills_into_reserve),
	    cmocka_unit_test(test_full_to_the_last_byte),
	    cmocka_unit_test(test_only_audit_cannot_grow),
	    cmocka_unit_test(test_only_care_cannot_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
