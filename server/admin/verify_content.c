/*
 * renkei-server verify --content: hold what care.db stores against the
 * content digests in the audit trail (docs/audit-content.md).
 *
 * The latest digest the trail holds for each post, sheet row (per patient
 * and member: the row in force), hand-off and photo is collected first;
 * then every stored one is hashed again (care/digest.c) and compared. A
 * record altered with the care key alone no longer matches its digest; to
 * alter both undetectably one would have to rewrite the chain, which only
 * the signing key's checkpoints allow (`audit verify` checks those).
 *
 * Consistency while a server runs: one read transaction, care.db read
 * first (its outbox holds the records of every change it shows that are
 * not yet in audit.db), audit.db after (it holds everything forwarded
 * before the outbox was read; outbox rows up to its 'outbox_upto' are
 * already in it and are left out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "care/care.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/text.h"

struct rec {
	char key[2 * CARE_CODE_MAX + 32];
	int64_t id;   /* the record's, or its outbox row's */
	bool pending; /* in care.db's outbox, not yet in the chain: newer */
	char hex[CARE_DIGEST_HEX];
	bool seen;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

struct check {
	struct store_conn *sc;
	struct recs rs;
	long checked[4], findings;
	FILE *progress;
};

enum kind { K_POST, K_SHEET, K_HANDOFF, K_PHOTO };

/* The object an action's digest is of, as a key; 0 if none. */
static int
key_of(const char *action, const char *patient, const char *object,
       char *key, size_t cap)
{
	static const char *const post[] = {"post.create", "post.amend",
	                                   "post.retract", "post.import"};
	static const char *const sheet[] = {"sheet.add", "sheet.change",
	                                    "sheet.end", "family.invite",
	                                    "sheet.row"};

	for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++)
		if (strcmp(action, post[i]) == 0)
			return snprintf(key, cap, "post:%s", object) > 0;
	for (size_t i = 0; i < sizeof(sheet) / sizeof(sheet[0]); i++)
		if (strcmp(action, sheet[i]) == 0)
			return snprintf(key, cap, "sheet:%s:%s", patient, object) > 0;
	if (strncmp(action, "handoff.", 8) == 0)
		return snprintf(key, cap, "handoff:%s", patient) > 0;
	if (strcmp(action, "attachment.upload") == 0)
		return snprintf(key, cap, "photo:%s", object) > 0;
	return 0;
}

static const char *
col(sqlite3_stmt *q, int c)
{
	const char *s = (const char *)sqlite3_column_text(q, c);
	return s != NULL ? s : "";
}

/* Collect the digests of one table of records (audit.records, or the
 * outbox: pending). */
static int
load(struct check *k, const char *sql, bool pending)
{
	sqlite3_stmt *q = store_stmt(k->sc, sql);
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	while ((rc = store_step(k->sc, q)) == SQLITE_ROW) {
		struct rec r = {.id = sqlite3_column_int64(q, 0), .pending = pending};
		const char *hex = col(q, 4);

		if (strlen(hex) != 64 ||
		    !key_of(col(q, 1), col(q, 2), col(q, 3), r.key, sizeof(r.key)))
			continue;
		memcpy(r.hex, hex, 65);
		if (k->rs.n == k->rs.cap) {
			k->rs.cap = k->rs.cap ? k->rs.cap * 2 : 1024;
			k->rs.v = rk_realloc(k->rs.v, k->rs.cap * sizeof(*k->rs.v));
		}
		k->rs.v[k->rs.n++] = r;
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

/* Outbox rows audit.db already holds (id <= 'outbox_upto') go. */
static int
drop_forwarded(struct check *k)
{
	sqlite3_stmt *q = store_stmt(k->sc, "SELECT coalesce((SELECT value FROM"
	                                    " audit.meta WHERE name = 'outbox_upto'), 0)");
	int64_t upto;
	size_t o = 0;

	if (q == NULL || store_step(k->sc, q) != SQLITE_ROW) {
		if (q != NULL)
			sqlite3_reset(q);
		return RK_ERR_STORE;
	}
	upto = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	for (size_t i = 0; i < k->rs.n; i++)
		if (k->rs.v[i].id > upto)
			k->rs.v[o++] = k->rs.v[i];
	k->rs.n = o;
	return RK_OK;
}

static int
by_key_then_id(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c == 0)
		c = (int)x->pending - (int)y->pending;
	return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->key, ((const struct rec *)b)->key);
}

