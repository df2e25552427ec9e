/*
 * Content digests: the SHA-256 of a record's canonical content, which the
 * audit record of the action that created or changed it carries
 * (content_sha256) and `renkei-server verify --content` recomputes from
 * what is stored (docs/audit-content.md).
 *
 * Each kind of record is encoded as a domain string with its NUL
 * ("renkei-post-v1", ...), then its fields in a fixed order: integers as
 * 8 bytes big-endian, text as a 4-byte big-endian length and its bytes,
 * digests as their 32 raw bytes. Fixed widths and length prefixes make
 * the encoding injective, and the domain string keeps one kind's digest
 * from ever standing for another's. Changing a field's meaning or order
 * means a new domain string ("-v2"), never an edit of this one.
 */
#include <string.h>

#include <openssl/evp.h>

#include "care/care.h"
#include "care/internal.h"
#include "util/err.h"
#include "util/text.h"

struct dg {
	EVP_MD_CTX *ctx;
	int ok;
};

static void
dg_bytes(struct dg *d, const void *p, size_t n)
{
	if (d->ok && n > 0 && EVP_DigestUpdate(d->ctx, p, n) != 1)
		d->ok = 0;
}

static void
dg_begin(struct dg *d, const char *domain)
{
	d->ctx = EVP_MD_CTX_new();
	d->ok = d->ctx != NULL && EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) == 1;
	dg_bytes(d, domain, strlen(domain) + 1);
}

static void
dg_int(struct dg *d, int64_t v)
{
	uint8_t b[8];
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)(u & 0xff);
		u >>= 8;
	}
	dg_bytes(d, b, 8);
}

static void
dg_text(struct dg *d, const void *p, size_t n)
{
	dg_int(d, (int64_t)n); /* 8 bytes: no text is ever too long for it */
	dg_bytes(d, p, n);
}

static void
dg_str(struct dg *d, const char *s)
{
	dg_text(d, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* Finish into out as hex; RK_OK or RK_ERR_CRYPTO. */
static int
dg_end(struct dg *d, char out[CARE_DIGEST_HEX])
{
	uint8_t md[32];
	unsigned int n = 0;

	if (d->ok && EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
		d->ok = 0;
	EVP_MD_CTX_free(d->ctx);
	if (!d->ok || n != 32) {
		out[0] = '\0';
		return RK_ERR_CRYPTO;
	}
	rk_hex_encode(md, 32, out);
	out[64] = '\0';
	return RK_OK;
}

int
care_post_digest(const struct care_post *p, char out[CARE_DIGEST_HEX])
{
	struct dg d;

	dg_begin(&d, "renkei-post-v1");
	dg_int(&d, p->id);
	dg_str(&d, p->patient_code);
	dg_int(&d, p->seq);
	dg_int(&d, p->author_id);
	dg_int(&d, p->kind);
	dg_int(&d, p->visibility);
	dg_int(&d, p->urgent);
	dg_str(&d, p->text);
	dg_int(&d, p->vitals.temperature_dc);
	dg_int(&d, p->vitals.bp_systolic);
	dg_int(&d, p->vitals.bp_diastolic);
	dg_int(&d, p->vitals.pulse);
	dg_int(&d, p->vitals.spo2);
	dg_int(&d, p->vitals.respiration);
	dg_str(&d, p->client_id);
	dg_int(&d, p->created_ms);
	dg_int(&d, p->amends_id);
	dg_int(&d, p->retracts_id);
	dg_int(&d, (int64_t)p->natt);
	for (size_t i = 0; i < p->natt; i++) {
		dg_int(&d, p->att[i].id);
		dg_bytes(&d, p->att[i].sha256, 32);
	}
	/* Addressing is part of what was written; appended only when there
	 * is some, so that the digests of posts without it stay as they
	 * were. A request's later state (done, overdue) is not. */
	if (p->nto > 0) {
		dg_int(&d, (int64_t)p->nto);
		for (size_t i = 0; i < p->nto; i++)
			dg_int(&d, p->to[i].id);
		dg_int(&d, p->request);
		dg_int(&d, p->owner_id);
		dg_int(&d, p->due_ms);
	}
	return dg_end(&d, out);
}

static int
step_row(struct store_conn *sc, sqlite3_stmt *q)
{
	int rc = store_step(sc, q);

	if (rc < 0)
		return RK_ERR_STORE;
	return rc == SQLITE_ROW ? RK_OK : RK_ERR_NOT_FOUND;
}

int
care_sheet_row_digest(struct store_conn *sc, int64_t row_id,
                      char out[CARE_DIGEST_HEX])
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT s.id, p.code, u.login, s.team_role, s.is_primary,"
	        " s.valid_from_ms, s.valid_until_ms, s.read_only, s.contact,"
	        " s.added_by, s.added_ms FROM sheet_members s"
	        " JOIN patients p ON p.id = s.patient_id"
	        " JOIN users u ON u.id = s.user_id WHERE s.id = ?");
	struct dg d;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, row_id);
	if ((rc = step_row(sc, q)) != RK_OK) {
		sqlite3_reset(q);
		return rc;
	}
	dg_begin(&d, "renkei-sheet-row-v1");
	dg_int(&d, sqlite3_column_int64(q, 0));
	for (int c = 1; c <= 3; c++)
		dg_text(&d, sqlite3_column_text(q, c),
		        (size_t)sqlite3_column_bytes(q, c));
	for (int c = 4; c <= 7; c++)
		dg_int(&d, sqlite3_column_int64(q, c));
	dg_text(&d, sqlite3_column_text(q, 8), (size_t)sqlite3_column_bytes(q, 8));
	dg_int(&d, sqlite3_column_int64(q, 9));
	dg_int(&d, sqlite3_column_int64(q, 10));
	sqlite3_reset(q);
	return dg_end(&d, out);
}

