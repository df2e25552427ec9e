/*
 * Addressed posts and requests (宛先・依頼; docs/requests.md).
 *
 * A post may name addressees from the patient's liaison sheet; a request
 * also has an owner (one of them) and perhaps a due time. Addressing is
 * part of the post as written: stored with it, in the same savepoint, and
 * never changed. What changes is the request's state: done (by its
 * owner) or found overdue (by the server's scan). Confirmation (確認) of
 * an addressed post is the acknowledgement every post has (acks).
 *
 * Who may be addressed: a member of the sheet whose dates include today
 * and who may read a post of this visibility (policy.c decides, as for
 * their own reads). Not: a break-glass reader, who is not on the sheet;
 * the author; a disabled account.
 */
#include <stdlib.h>
#include <string.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

int
care_address_input_check(const struct care_post_input *in, struct rk_status *st)
{
	bool has_owner = in->owner != NULL && in->owner[0] != '\0';
	bool owner_named = false;

	if (in->nto > CARE_TO_MAX)
		return rk_fail(st, RK_ERR_INVALID, "at most 20 addressees", "to");
	for (size_t i = 0; i < in->nto; i++) {
		const char *l = in->to[i];
		if (l == NULL || l[0] == '\0' || strlen(l) > CARE_CODE_MAX)
			return rk_fail(st, RK_ERR_INVALID,
			               "an addressee's login must be 1-64 bytes", "to");
		for (size_t j = 0; j < i; j++)
			if (strcmp(in->to[j], l) == 0)
				return rk_fail(st, RK_ERR_INVALID,
				               "an addressee is named twice", "to");
		if (has_owner && strcmp(l, in->owner) == 0)
			owner_named = true;
	}
	if (!in->request) {
		if (has_owner)
			return rk_fail(st, RK_ERR_INVALID, "an owner is only for a request",
			               "owner");
		if (in->due_ms != 0)
			return rk_fail(st, RK_ERR_INVALID,
			               "a due time is only for a request", "due_at_ms");
		return RK_OK;
	}
	if (in->nto == 0)
		return rk_fail(st, RK_ERR_INVALID,
		               "a request needs at least one addressee", "to");
	if (has_owner && !owner_named)
		return rk_fail(st, RK_ERR_INVALID,
		               "the owner must be one of the addressees", "owner");
	if (in->due_ms < 0)
		return rk_fail(st, RK_ERR_INVALID, "the due time must be in the future",
		               "due_at_ms");
	return RK_OK;
}

int
care_address_resolve(struct store_conn *sc, const struct policy_actor *who,
                     int64_t patient_id, const struct care_post_input *in,
                     int visibility, int64_t now_ms, int64_t *ids,
                     int64_t *owner_id, struct rk_status *st)
{
	bool has_owner = in->owner != NULL && in->owner[0] != '\0';
	sqlite3_stmt *q;

	if (in->request && in->due_ms != 0) {
		if (in->due_ms <= now_ms)
			return rk_fail(st, RK_ERR_INVALID,
			               "the due time must be in the future", "due_at_ms");
		if (in->due_ms - now_ms > CARE_DUE_MAX_MS)
			return rk_fail(st, RK_ERR_INVALID,
			               "the due time must be at most 366 days ahead",
			               "due_at_ms");
	}
	*owner_id = 0;
	for (size_t i = 0; i < in->nto; i++) {
		struct policy_membership m;
		struct policy_actor a;
		struct rk_status why = {0};
		bool disabled;
		int rc;

		q = store_stmt(sc, "SELECT id, profession, disabled FROM users "
		                   "WHERE login = ?");
		if (q == NULL)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		sqlite3_bind_text(q, 1, in->to[i], -1, SQLITE_STATIC);
		rc = store_step(sc, q);
		if (rc < 0)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		if (rc != SQLITE_ROW)
			return rk_fail(st, RK_ERR_INVALID, "no such person to address", "to");
		a.user_id = sqlite3_column_int64(q, 0);
		a.profession = sqlite3_column_int(q, 1);
		disabled = sqlite3_column_int(q, 2) != 0;
		sqlite3_reset(q);
		if (a.user_id == who->user_id)
			return rk_fail(st, RK_ERR_INVALID,
			               "you cannot address a post to yourself", "to");
		if (disabled)
			return rk_fail(st, RK_ERR_INVALID, "an addressee's account is disabled",
			               "to");
		if (policy_membership_load(sc, a.user_id, patient_id, now_ms, &m) != RK_OK)
			return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
		if (!m.on_sheet || !m.active)
			return rk_fail(st, RK_ERR_INVALID,
			               "an addressee is not on this patient's liaison sheet",
			               "to");
		/* On the sheet, in their dates: what remains is the mark. A
		 * break-glass grant does not make anyone addressable. */
		m.breakglass = false;
		if (policy_check(&a, &m, POLICY_READ, visibility, &why) != RK_OK)
			return rk_fail(st, RK_ERR_INVALID,
			               "an addressee may not read posts of this visibility",
			               "to");
		ids[i] = a.user_id;
		if (in->request && (has_owner ? strcmp(in->owner, in->to[i]) == 0 : i == 0))
			*owner_id = a.user_id;
	}
	return RK_OK;
}