/* Sort, and keep the newest record of each key. */
static void
settle(struct recs *rs)
{
	size_t o = 0;

	qsort(rs->v, rs->n, sizeof(*rs->v), by_key_then_id);
	for (size_t i = 0; i < rs->n; i++) {
		if (o > 0 && strcmp(rs->v[o - 1].key, rs->v[i].key) == 0)
			rs->v[o - 1] = rs->v[i];
		else
			rs->v[o++] = rs->v[i];
	}
	rs->n = o;
}

static struct rec *
find(struct recs *rs, const char *key)
{
	struct rec probe;

	snprintf(probe.key, sizeof(probe.key), "%s", key);
	return bsearch(&probe, rs->v, rs->n, sizeof(*rs->v), by_key);
}

/* One stored object: its digest against the trail's. */
static void
compare(struct check *k, enum kind kind, const char *key, const char *hex,
        const char *what)
{
	struct rec *r = find(&k->rs, key);

	if (++k->checked[kind] % 10000 == 0 && k->progress != NULL)
		fprintf(k->progress, "verify --content: %ld posts, %ld sheet rows, "
		                     "%ld photos checked\n",
		        k->checked[K_POST], k->checked[K_SHEET], k->checked[K_PHOTO]);
	if (r == NULL) {
		printf("%s: no audit record holds its content\n", what);
		k->findings++;
		return;
	}
	r->seen = true;
	if (strcmp(r->hex, hex) != 0) {
		printf("%s: differs from what %s %lld recorded\n", what,
		       r->pending ? "the audit record in care.db's outbox, row"
		                  : "audit record",
		       (long long)r->id);
		k->findings++;
	}
}

