/*
 * Rows into structs: the column readers, a post or a patient by its key,
 * freeing what they allocate, and the sheet's dates (JST calendar days).
 * The bottom of care/: every other file here may call these; these call
 * nothing else in care/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/mem.h"
#include "util/text.h"

#define JST_OFFSET_MS (9LL * 3600 * 1000)

void
care_col(char *dst, size_t cap, sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);
	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

int64_t
care_date_to_ms(const char *ymd, bool end_of_day)
{
	struct tm tm;
	int y, mo, d;
	char extra;

	if (ymd == NULL || sscanf(ymd, "%4d-%2d-%2d%c", &y, &mo, &d, &extra) != 3 ||
	    y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return INT64_MIN;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d + (end_of_day ? 1 : 0);
	return (int64_t)timegm(&tm) * 1000 - JST_OFFSET_MS;
}

void
care_ms_to_date(int64_t ms, char out[11])
{
	struct tm tm;
	time_t t;

	if (ms == 0) {
		out[0] = '\0';
		return;
	}
	t = (time_t)((ms + JST_OFFSET_MS) / 1000);
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

bool
care_text_ok(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max && rk_utf8_valid(s, strlen(s));
}

void
care_post_fini(struct care_post *p)
{
	if (p == NULL)
		return;
	free(p->text);
	p->text = NULL;
	free(p->att);
	p->att = NULL;
	p->natt = 0;
	free(p->to);
	p->to = NULL;
	p->nto = 0;
}

void
care_posts_free(struct care_post *posts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		care_post_fini(&posts[i]);
	free(posts);
}

void
care_page_fini(struct care_page *pg)
{
	care_posts_free(pg->posts, pg->n);
	memset(pg, 0, sizeof(*pg));
}

void
care_post_row(sqlite3_stmt *q, struct care_post *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(q, 0);
	p->patient_id = sqlite3_column_int64(q, 1);
	care_col(p->patient_code, sizeof(p->patient_code), q, 2);
	p->seq = sqlite3_column_int64(q, 3);
	p->author_id = sqlite3_column_int64(q, 4);
	care_col(p->author_login, sizeof(p->author_login), q, 5);
	care_col(p->author_name, sizeof(p->author_name), q, 6);
	p->author_profession = sqlite3_column_int(q, 7);
	p->kind = sqlite3_column_int(q, 8);
	p->visibility = sqlite3_column_int(q, 9);
	p->urgent = sqlite3_column_int(q, 10) != 0;
	p->text = rk_strdup(sqlite3_column_text(q, 11)
	                            ? (const char *)sqlite3_column_text(q, 11)
	                            : "");
	p->vitals.temperature_dc = (uint32_t)sqlite3_column_int(q, 12);
	p->vitals.bp_systolic = (uint32_t)sqlite3_column_int(q, 13);
	p->vitals.bp_diastolic = (uint32_t)sqlite3_column_int(q, 14);
	p->vitals.pulse = (uint32_t)sqlite3_column_int(q, 15);
	p->vitals.spo2 = (uint32_t)sqlite3_column_int(q, 16);
	p->vitals.respiration = (uint32_t)sqlite3_column_int(q, 17);
	care_col(p->client_id, sizeof(p->client_id), q, 18);
	p->created_ms = sqlite3_column_int64(q, 19);
	p->amends_id = sqlite3_column_int64(q, 20);
	p->retracts_id = sqlite3_column_int64(q, 21);
	p->amended_by = sqlite3_column_int64(q, 22);
	p->retracted_by = sqlite3_column_int64(q, 23);
	p->addressed = sqlite3_column_int(q, 24) != 0;
}

int
care_post_load(struct store_conn *sc, int64_t post_id, struct care_post *out)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT " CARE_POST_COLS "WHERE p.id = ?");
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, post_id);
	rc = store_step(sc, q);
	if (rc < 0)
		return RK_ERR_STORE;
	if (rc != SQLITE_ROW)
		return RK_ERR_NOT_FOUND;
	care_post_row(q, out);
	sqlite3_reset(q);
	if (care_post_details(sc, out) != RK_OK) {
		care_post_fini(out);
		return RK_ERR_STORE;
	}
	return RK_OK;
}

int64_t
care_patient_id(struct store_conn *sc, const char *code)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT id FROM patients WHERE code = ?");
	int64_t id = 0;

	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return id;
}

void
care_att_row(sqlite3_stmt *q, struct care_attachment *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(q, 0);
	a->owner_id = sqlite3_column_int64(q, 1);
	a->patient_id = sqlite3_column_int64(q, 2);
	a->post_id = sqlite3_column_int64(q, 3);
	care_col(a->mime, sizeof(a->mime), q, 4);
	a->size = sqlite3_column_int64(q, 5);
	a->thumb_size = sqlite3_column_int64(q, 6);
	if (sqlite3_column_bytes(q, 7) == 32)
		memcpy(a->sha256, sqlite3_column_blob(q, 7), 32);
	a->width = (uint32_t)sqlite3_column_int(q, 8);
	a->height = (uint32_t)sqlite3_column_int(q, 9);
	care_col(a->file_name, sizeof(a->file_name), q, 10);
	care_col(a->patient_code, sizeof(a->patient_code), q, 11);
}

int
care_post_details(struct store_conn *sc, struct care_post *p)
{
	int rc = care_post_attachments(sc, p);

	if (rc == RK_OK && p->addressed)
		rc = care_post_addressing(sc, p);
	return rc;
}

int
care_post_attachments(struct store_conn *sc, struct care_post *p)
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT " CARE_ATT_COLS "WHERE a.post_id = ? "
	                                 "ORDER BY a.id");
	size_t cap = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, p->id);
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (p->natt == cap) {
			cap = cap ? cap * 2 : 2;
			p->att = rk_realloc(p->att, cap * sizeof(*p->att));
		}
		care_att_row(q, &p->att[p->natt++]);
	}
	sqlite3_reset(q);
	return rc < 0 ? RK_ERR_STORE : RK_OK;
}