int
care_address_store(struct store_conn *sc, int64_t post_id, const int64_t *ids,
                   size_t n, bool request, int64_t owner_id, int64_t due_ms)
{
	sqlite3_stmt *q;

	for (size_t i = 0; i < n; i++) {
		q = store_stmt(sc, "INSERT INTO post_to(post_id, pos, user_id) "
		                   "VALUES (?,?,?)");
		if (q == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(q, 1, post_id);
		sqlite3_bind_int64(q, 2, (int64_t)i);
		sqlite3_bind_int64(q, 3, ids[i]);
		if (store_step(sc, q) != SQLITE_DONE)
			return RK_ERR_STORE;
	}
	if (!request)
		return RK_OK;
	q = store_stmt(sc, "INSERT INTO requests(post_id, owner_id, due_ms) "
	                   "VALUES (?,?,?)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, post_id);
	sqlite3_bind_int64(q, 2, owner_id);
	sqlite3_bind_int64(q, 3, due_ms);
	return store_step(sc, q) == SQLITE_DONE ? RK_OK : RK_ERR_STORE;
}

int
care_post_addressing(struct store_conn *sc, struct care_post *p)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT u.id, u.login, u.display_name, "
	                                 "u.profession FROM post_to t "
	                                 "JOIN users u ON u.id = t.user_id "
	                                 "WHERE t.post_id = ? ORDER BY t.pos");
	size_t cap = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, p->id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct care_person *w;
		if (p->nto == cap) {
			cap = cap ? cap * 2 : 4;
			p->to = rk_realloc(p->to, cap * sizeof(*p->to));
		}
		w = &p->to[p->nto++];
		w->id = sqlite3_column_int64(q, 0);
		care_col(w->login, sizeof(w->login), q, 1);
		care_col(w->name, sizeof(w->name), q, 2);
		w->profession = sqlite3_column_int(q, 3);
	}
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	q = store_stmt(sc, "SELECT owner_id, due_ms, coalesce(done_ms, 0), "
	                   "coalesce(overdue_ms, 0) FROM requests WHERE post_id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, p->id);
	rc = store_step(sc, q);
	if (rc == SQLITE_ROW) {
		p->request = true;
		p->owner_id = sqlite3_column_int64(q, 0);
		p->due_ms = sqlite3_column_int64(q, 1);
		p->done_ms = sqlite3_column_int64(q, 2);
		p->overdue_ms = sqlite3_column_int64(q, 3);
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

int
care_request_done(struct store_conn *sc, const struct policy_actor *who,
                  int64_t post_id, int64_t now_ms, int64_t *done_ms, bool *fresh,
                  struct care_post *post, struct rk_status *st)
{
	sqlite3_stmt *q;
	int rc = care_post_readable(sc, who, post_id, now_ms, POLICY_READ, post, st);

	*fresh = false;
	if (rc != RK_OK)
		return rc;
	if (!post->request)
		rc = rk_fail(st, RK_ERR_PRECONDITION, "this post is not a request",
		             "post_id");
	else if (post->retracted_by != 0)
		rc = rk_fail(st, RK_ERR_PRECONDITION, "this request was retracted",
		             "post_id");
	else if (post->owner_id != who->user_id)
		rc = rk_fail(st, RK_ERR_DENIED,
		             "only the request's owner may mark it done", "post_id");
	if (rc != RK_OK) {
		care_post_fini(post);
		return rc;
	}
	if (post->done_ms != 0) {
		*done_ms = post->done_ms;
		return RK_OK;
	}
	q = store_stmt(sc, "UPDATE requests SET done_ms = ?, done_by = ? "
	                   "WHERE post_id = ? AND done_ms IS NULL");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, who->user_id);
	sqlite3_bind_int64(q, 3, post_id);
	if (store_step(sc, q) != SQLITE_DONE)
		goto fail;
	*fresh = true;
	*done_ms = post->done_ms = now_ms;
	return RK_OK;
fail:
	care_post_fini(post);
	return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
}

static void
push_post(struct care_post **v, size_t *n, size_t *cap, struct care_post *p)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = rk_realloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = *p;
}

