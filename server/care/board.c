/*
 * Reading boards: timeline pages and sync (catch-up) pages.
 *
 * Sync pages run on the writer thread (see api/sync.c): a page then
 * reflects exactly the commits before it, which is what lets the caller
 * switch a connection from catch-up to live events without a gap or a
 * repeat. They are kept cheap: per board, the ids of at most limit+1
 * candidate posts through the (patient_id, id) index; the ids of all
 * boards are merged and only the first `limit` posts are loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"

#define TIMELINE_DEFAULT 50
#define TIMELINE_MAX 200

static void
page_push(struct care_page *pg, size_t *cap, struct care_post *p)
{
	if (pg->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		pg->posts = rk_realloc(pg->posts, *cap * sizeof(*pg->posts));
	}
	pg->posts[pg->n++] = *p;
}

int
care_timeline(struct store_conn *sc, const struct policy_actor *who,
              const char *code, int64_t before_seq, int64_t after_seq,
              int limit, int64_t now_ms, struct care_page *out,
              struct rk_status *st)
{
	struct policy_membership m;
	sqlite3_stmt *q;
	int64_t pid;
	size_t cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (limit <= 0)
		limit = TIMELINE_DEFAULT;
	if (limit > TIMELINE_MAX)
		limit = TIMELINE_MAX;
	pid = care_patient_id(sc, code);
	if (pid < 0 || policy_membership_load(sc, who->user_id, pid, now_ms, &m) != RK_OK)
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	rc = policy_check(who, &m, POLICY_READ, 0, st);
	if (rc != RK_OK)
		return rc;

	if (after_seq > 0) {
		q = store_stmt(sc, "SELECT " CARE_POST_COLS "WHERE p.patient_id = ? AND "
		                   "p.seq > ? AND p.visibility <= ? ORDER BY p.seq ASC "
		                   "LIMIT ?");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 2, after_seq);
	} else {
		q = store_stmt(sc, "SELECT " CARE_POST_COLS "WHERE p.patient_id = ? AND "
		                   "p.seq < ? AND p.visibility <= ? ORDER BY p.seq DESC "
		                   "LIMIT ?");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 2, before_seq > 0 ? before_seq : INT64_MAX);
	}
	sqlite3_bind_int64(q, 1, pid);
	sqlite3_bind_int(q, 3, policy_max_visibility(who->profession));
	sqlite3_bind_int(q, 4, limit + 1);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct care_post p;
		if ((int)out->n == limit) {
			out->more = true;
			break;
		}
		care_post_row(q, &p);
		page_push(out, &cap, &p);
	}
	sqlite3_reset(q);
	if (rc < 0)
		goto fail;
	/* Photos and addressing, after the page's statement is done with. */
	for (size_t i = 0; i < out->n; i++)
		if (care_post_details(sc, &out->posts[i]) != RK_OK)
			goto fail;
	if (after_seq > 0) {
		/* Fetched oldest first; answer newest first like every page. */
		for (size_t i = 0; i < out->n / 2; i++) {
			struct care_post t = out->posts[i];
			out->posts[i] = out->posts[out->n - 1 - i];
			out->posts[out->n - 1 - i] = t;
		}
	}
	q = store_stmt(sc, "SELECT last_seq FROM patients WHERE id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, pid);
	if (store_step(sc, q) == SQLITE_ROW)
		out->last_seq = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return RK_OK;
fail:
	care_page_fini(out);
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int
care_sync_page(struct store_conn *sc, const struct care_board *boards,
               size_t nboards, int64_t cursor, int limit, struct care_page *out)
{
	int64_t *ids = NULL;
	size_t nids = 0, cap = 0, pcap = 0;
	sqlite3_stmt *q;
	int rc = RK_OK;

	memset(out, 0, sizeof(*out));
	for (size_t b = 0; b < nboards; b++) {
		q = store_stmt(sc, "SELECT id FROM posts WHERE patient_id = ? AND id > ? "
		                   "AND seq > ? AND visibility <= ? ORDER BY id LIMIT ?");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, boards[b].patient_id);
		sqlite3_bind_int64(q, 2, cursor);
		sqlite3_bind_int64(q, 3, boards[b].since_seq);
		sqlite3_bind_int(q, 4, boards[b].max_visibility);
		sqlite3_bind_int(q, 5, limit + 1);
		while ((rc = store_step(sc, q)) == SQLITE_ROW) {
			if (nids == cap) {
				cap = cap ? cap * 2 : 64;
				ids = rk_realloc(ids, cap * sizeof(*ids));
			}
			ids[nids++] = sqlite3_column_int64(q, 0);
		}
		sqlite3_reset(q);
		if (rc < 0)
			goto fail;
	}
	if (nids > 1) /* qsort's array may not be NULL, even for 0 items */
		qsort(ids, nids, sizeof(*ids), cmp_id);
	if (nids > (size_t)limit) {
		out->more = true;
		nids = (size_t)limit;
	}
	for (size_t i = 0; i < nids; i++) {
		struct care_post p;
		if (care_post_load(sc, ids[i], &p) != RK_OK)
			goto fail;
		page_push(out, &pcap, &p);
	}
	free(ids);
	return RK_OK;
fail:
	free(ids);
	care_page_fini(out);
	return RK_ERR_STORE;
}

int
care_sync_boards(struct store_conn *sc, const struct policy_actor *who,
                 const char *const *codes, size_t n, int64_t now_ms,
                 struct care_board **boards, size_t *nboards,
                 struct rk_status *st)
{
	struct care_board *out = NULL;
	size_t cnt = 0;
	int maxvis = policy_max_visibility(who->profession);

	*boards = NULL;
	*nboards = 0;
	if (n == 0) {
		struct care_patient *pts;
		size_t np;
		if (maxvis == VIS_NONE)
			return rk_fail(st, RK_ERR_DENIED,
			               "your role has no access to clinical content", NULL);
		if (care_patients_mine(sc, who, now_ms, &pts, &np) != RK_OK)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		out = rk_calloc(np ? np : 1, sizeof(*out));
		for (size_t i = 0; i < np; i++) {
			struct policy_membership m;
			if (policy_membership_load(sc, who->user_id, pts[i].id, now_ms, &m) !=
			    RK_OK) {
				care_patients_free(pts, np);
				free(out);
				return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
			}
			out[cnt].patient_id = pts[i].id;
			memcpy(out[cnt].code, pts[i].code, sizeof(out[cnt].code));
			out[cnt].max_visibility = maxvis;
			out[cnt].valid_until_ms = policy_access_until(&m);
			cnt++;
		}
		care_patients_free(pts, np);
		*boards = out;
		*nboards = cnt;
		return RK_OK;
	}
	out = rk_calloc(n, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		struct policy_membership m;
		int64_t pid = care_patient_id(sc, codes[i]);
		int rc;

		if (pid < 0 ||
		    policy_membership_load(sc, who->user_id, pid, now_ms, &m) != RK_OK) {
			free(out);
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		}
		rc = policy_check(who, &m, POLICY_READ, 0, st);
		if (rc != RK_OK) {
			free(out);
			return rc;
		}
		/* The same board named twice is watched once. */
		bool seen = false;
		for (size_t k = 0; k < cnt; k++)
			seen |= out[k].patient_id == pid;
		if (seen)
			continue;
		out[cnt].patient_id = pid;
		snprintf(out[cnt].code, sizeof(out[cnt].code), "%s", codes[i]);
		out[cnt].max_visibility = maxvis;
		out[cnt].valid_until_ms = policy_access_until(&m);
		cnt++;
	}
	*boards = out;
	*nboards = cnt;
	return RK_OK;
}
