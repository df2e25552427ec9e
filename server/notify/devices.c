/*
 * Where notices go, and what each device wants (notify.h, "storage"):
 * the notice_devices and notice_prefs tables of care.db (schema step
 * "Notices"). Runs on store threads only.
 *
 * Boards are kept as a comma-separated list of patient ids in one
 * column: at most NOTIFY_BOARDS_MAX, read whole with the row, never
 * searched by SQL — a table of their own would buy nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/notify.h"
#include "util/mem.h"

#define STORE_FAIL(st) rk_fail(st, RK_ERR_STORE, "temporarily unavailable", NULL)

static void
prefs_default(struct notify_prefs *p)
{
	memset(p, 0, sizeof(*p));
	p->quiet_from = p->quiet_until = -1;
}

static void
boards_parse(const char *s, struct notify_prefs *p)
{
	p->nboards = 0;
	while (s != NULL && *s != '\0' && p->nboards < NOTIFY_BOARDS_MAX) {
		char *end;
		long long v = strtoll(s, &end, 10);
		if (end == s)
			break;
		if (v > 0)
			p->boards[p->nboards++] = v;
		s = *end == ',' ? end + 1 : end;
	}
}

static void
boards_text(const struct notify_prefs *p, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->nboards && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? "," : "",
		                      (long long)p->boards[i]);
}

/* Columns urgent_only, quiet_from, quiet_until, boards at col.. of q;
 * NULLs (no row of a LEFT JOIN) are the defaults. */
static void
prefs_row(sqlite3_stmt *q, int col, struct notify_prefs *p)
{
	prefs_default(p);
	if (sqlite3_column_type(q, col) == SQLITE_NULL)
		return;
	p->urgent_only = sqlite3_column_int(q, col) != 0;
	p->quiet_from = sqlite3_column_int(q, col + 1);
	p->quiet_until = sqlite3_column_int(q, col + 2);
	boards_parse((const char *)sqlite3_column_text(q, col + 3), p);
}

static void
blob_col(sqlite3_stmt *q, int col, uint8_t *out, size_t n)
{
	const void *b = sqlite3_column_blob(q, col);
	if (b != NULL && (size_t)sqlite3_column_bytes(q, col) == n)
		memcpy(out, b, n);
	else
		memset(out, 0, n);
}

static void
target_row(sqlite3_stmt *q, struct notify_target *t)
{
	const unsigned char *e;

	memset(t, 0, sizeof(*t));
	t->device_id = sqlite3_column_int64(q, 0);
	t->user_id = sqlite3_column_int64(q, 1);
	t->channel = sqlite3_column_int(q, 2);
	e = sqlite3_column_text(q, 3);
	snprintf(t->endpoint, sizeof(t->endpoint), "%s", e ? (const char *)e : "");
	blob_col(q, 4, t->p256dh, sizeof(t->p256dh));
	blob_col(q, 5, t->auth, sizeof(t->auth));
}

int
notify_dev_add(struct store_conn *sc, int64_t user_id,
               const struct notify_target *t, const char *label,
               int max_devices, int64_t now_ms, int64_t *id,
               struct rk_status *st)
{
	sqlite3_stmt *q;
	int64_t existing = 0, count = 0;