int
care_requests_overdue(struct store_conn *sc, int64_t now_ms, size_t max,
                      struct care_post **out, size_t *n, bool *more,
                      int64_t *next_due_ms)
{
	int64_t *ids = rk_calloc(max + 1, sizeof(*ids));
	size_t nids = 0, cap = 0;
	sqlite3_stmt *q;
	int rc;

	*out = NULL;
	*n = 0;
	*more = false;
	*next_due_ms = 0;
	q = store_stmt(sc, "SELECT post_id FROM requests WHERE done_ms IS NULL "
	                   "AND overdue_ms IS NULL AND due_ms > 0 AND due_ms <= ? "
	                   "ORDER BY due_ms, post_id LIMIT ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, now_ms);
	sqlite3_bind_int64(q, 2, (int64_t)max + 1);
	while ((rc = store_step(sc, q)) == SQLITE_ROW)
		ids[nids++] = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc < 0)
		goto fail;
	if (nids > max) {
		*more = true;
		nids = max;
	}
	for (size_t i = 0; i < nids; i++) {
		struct care_post p;
		q = store_stmt(sc, "UPDATE requests SET overdue_ms = ? WHERE post_id = ?");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, now_ms);
		sqlite3_bind_int64(q, 2, ids[i]);
		if (store_step(sc, q) != SQLITE_DONE)
			goto fail;
		if (care_post_load(sc, ids[i], &p) != RK_OK)
			goto fail;
		if (p.retracted_by != 0) {
			care_post_fini(&p);
			continue;
		}
		push_post(out, n, &cap, &p);
	}
	q = store_stmt(sc, "SELECT coalesce(min(due_ms), 0) FROM requests "
	                   "WHERE done_ms IS NULL AND overdue_ms IS NULL AND due_ms > 0");
	if (q == NULL || store_step(sc, q) != SQLITE_ROW)
		goto fail;
	*next_due_ms = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	free(ids);
	return RK_OK;
fail:
	free(ids);
	care_posts_free(*out, *n);
	*out = NULL;
	*n = 0;
	return RK_ERR_STORE;
}

/* Up to limit posts of `sql` (bound to the user's id) that `who` may read
 * now and that were not retracted; *more if there were others. */
static int
inbox_list(struct store_conn *sc, const struct policy_actor *who, int64_t now_ms,
           const char *sql, int limit, struct care_post **out, size_t *n,
           bool *more)
{
	int64_t *ids = NULL;
	size_t nids = 0, cap = 0, pcap = 0;
	sqlite3_stmt *q = store_stmt(sc, sql);
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, who->user_id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (nids == cap) {
			cap = cap ? cap * 2 : 16;
			ids = rk_realloc(ids, cap * sizeof(*ids));
		}
		ids[nids++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(ids);
		return RK_ERR_STORE;
	}
	for (size_t i = 0; i < nids; i++) {
		struct care_post p;
		struct rk_status why = {0};
		rc = care_post_readable(sc, who, ids[i], now_ms, POLICY_READ, &p, &why);
		if (rc == RK_ERR_NOT_FOUND)
			continue; /* not on the sheet now: not in the inbox either */
		if (rc != RK_OK) {
			free(ids);
			return RK_ERR_STORE;
		}
		if (p.retracted_by != 0) {
			care_post_fini(&p);
			continue;
		}
		if ((int)*n == limit) {
			care_post_fini(&p);
			*more = true;
			break;
		}
		push_post(out, n, &pcap, &p);
	}
	free(ids);
	return RK_OK;
}

int
care_inbox(struct store_conn *sc, const struct policy_actor *who, int64_t now_ms,
           int limit, struct care_inbox *out, struct rk_status *st)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = inbox_list(sc, who, now_ms,
	                "SELECT t.post_id FROM post_to t WHERE t.user_id = ? "
	                "AND NOT EXISTS (SELECT 1 FROM acks a WHERE a.post_id = "
	                "t.post_id AND a.user_id = t.user_id) ORDER BY t.post_id",
	                limit, &out->addressed, &out->naddressed, &out->more);
	if (rc == RK_OK)
		rc = inbox_list(sc, who, now_ms,
		                "SELECT post_id FROM requests WHERE owner_id = ? AND "
		                "done_ms IS NULL ORDER BY due_ms = 0, due_ms, post_id",
		                limit, &out->requests, &out->nrequests, &out->more);
	if (rc == RK_OK)
		rc = inbox_list(sc, who, now_ms,
		                "SELECT r.post_id FROM requests r JOIN posts p ON "
		                "p.id = r.post_id WHERE p.author_id = ? AND r.done_ms "
		                "IS NULL AND r.overdue_ms IS NOT NULL ORDER BY r.due_ms, "
		                "r.post_id",
		                limit, &out->overdue, &out->noverdue, &out->more);
	if (rc != RK_OK) {
		care_inbox_fini(out);
		return rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL);
	}
	return RK_OK;
}

void
care_inbox_fini(struct care_inbox *in)
{
	care_posts_free(in->addressed, in->naddressed);
	care_posts_free(in->requests, in->nrequests);
	care_posts_free(in->overdue, in->noverdue);
	memset(in, 0, sizeof(*in));
}
