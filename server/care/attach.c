/*
 * Photos: resumable uploads, stored attachments, and reading them under
 * exactly the policy of the post they belong to.
 *
 * Decision (recorded in README): blobs live in SQLCipher, not in sealed
 * files. They are then encrypted with the same keys as everything else,
 * backed up and rekeyed with it, and — the deciding reason — a post and
 * its photos commit in one transaction, so a crash at any moment cannot
 * leave a post pointing at a missing or half-written blob, nor a blob
 * file that no row knows about. An upload's pieces are rows too (never a
 * temporary file in the clear).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

#define NOT_FOUND_MSG "no such photo"

static int
upload_find(struct store_conn *sc, int64_t user_id, const char *key,
            int64_t *id, int64_t *size, int64_t *received, uint8_t sha[32],
            int64_t *patient_id, char *file_name, size_t fcap)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT id, size, received, sha256, "
	                                 "patient_id, file_name FROM uploads "
	                                 "WHERE user_id = ? AND upload_key = ?");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_NOT_FOUND;
	*id = sqlite3_column_int64(q, 0);
	*size = sqlite3_column_int64(q, 1);
	*received = sqlite3_column_int64(q, 2);
	if (sha != NULL && sqlite3_column_bytes(q, 3) == 32)
		memcpy(sha, sqlite3_column_blob(q, 3), 32);
	if (patient_id != NULL)
		*patient_id = sqlite3_column_int64(q, 4);
	if (file_name != NULL)
		care_col(file_name, fcap, q, 5);
	sqlite3_reset(q);
	return RK_OK;
}

/* The finished attachment of (owner, key), if any. */
static int
attachment_by_key(struct store_conn *sc, int64_t owner, const char *key,
                  struct care_attachment *a)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT " CARE_ATT_COLS "WHERE a.owner_id = ? "
	                                 "AND a.upload_key = ?");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, owner);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_NOT_FOUND;
	care_att_row(q, a);
	sqlite3_reset(q);
	return RK_OK;
}

/* What one user holds that is not part of the record yet: uploads in
 * progress (their declared sizes) and finished photos on no post. The
 * second sum goes by the index on post_id (only unattached rows, which
 * the orphan collection keeps few), never through the user's attached
 * photos, whose rows are large. */
static int
pending_bytes(struct store_conn *sc, int64_t user_id, int64_t *count,
              int64_t *bytes)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT count(*), coalesce(sum(size), 0) "
	                                 "FROM uploads WHERE user_id = ?");

	if (q == NULL || (sqlite3_bind_int64(q, 1, user_id), store_step(sc, q)) !=
	                         SQLITE_ROW)
		return RK_ERR_STORE;
	*count = sqlite3_column_int64(q, 0);
	*bytes = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	q = store_stmt(sc, "SELECT coalesce(sum(size), 0) FROM attachments "
	                   "INDEXED BY attachments_by_post "
	                   "WHERE post_id IS NULL AND owner_id = ?");
	if (q == NULL || (sqlite3_bind_int64(q, 1, user_id), store_step(sc, q)) !=
	                         SQLITE_ROW)
		return RK_ERR_STORE;
	*bytes += sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return RK_OK;
}

int
care_upload_begin(struct store_conn *sc, const struct policy_actor *who,
                  const char *code, const char *upload_key,
                  const char *file_name, int64_t size, const uint8_t sha256[32],
                  const struct care_upload_limits *lim, int64_t now_ms,
                  int64_t *received, enum care_upload_limit *hit,
                  struct rk_status *st)
{
	struct care_attachment done;
	int64_t id, have_size, pid, count = 0, pending = 0, total = 0;
	uint8_t have_sha[32];
	sqlite3_stmt *q;
	int rc;