static int
check_posts(struct check *k)
{
	sqlite3_stmt *q = store_stmt(k->sc, "SELECT id FROM posts ORDER BY id");
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	while ((rc = store_step(k->sc, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = rk_realloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		struct care_post p;
		char key[40], what[160], hex[CARE_DIGEST_HEX];

		memset(&p, 0, sizeof(p));
		if (care_post_load(k->sc, ids[i], &p) != RK_OK ||
		    care_post_digest(&p, hex) != RK_OK) {
			care_post_fini(&p);
			rc = -1;
			break;
		}
		snprintf(key, sizeof(key), "post:%lld", (long long)p.id);
		snprintf(what, sizeof(what), "post %lld (patient %s, seq %lld)",
		         (long long)p.id, p.patient_code, (long long)p.seq);
		compare(k, K_POST, key, hex, what);
		care_post_fini(&p);
	}
	free(ids);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

static int
check_sheets(struct check *k)
{
	sqlite3_stmt *q = store_stmt(
	    k->sc, "SELECT max(s.id), p.code, u.login FROM sheet_members s"
	           " JOIN patients p ON p.id = s.patient_id"
	           " JOIN users u ON u.id = s.user_id"
	           " GROUP BY s.patient_id, s.user_id ORDER BY 1");
	struct row {
		int64_t id;
		char code[CARE_CODE_MAX + 1], login[CARE_CODE_MAX + 1];
	} *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	while ((rc = store_step(k->sc, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			rows = rk_realloc(rows, cap * sizeof(*rows));
		}
		rows[n].id = sqlite3_column_int64(q, 0);
		snprintf(rows[n].code, sizeof(rows[n].code), "%s", col(q, 1));
		snprintf(rows[n].login, sizeof(rows[n].login), "%s", col(q, 2));
		n++;
	}
	sqlite3_reset(q);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		char key[sizeof(((struct rec *)0)->key)], what[200],
			hex[CARE_DIGEST_HEX];

		if (care_sheet_row_digest(k->sc, rows[i].id, hex) != RK_OK) {
			rc = -1;
			break;
		}
		snprintf(key, sizeof(key), "sheet:%s:%s", rows[i].code, rows[i].login);
		snprintf(what, sizeof(what), "sheet row %lld (patient %s, member %s)",
		         (long long)rows[i].id, rows[i].code, rows[i].login);
		compare(k, K_SHEET, key, hex, what);
	}
	free(rows);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

/* Hand-offs and photos: one digest per row of a table. */
static int
check_table(struct check *k, enum kind kind, const char *sql)
{
	sqlite3_stmt *q = store_stmt(k->sc, sql);
	struct item {
		int64_t id;
		char code[CARE_CODE_MAX + 1];
	} *items = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	while ((rc = store_step(k->sc, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			items = rk_realloc(items, cap * sizeof(*items));
		}
		items[n].id = sqlite3_column_int64(q, 0);
		snprintf(items[n].code, sizeof(items[n].code), "%s", col(q, 1));
		n++;
	}
	sqlite3_reset(q);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		char key[80], what[120], hex[CARE_DIGEST_HEX];
		int drc = kind == K_HANDOFF
		              ? care_handoff_digest(k->sc, items[i].id, hex)
		              : care_attachment_digest(k->sc, items[i].id, hex);
		if (drc != RK_OK) {
			rc = -1;
			break;
		}
		if (kind == K_HANDOFF) {
			snprintf(key, sizeof(key), "handoff:%s", items[i].code);
			snprintf(what, sizeof(what), "hand-off of patient %s", items[i].code);
		} else {
			snprintf(key, sizeof(key), "photo:%lld", (long long)items[i].id);
			snprintf(what, sizeof(what), "photo %lld (patient %s)",
			         (long long)items[i].id, items[i].code);
		}
		compare(k, kind, key, hex, what);
	}
	free(items);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}

/* Posts and sheet rows are never deleted: one the trail names but care.db
 * lacks was removed. (Photos never put on a post are collected, so an
 * absent photo is no finding.) */
static void
report_missing(struct check *k)
{
	for (size_t i = 0; i < k->rs.n; i++) {
		const struct rec *r = &k->rs.v[i];
		if (r->seen || (strncmp(r->key, "post:", 5) != 0 &&
		                strncmp(r->key, "sheet:", 6) != 0))
			continue;
		printf("%s: recorded by audit record %lld but not stored\n", r->key,
		       (long long)r->id);
		k->findings++;
	}
}

int
admin_verify_content(struct admin *a)
{
	struct check k = {.progress = stderr};
	int rc;

	if (admin_open(a, &k.sc) != 0)
		return 1;
	/* care.db first (see the top of this file). */
	rc = store_exec(k.sc, "BEGIN");
	if (rc == RK_OK)
		rc = load(&k, "SELECT id, action, patient, object, content_sha256"
		              " FROM main.audit_outbox WHERE outcome = 0"
		              " AND content_sha256 IS NOT NULL",
		          true);
	if (rc == RK_OK)
		rc = drop_forwarded(&k);
	if (rc == RK_OK)
		rc = load(&k, "SELECT id, action, patient, object, content_sha256"
		              " FROM audit.records WHERE outcome = 0"
		              " AND content_sha256 IS NOT NULL",
		          false);
	settle(&k.rs);
	if (rc == RK_OK)
		rc = check_posts(&k);
	if (rc == RK_OK)
		rc = check_sheets(&k);
	if (rc == RK_OK)
		rc = check_table(&k, K_HANDOFF,
		                 "SELECT h.patient_id, p.code FROM handoffs h"
		                 " JOIN patients p ON p.id = h.patient_id ORDER BY 1");
	if (rc == RK_OK)
		rc = check_table(&k, K_PHOTO,
		                 "SELECT a.id, p.code FROM attachments a"
		                 " JOIN patients p ON p.id = a.patient_id ORDER BY 1");
	if (rc == RK_OK)
		report_missing(&k);
	store_conn_release(k.sc);
	store_exec(k.sc, "COMMIT");
	store_conn_close(k.sc);
	free(k.rs.v);
	if (rc != RK_OK) {
		fprintf(stderr, "renkei-server: verify --content could not run: %s\n",
		        rk_strerror(rc));
		return 1;
	}
	printf("%s: %ld posts, %ld sheet rows, %ld hand-offs, %ld photos checked "
	       "against the audit trail; %ld differ\n",
	       k.findings ? "FAILED" : "OK", k.checked[K_POST], k.checked[K_SHEET],
	       k.checked[K_HANDOFF], k.checked[K_PHOTO], k.findings);
	return k.findings ? 1 : 0;
}