int
care_sheet_member_digest(struct store_conn *sc, int64_t patient_id,
                         int64_t user_id, char out[CARE_DIGEST_HEX])
{
	sqlite3_stmt *q = store_stmt(sc, "SELECT max(id) FROM sheet_members"
	                                 " WHERE patient_id = ? AND user_id = ?");
	int64_t id;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	sqlite3_bind_int64(q, 2, user_id);
	rc = step_row(sc, q);
	id = rc == RK_OK ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	if (rc != RK_OK)
		return rc;
	if (id == 0)
		return RK_ERR_NOT_FOUND;
	return care_sheet_row_digest(sc, id, out);
}

int
care_handoff_digest(struct store_conn *sc, int64_t patient_id,
                    char out[CARE_DIGEST_HEX])
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT p.code, h.state, h.from_org_id, h.discharge_date,"
	        " h.conference_at, h.opened_by, h.opened_ms, h.accepted_by,"
	        " h.accepted_ms, h.hospital_until_ms FROM handoffs h"
	        " JOIN patients p ON p.id = h.patient_id WHERE h.patient_id = ?");
	struct dg d;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	if ((rc = step_row(sc, q)) != RK_OK) {
		sqlite3_reset(q);
		return rc;
	}
	dg_begin(&d, "renkei-handoff-v1");
	dg_text(&d, sqlite3_column_text(q, 0), (size_t)sqlite3_column_bytes(q, 0));
	for (int c = 1; c <= 9; c++) {
		if (c == 3 || c == 4)
			dg_text(&d, sqlite3_column_text(q, c),
			        (size_t)sqlite3_column_bytes(q, c));
		else
			dg_int(&d, sqlite3_column_int64(q, c));
	}
	sqlite3_reset(q);
	return dg_end(&d, out);
}

int
care_attachment_digest(struct store_conn *sc, int64_t attachment_id,
                       char out[CARE_DIGEST_HEX])
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT a.id, p.code, a.owner_id, a.file_name, a.mime, a.size,"
	        " a.width, a.height, a.data, a.thumb, a.created_ms"
	        " FROM attachments a JOIN patients p ON p.id = a.patient_id"
	        " WHERE a.id = ?");
	uint8_t h[32];
	struct dg d;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, attachment_id);
	if ((rc = step_row(sc, q)) != RK_OK) {
		sqlite3_reset(q);
		return rc;
	}
	dg_begin(&d, "renkei-photo-v1");
	dg_int(&d, sqlite3_column_int64(q, 0));
	dg_text(&d, sqlite3_column_text(q, 1), (size_t)sqlite3_column_bytes(q, 1));
	dg_int(&d, sqlite3_column_int64(q, 2));
	for (int c = 3; c <= 4; c++)
		dg_text(&d, sqlite3_column_text(q, c),
		        (size_t)sqlite3_column_bytes(q, c));
	for (int c = 5; c <= 7; c++)
		dg_int(&d, sqlite3_column_int64(q, c));
	/* The bytes themselves, hashed afresh: never the stored sha256. */
	for (int c = 8; c <= 9; c++) {
		rk_sha256(sqlite3_column_blob(q, c), (size_t)sqlite3_column_bytes(q, c),
		          h);
		dg_bytes(&d, h, 32);
	}
	dg_int(&d, sqlite3_column_int64(q, 10));
	sqlite3_reset(q);
	return dg_end(&d, out);
}

int
care_sheet_digests(struct store_conn *sc, int64_t patient_id,
                   int (*each)(void *arg, const char *login,
                               const char *hex),
                   void *arg)
{
	sqlite3_stmt *q = store_stmt(
	    sc, "SELECT max(s.id), u.login FROM sheet_members s"
	        " JOIN users u ON u.id = s.user_id WHERE s.patient_id = ?"
	        " GROUP BY s.user_id ORDER BY 1");
	int64_t ids[64];
	char logins[64][CARE_CODE_MAX + 1];
	size_t n = 0;
	int rc;

	if (q == NULL)
		return RK_ERR_STORE;
	sqlite3_bind_int64(q, 1, patient_id);
	/* Collect first: the digests use statements of their own. */
	while ((rc = store_step(sc, q)) == SQLITE_ROW) {
		if (n == sizeof(ids) / sizeof(ids[0])) {
			sqlite3_reset(q);
			return RK_ERR_INTERNAL; /* no sheet is this long */
		}
		ids[n] = sqlite3_column_int64(q, 0);
		care_col(logins[n], sizeof(logins[n]), q, 1);
		n++;
	}
	sqlite3_reset(q);
	if (rc < 0)
		return RK_ERR_STORE;
	for (size_t i = 0; i < n; i++) {
		char hex[CARE_DIGEST_HEX];
		if ((rc = care_sheet_row_digest(sc, ids[i], hex)) != RK_OK ||
		    (rc = each(arg, logins[i], hex)) != RK_OK)
			return rc;
	}
	return RK_OK;
}