	/* The same endpoint of this user: new keys, same id. */
	q = store_stmt(sc, "SELECT id FROM notice_devices WHERE user_id = ? AND "
	                   "endpoint = ?");
	if (q == NULL)
		return STORE_FAIL(st);
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_text(q, 2, t->endpoint, -1, SQLITE_STATIC);
	if (store_step(sc, q) == SQLITE_ROW)
		existing = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (existing == 0) {
		q = store_stmt(sc, "SELECT count(*) FROM notice_devices WHERE user_id = ?");
		if (q == NULL)
			return STORE_FAIL(st);
		sqlite3_bind_int64(q, 1, user_id);
		if (store_step(sc, q) == SQLITE_ROW)
			count = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (count >= max_devices)
			return rk_fail(st, RK_ERR_EXHAUSTED,
			               "you have as many notice devices as allowed "
			               "(notice_max_devices): remove one first",
			               NULL);
	}
	/* A browser's subscription belongs to whoever registered it last
	 * (a shared ward PC): nobody else keeps hearing from it. E-mail
	 * addresses may be shared (a team's address). */
	if (t->channel == NOTIFY_PUSH) {
		q = store_stmt(sc, "DELETE FROM notice_prefs WHERE device_id IN (SELECT "
		                   "id FROM notice_devices WHERE endpoint = ?1 AND "
		                   "user_id != ?2)");
		if (q == NULL)
			return STORE_FAIL(st);
		sqlite3_bind_text(q, 1, t->endpoint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, user_id);
		if (store_step(sc, q) < 0) {
			sqlite3_reset(q);
			return STORE_FAIL(st);
		}
		sqlite3_reset(q);
		q = store_stmt(sc, "DELETE FROM notice_devices WHERE endpoint = ?1 AND "
		                   "user_id != ?2");
		if (q == NULL)
			return STORE_FAIL(st);
		sqlite3_bind_text(q, 1, t->endpoint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, user_id);
		if (store_step(sc, q) < 0) {
			sqlite3_reset(q);
			return STORE_FAIL(st);
		}
		sqlite3_reset(q);
	}
	if (existing != 0)
		q = store_stmt(sc, "UPDATE notice_devices SET p256dh = ?2, auth = ?3, "
		                   "label = ?4 WHERE id = ?1");
	else
		q = store_stmt(sc, "INSERT INTO notice_devices (user_id, channel, "
		                   "endpoint, p256dh, auth, label, created_ms) VALUES "
		                   "(?5, ?6, ?7, ?2, ?3, ?4, ?8)");
	if (q == NULL)
		return STORE_FAIL(st);
	if (existing != 0)
		sqlite3_bind_int64(q, 1, existing);
	if (t->channel == NOTIFY_PUSH) {
		sqlite3_bind_blob(q, 2, t->p256dh, sizeof(t->p256dh), SQLITE_STATIC);
		sqlite3_bind_blob(q, 3, t->auth, sizeof(t->auth), SQLITE_STATIC);
	}
	sqlite3_bind_text(q, 4, label, -1, SQLITE_STATIC);
	if (existing == 0) {
		sqlite3_bind_int64(q, 5, user_id);
		sqlite3_bind_int(q, 6, t->channel);
		sqlite3_bind_text(q, 7, t->endpoint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 8, now_ms);
	}
	if (store_step(sc, q) != SQLITE_DONE) {
		sqlite3_reset(q);
		return STORE_FAIL(st);
	}
	sqlite3_reset(q);
	*id = existing ? existing : sqlite3_last_insert_rowid(store_conn_db(sc));
	return RK_OK;
}

static int
drop(struct store_conn *sc, int64_t user_id, int64_t device_id, int *changed)
{
	sqlite3_stmt *q;

	q = store_stmt(sc, "DELETE FROM notice_devices WHERE id = ?1 AND "
	                   "(?2 = 0 OR user_id = ?2)");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, device_id);
	sqlite3_bind_int64(q, 2, user_id);
	if (store_step(sc, q) != SQLITE_DONE) {
		sqlite3_reset(q);
		return RK_ERR_STORE;
	}
	sqlite3_reset(q);
	*changed = sqlite3_changes(store_conn_db(sc));
	if (*changed == 0)
		return RK_OK;
	q = store_stmt(sc, "DELETE FROM notice_prefs WHERE device_id = ?");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, device_id);
	if (store_step(sc, q) != SQLITE_DONE) {
		sqlite3_reset(q);
		return RK_ERR_STORE;
	}
	sqlite3_reset(q);
	return RK_OK;
}

int
notify_dev_remove(struct store_conn *sc, int64_t user_id, int64_t device_id,
                  struct rk_status *st)
{
	int changed = 0;

	if (drop(sc, user_id, device_id, &changed) != RK_OK)
		return STORE_FAIL(st);
	if (changed == 0)
		return rk_fail(st, RK_ERR_NOT_FOUND, "no such notice device of yours",
		               "device_id");
	return RK_OK;
}

