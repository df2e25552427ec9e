/*
 * Copies of a database under another key (store/backup.h).
 */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

int
store_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* A copy that failed leaves nothing behind. */
static void
remove_copy(const char *path)
{
	static const char *const tails[] = {"", "-journal", "-wal", "-shm"};
	char p[4200];

	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, tails[i]);
		unlink(p);
	}
}

int
store_copy(struct store_conn *src, const char *schema, const char *dst_path,
           const struct store_key *dst_key, int pages_per_step,
           const char *what, store_copy_cb cb, void *cb_arg, char *err,
           size_t errlen)
{
	struct store_conn *dst = NULL;
	struct store_copy_progress p = {.what = what, .page_size = 4096};
	sqlite3_backup *b;
	struct stat st;
	int rc, step;

	if (stat(dst_path, &st) == 0) {
		snprintf(err, errlen, "%s exists already", dst_path);
		return RK_ERR_EXISTS;
	}
	if (pages_per_step <= 0)
		pages_per_step = 256;
	rc = store_conn_open_one(&dst, dst_path, dst_key, 0, err, errlen);
	if (rc != RK_OK) {
		remove_copy(dst_path);
		return rc;
	}
	b = sqlite3_backup_init(store_conn_db(dst), "main", store_conn_db(src),
	                        schema);
	if (b == NULL) {
		snprintf(err, errlen, "cannot copy %s: %s", what,
		         sqlite3_errmsg(store_conn_db(dst)));
		rc = RK_ERR_STORE;
		goto fail;
	}
	do {
		step = sqlite3_backup_step(b, pages_per_step);
		p.pages_total = sqlite3_backup_pagecount(b);
		p.pages_done = p.pages_total - sqlite3_backup_remaining(b);
		if (cb != NULL && (step == SQLITE_OK || step == SQLITE_DONE))
			cb(&p, cb_arg);
		/* Only the destination can be locked (nothing else knows
		 * it); wait a moment rather than give up. */
		if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
			usleep(10 * 1000);
	} while (step == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED);
	if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE) {
		snprintf(err, errlen, "copy of %s failed: %s", what,
		         sqlite3_errmsg(store_conn_db(dst)));
		rc = RK_ERR_STORE;
		goto fail;
	}
	/* The pages came from a WAL database, header included: make the
	 * copy one self-contained file. */
	if (store_exec(dst, "PRAGMA journal_mode = DELETE") != RK_OK) {
		snprintf(err, errlen, "copy of %s: cannot leave WAL mode: %s", what,
		         sqlite3_errmsg(store_conn_db(dst)));
		rc = RK_ERR_STORE;
		goto fail;
	}
	store_conn_close(dst);
	dst = NULL;
	if (store_fsync_path(dst_path) != 0) {
		snprintf(err, errlen, "cannot flush %s: %s", dst_path,
		         strerror(errno));
		rc = RK_ERR_IO;
		goto fail;
	}
	return RK_OK;
fail:
	store_conn_close(dst);
	remove_copy(dst_path);
	return rc;
}

int
store_integrity(struct store_conn *sc, const char *schema, char *why,
                size_t whylen)
{
	char sql[64];
	sqlite3_stmt *q = NULL;
	int rc = RK_ERR_STORE;

	snprintf(sql, sizeof(sql), "PRAGMA %s.integrity_check", schema);
	if (sqlite3_prepare_v2(store_conn_db(sc), sql, -1, &q, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(store_conn_db(sc)));
		return RK_ERR_STORE;
	}
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(q, 0);
		if (t != NULL && strcmp(t, "ok") == 0)
			rc = RK_OK;
		else
			snprintf(why, whylen, "%s", t != NULL ? t : "(no answer)");
	} else {
		snprintf(why, whylen, "%s", sqlite3_errmsg(store_conn_db(sc)));
	}
	sqlite3_finalize(q);
	return rc;
}