	*hit = CARE_UPLOAD_OK;
	if (size <= 0)
		return rk_fail(st, RK_ERR_INVALID, "the photo is empty", "size");
	if (size > lim->max_bytes) {
		*hit = CARE_UPLOAD_TOO_BIG;
		return rk_fail(st, RK_ERR_EXHAUSTED, "the photo is larger than allowed",
		               "size");
	}
	pid = care_patient_id(sc, code);
	if (pid < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rc = care_member_check(sc, who, pid, now_ms, POLICY_POST, VIS_ALL, st);
	if (rc != RK_OK)
		return rc;
	/* Finished already (a retry after a lost answer): all received. */
	if (attachment_by_key(sc, who->user_id, upload_key, &done) == RK_OK) {
		*received = size;
		return RK_OK;
	}
	rc = upload_find(sc, who->user_id, upload_key, &id, &have_size, received,
	                 have_sha, NULL, NULL, 0);
	if (rc == RK_OK) {
		if (have_size != size || memcmp(have_sha, sha256, 32) != 0)
			return rk_fail(st, RK_ERR_EXISTS,
			               "this upload id is in use for another file",
			               "upload_id");
		return RK_OK; /* resume from *received */
	}
	if (rc != RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);

	/* A new upload: the user's share, then the server's. */
	if (pending_bytes(sc, who->user_id, &count, &pending) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (count >= lim->max_per_user) {
		*hit = CARE_UPLOAD_CONCURRENT;
		return rk_fail(st, RK_ERR_EXHAUSTED,
		               "too many uploads in progress: finish one first", NULL);
	}
	if (pending + size > lim->quota_bytes) {
		*hit = CARE_UPLOAD_QUOTA;
		return rk_fail(st, RK_ERR_EXHAUSTED,
		               "over the quota for photos not yet on a post: put the "
		               "finished ones on a post first",
		               "size");
	}
	q = store_stmt(sc, "SELECT coalesce(sum(size), 0) FROM uploads");
	if (q == NULL || store_step(sc, q) != SQLITE_ROW)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	total = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (total + size > lim->max_total_bytes) {
		*hit = CARE_UPLOAD_SERVER_FULL;
		return rk_fail(st, RK_ERR_EXHAUSTED,
		               "the server is receiving too many photos right now; "
		               "try again shortly",
		               NULL);
	}
	q = store_stmt(sc, "INSERT INTO uploads(user_id, upload_key, patient_id, "
	                   "file_name, size, sha256, received, created_ms, updated_ms) "
	                   "VALUES (?,?,?,?,?,?,0,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_text(q, 2, upload_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, pid);
	sqlite3_bind_text(q, 4, file_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, size);
	sqlite3_bind_blob(q, 6, sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, now_ms);
	sqlite3_bind_int64(q, 8, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	*received = 0;
	return RK_OK;
}

int
care_upload_chunk(struct store_conn *sc, const struct policy_actor *who,
                  const char *upload_key, int64_t offset, const uint8_t *data,
                  size_t len, int64_t now_ms, int64_t *received,
                  struct rk_status *st)
{
	int64_t id, size;
	sqlite3_stmt *q;
	int rc;

	rc = upload_find(sc, who->user_id, upload_key, &id, &size, received, NULL,
	                 NULL, NULL, 0);
	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND,
		               "no such upload in progress: begin it (again)", "upload_id");
	if (rc != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (offset != *received)
		return rk_fail(st, RK_ERR_PRECONDITION,
		               "wrong offset: begin the upload again to learn where to "
		               "resume",
		               "offset");
	if (len == 0 || offset + (int64_t)len > size)
		return rk_fail(st, RK_ERR_INVALID, "more bytes than the declared size",
		               "data");
	q = store_stmt(sc, "INSERT INTO upload_parts(upload_id, offset, data) "
	                   "VALUES (?,?,?)");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, offset);
	sqlite3_bind_blob(q, 3, data, (int)len, SQLITE_STATIC);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	q = store_stmt(sc, "UPDATE uploads SET received = received + ?, "
	                   "updated_ms = ? WHERE id = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, (int64_t)len);
	sqlite3_bind_int64(q, 2, now_ms);
	sqlite3_bind_int64(q, 3, id);
	if (store_step(sc, q) != SQLITE_DONE)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	*received += (int64_t)len;
	return RK_OK;
}

int
care_upload_load(struct store_conn *sc, const struct policy_actor *who,
                 const char *upload_key, uint8_t **bytes, size_t *len,
                 bool *done, struct care_attachment *att, struct rk_status *st)
{
	int64_t id, size, received;
	uint8_t sha[32], got[32];
	sqlite3_stmt *q;
	size_t at = 0;
	int rc;

	*bytes = NULL;
	*len = 0;
	*done = false;
	if (attachment_by_key(sc, who->user_id, upload_key, att) == RK_OK) {
		*done = true;
		return RK_OK;
	}
	rc = upload_find(sc, who->user_id, upload_key, &id, &size, &received, sha,
	                 NULL, NULL, 0);
	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such upload in progress",
		               "upload_id");
	if (rc != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (received != size)
		return rk_fail(st, RK_ERR_PRECONDITION,
		               "not every byte has arrived yet: send the rest first",
		               "upload_id");
	*bytes = rk_malloc((size_t)size);
	q = store_stmt(sc, "SELECT offset, data FROM upload_parts WHERE upload_id = ? "
	                   "ORDER BY offset");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 1);
		if (sqlite3_column_int64(q, 0) != (int64_t)at || at + n > (size_t)size) {
			sqlite3_reset(q);
			goto corrupt;
		}
		memcpy(*bytes + at, sqlite3_column_blob(q, 1), n);
		at += n;
	}
	sqlite3_reset(q);
	if (rc < 0)
		goto fail;
	if (at != (size_t)size)
		goto corrupt;
	rk_sha256(*bytes, at, got);
	if (!rk_equal_ct(got, sha, 32)) {
		free(*bytes);
		*bytes = NULL;
		return rk_fail(st, RK_ERR_INVALID,
		               "the photo's SHA-256 does not match the declared one: "
		               "upload it again with a new upload id",
		               "sha256");
	}
	*len = at;
	return RK_OK;
corrupt:
	free(*bytes);
	*bytes = NULL;
	return rk_fail(st, RK_ERR_INVALID, "the upload's pieces do not fit together",
	               "upload_id");
fail:
	free(*bytes);
	*bytes = NULL;
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

int
care_upload_store(struct store_conn *sc, const struct policy_actor *who,
                  const char *upload_key, const char *mime, uint32_t width,
                  uint32_t height, const uint8_t *data, size_t len,
                  const uint8_t *thumb, size_t thumb_len, int64_t now_ms,
                  struct care_attachment *out, struct rk_status *st)
{
	int64_t id, size, received, pid;
	char file_name[CARE_NAME_MAX + 1];
	uint8_t digest[32];
	sqlite3_stmt *q;
	int rc;

	if (attachment_by_key(sc, who->user_id, upload_key, out) == RK_OK)
		return RK_OK; /* finished twice: same answer */
	rc = upload_find(sc, who->user_id, upload_key, &id, &size, &received, NULL,
	                 &pid, file_name, sizeof(file_name));
	if (rc == RK_ERR_NOT_FOUND)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such upload in progress",
		               "upload_id");
	if (rc != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rk_sha256(data, len, digest);
	q = store_stmt(sc, "INSERT INTO attachments(owner_id, upload_key, patient_id, "
	                   "file_name, mime, size, sha256, width, height, data, thumb, "
	                   "created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, who->user_id);
	sqlite3_bind_text(q, 2, upload_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, pid);
	sqlite3_bind_text(q, 4, file_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, mime, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (int64_t)len);
	sqlite3_bind_blob(q, 7, digest, 32, SQLITE_STATIC);
	sqlite3_bind_int(q, 8, (int)width);
	sqlite3_bind_int(q, 9, (int)height);
	sqlite3_bind_blob(q, 10, data, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(q, 11, thumb, (int)thumb_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 12, now_ms);
	if (store_step(sc, q) != SQLITE_DONE)
		goto fail;
	q = store_stmt(sc, "DELETE FROM upload_parts WHERE upload_id = ?");
	if (q == NULL || (sqlite3_bind_int64(q, 1, id), store_step(sc, q)) != SQLITE_DONE)
		goto fail;
	q = store_stmt(sc, "DELETE FROM uploads WHERE id = ?");
	if (q == NULL || (sqlite3_bind_int64(q, 1, id), store_step(sc, q)) != SQLITE_DONE)
		goto fail;
	if (attachment_by_key(sc, who->user_id, upload_key, out) != RK_OK)
		goto fail;
	return RK_OK;
fail:
	return rk_fail(st, RK_ERR_STORE, "could not store the photo; try again", NULL);
}

int
care_attachment_read(struct store_conn *sc, const struct policy_actor *who,
                     int64_t id, bool thumbnail, int64_t offset, int64_t length,
                     int64_t now_ms, struct care_attachment *meta,
                     uint8_t **data, size_t *len, int64_t *total,
                     struct rk_status *st)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT " CARE_ATT_COLS "WHERE a.id = ?");
	int rc;

	*data = NULL;
	*len = 0;
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, id);
	rc = store_step(sc, q);
	if (rc < 0)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	if (rc != SQLITE_ROW)
		return rk_fail(st, RK_ERR_NOT_FOUND, NOT_FOUND_MSG, "attachment_id");
	care_att_row(q, meta);
	sqlite3_reset(q);

	/* Exactly the post's policy: readable iff its post is. */
	if (meta->post_id == 0) {
		if (meta->owner_id != who->user_id)
			return rk_fail(st, RK_ERR_NOT_FOUND, NOT_FOUND_MSG, "attachment_id");
	} else {
		struct care_post post;
		struct rk_status ignore;
		if (care_post_readable(sc, who, meta->post_id, now_ms, POLICY_READ, &post,
		                       &ignore) != RK_OK)
			return rk_fail(st, RK_ERR_NOT_FOUND, NOT_FOUND_MSG, "attachment_id");
		care_post_fini(&post);
	}
	*total = thumbnail ? meta->thumb_size : meta->size;
	if (offset < 0 || offset > *total)
		return rk_fail(st, RK_ERR_INVALID, "offset past the end", "offset");
	if (length <= 0 || offset + length > *total)
		length = *total - offset;
	q = thumbnail ? store_stmt(sc, "SELECT substr(thumb, ?, ?) FROM attachments "
	                               "WHERE id = ?")
	              : store_stmt(sc, "SELECT substr(data, ?, ?) FROM attachments "
	                               "WHERE id = ?");
	if (q == NULL)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	sqlite3_bind_int64(q, 1, offset + 1);
	sqlite3_bind_int64(q, 2, length);
	sqlite3_bind_int64(q, 3, id);
	if (store_step(sc, q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	*len = (size_t)sqlite3_column_bytes(q, 0);
	*data = rk_malloc(*len + 1);
	if (*len > 0)
		memcpy(*data, sqlite3_column_blob(q, 0), *len);
	sqlite3_reset(q);
	return RK_OK;
}

int
care_attach_to_post(struct store_conn *sc, int64_t author_id,
                     int64_t patient_id, int64_t post_id, const int64_t *ids,
                     size_t n, struct rk_status *st)
{
	sqlite3_stmt *q;

	if (n > CARE_ATTACH_MAX)
		return rk_fail(st, RK_ERR_INVALID, "at most 10 photos on one post",
		               "attachment_ids");
	for (size_t i = 0; i < n; i++) {
		q = store_stmt(sc, "UPDATE attachments SET post_id = ? WHERE id = ? AND "
		                   "owner_id = ? AND patient_id = ? AND post_id IS NULL");
		if (q == NULL)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		sqlite3_bind_int64(q, 1, post_id);
		sqlite3_bind_int64(q, 2, ids[i]);
		sqlite3_bind_int64(q, 3, author_id);
		sqlite3_bind_int64(q, 4, patient_id);
		if (store_step(sc, q) != SQLITE_DONE)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		if (sqlite3_changes(store_conn_db(sc)) != 1)
			return rk_fail(st, RK_ERR_INVALID,
			               "a photo is not yours, not finished, for another "
			               "patient, or already on a post",
			               "attachment_ids");
	}
	return RK_OK;
}

int
care_media_gc(struct store_conn *sc, int64_t now_ms, int64_t abandon_ms,
              int64_t orphan_ms, int *uploads, int *orphans)
{
	sqlite3_stmt *q;

	*uploads = *orphans = 0;
	q = store_stmt(sc, "DELETE FROM upload_parts WHERE upload_id IN (SELECT id "
	                   "FROM uploads WHERE updated_ms < ?)");
	if (q == NULL || (sqlite3_bind_int64(q, 1, now_ms - abandon_ms),
	                  store_step(sc, q)) != SQLITE_DONE)
		return RK_ERR_STORE;
	q = store_stmt(sc, "DELETE FROM uploads WHERE updated_ms < ?");
	if (q == NULL || (sqlite3_bind_int64(q, 1, now_ms - abandon_ms),
	                  store_step(sc, q)) != SQLITE_DONE)
		return RK_ERR_STORE;
	*uploads = sqlite3_changes(store_conn_db(sc));
	q = store_stmt(sc, "DELETE FROM attachments WHERE post_id IS NULL AND "
	                   "created_ms < ?");
	if (q == NULL || (sqlite3_bind_int64(q, 1, now_ms - orphan_ms),
	                  store_step(sc, q)) != SQLITE_DONE)
		return RK_ERR_STORE;
	*orphans = sqlite3_changes(store_conn_db(sc));
	return RK_OK;
}