int
notify_dev_drop(struct store_conn *sc, int64_t device_id)
{
	int changed = 0;
	return drop(sc, 0, device_id, &changed);
}

int
notify_prefs_set(struct store_conn *sc, int64_t user_id, int64_t device_id,
                 const struct notify_prefs *p, struct rk_status *st)
{
	char boards[NOTIFY_BOARDS_MAX * 21 + 1];
	sqlite3_stmt *q;
	bool mine = device_id == 0;

	if (!mine) {
		q = store_stmt(sc, "SELECT 1 FROM notice_devices WHERE id = ? AND "
		                   "user_id = ?");
		if (q == NULL)
			return STORE_FAIL(st);
		sqlite3_bind_int64(q, 1, device_id);
		sqlite3_bind_int64(q, 2, user_id);
		mine = store_step(sc, q) == SQLITE_ROW;
		sqlite3_reset(q);
		if (!mine)
			return rk_fail(st, RK_ERR_NOT_FOUND,
			               "no such notice device of yours", "device_id");
	}
	boards_text(p, boards, sizeof(boards));
	q = store_stmt(sc, "INSERT OR REPLACE INTO notice_prefs (user_id, device_id, "
	                   "urgent_only, quiet_from, quiet_until, boards) VALUES "
	                   "(?, ?, ?, ?, ?, ?)");
	if (q == NULL)
		return STORE_FAIL(st);
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, device_id);
	sqlite3_bind_int(q, 3, p->urgent_only);
	sqlite3_bind_int(q, 4, p->quiet_from);
	sqlite3_bind_int(q, 5, p->quiet_until);
	sqlite3_bind_text(q, 6, boards, -1, SQLITE_TRANSIENT);
	if (store_step(sc, q) != SQLITE_DONE) {
		sqlite3_reset(q);
		return STORE_FAIL(st);
	}
	sqlite3_reset(q);
	return RK_OK;
}

#define DEV_COLS                                                               \
	"d.id, d.user_id, d.channel, d.endpoint, d.p256dh, d.auth, d.label, "  \
	"d.created_ms, p.urgent_only, p.quiet_from, p.quiet_until, p.boards "

int
notify_dev_list(struct store_conn *sc, int64_t user_id,
                struct notify_device **out, size_t *n,
                struct notify_prefs *user_prefs)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	prefs_default(user_prefs);
	q = store_stmt(sc, "SELECT urgent_only, quiet_from, quiet_until, boards FROM "
	                   "notice_prefs WHERE user_id = ? AND device_id = 0");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	if (store_step(sc, q) == SQLITE_ROW)
		prefs_row(q, 0, user_prefs);
	sqlite3_reset(q);
	q = store_stmt(sc, "SELECT " DEV_COLS "FROM notice_devices d LEFT JOIN "
	                   "notice_prefs p ON p.user_id = d.user_id AND "
	                   "p.device_id = d.id WHERE d.user_id = ? ORDER BY d.id");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, user_id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		struct notify_device *d;
		const unsigned char *l;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = rk_realloc(*out, cap * sizeof(**out));
		}
		d = &(*out)[(*n)++];
		target_row(q, &d->t);
		l = sqlite3_column_text(q, 6);
		snprintf(d->label, sizeof(d->label), "%s", l ? (const char *)l : "");
		d->created_ms = sqlite3_column_int64(q, 7);
		prefs_row(q, 8, &d->prefs);
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return RK_ERR_STORE;
	}
	return RK_OK;
}

bool
notify_quiet_at(int from, int until, int m)
{
	if (from < 0 || until < 0 || from == until)
		return false;
	if (from < until)
		return m >= from && m < until;
	return m >= from || m < until; /* over midnight: 22:00-07:00 */
}

/* Do these preferences let the notice through? */
static bool
allows(const struct notify_prefs *p, int64_t patient_id, bool urgent, int minute)
{
	if (p->urgent_only && !urgent)
		return false;
	if (!urgent && notify_quiet_at(p->quiet_from, p->quiet_until, minute))
		return false;
	if (p->nboards > 0 && patient_id > 0) {
		for (size_t i = 0; i < p->nboards; i++)
			if (p->boards[i] == patient_id)
				return true;
		return false;
	}
	return true;
}

/* Add the row's device to *out if its and its user's preferences allow
 * the notice (and it is not there yet). */
static void
target_add(sqlite3_stmt *q, int64_t patient_id, bool urgent, int minute,
           struct notify_target **out, size_t *n, size_t *cap)
{
	struct notify_prefs dp, up;
	int64_t id = sqlite3_column_int64(q, 0);

	prefs_row(q, 8, &dp);
	prefs_row(q, 12, &up);
	if (!allows(&dp, patient_id, urgent, minute) ||
	    !allows(&up, patient_id, urgent, minute))
		return;
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i].device_id == id)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*out = rk_realloc(*out, *cap * sizeof(**out));
	}
	target_row(q, &(*out)[(*n)++]);
}

static int
jst_minute(int64_t now_ms)
{
	/* Quiet hours are in Japan's time, as the sheet's dates are. */
	return (int)(((now_ms / 60000) + 9 * 60) % (24 * 60));
}

int
notify_targets_board(struct store_conn *sc, int64_t patient_id,
                     const int64_t *users, size_t nusers, bool urgent,
                     int64_t now_ms, struct notify_target **out, size_t *n)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int minute = jst_minute(now_ms), rc;

	*out = NULL;
	*n = 0;
	if (nusers == 0)
		return RK_OK;
	/* One query for the board, not one per member: what a post costs. */
	q = store_stmt(sc, "SELECT " DEV_COLS ", u.urgent_only, u.quiet_from, "
	                   "u.quiet_until, u.boards FROM sheet_members m "
	                   "JOIN notice_devices d ON d.user_id = m.user_id "
	                   "JOIN users us ON us.id = d.user_id AND us.disabled = 0 "
	                   "LEFT JOIN notice_prefs p ON p.user_id = d.user_id AND "
	                   "p.device_id = d.id LEFT JOIN notice_prefs u ON "
	                   "u.user_id = d.user_id AND u.device_id = 0 "
	                   "WHERE m.patient_id = ?1 AND m.valid_from_ms <= ?2 AND "
	                   "(m.valid_until_ms = 0 OR m.valid_until_ms > ?2) "
	                   "ORDER BY d.id");
	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, now_ms);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		int64_t uid = sqlite3_column_int64(q, 1);
		bool reader = false;
		for (size_t i = 0; i < nusers && !reader; i++)
			reader = users[i] == uid;
		if (reader)
			target_add(q, patient_id, urgent, minute, out, n, &cap);
	}
	sqlite3_reset(q);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return RK_ERR_STORE;
	}
	return RK_OK;
}

int
notify_targets(struct store_conn *sc, const int64_t *users, size_t nusers,
               int64_t patient_id, bool urgent, int64_t now_ms,
               struct notify_target **out, size_t *n)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int minute = jst_minute(now_ms);

	*out = NULL;
	*n = 0;
	q = store_stmt(sc, "SELECT " DEV_COLS ", u.urgent_only, u.quiet_from, "
	                   "u.quiet_until, u.boards FROM notice_devices d "
	                   "JOIN users us ON us.id = d.user_id AND us.disabled = 0 "
	                   "LEFT JOIN notice_prefs p ON p.user_id = d.user_id AND "
	                   "p.device_id = d.id LEFT JOIN notice_prefs u ON "
	                   "u.user_id = d.user_id AND u.device_id = 0 "
	                   "WHERE d.user_id = ? ORDER BY d.id");
	if (q == NULL)
		return RK_ERR_STORE;
	for (size_t i = 0; i < nusers; i++) {
		int rc;
		sqlite3_bind_int64(q, 1, users[i]);
		while ((rc = store_step(sc, q)) == SQLITE_ROW)
			target_add(q, patient_id, urgent, minute, out, n, &cap);
		sqlite3_reset(q);
		if (rc < 0) {
			free(*out);
			*out = NULL;
			*n = 0;
			return RK_ERR_STORE;
		}
	}
	return RK_OK;
}
