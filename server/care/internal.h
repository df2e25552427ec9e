/*
 * Shared by care's own files; not part of its API.
 */
#ifndef RK_CARE_INTERNAL_H
#define RK_CARE_INTERNAL_H

#include "care/care.h"

/* The columns care_post_row() reads: "SELECT " CARE_POST_COLS "WHERE ...". */
#define CARE_POST_COLS                                                         \
	"p.id, p.patient_id, pt.code, p.seq, p.author_id, u.login, "           \
	"u.display_name, u.profession, p.kind, p.visibility, p.urgent, "       \
	"p.body, p.temp_dc, p.bp_sys, p.bp_dia, p.pulse, p.spo2, p.resp, "     \
	"p.client_id, p.created_ms, coalesce(p.amends_id, 0), "                \
	"coalesce(p.retracts_id, 0), "                                         \
	"coalesce((SELECT max(a.id) FROM posts a WHERE a.amends_id = p.id), 0), " \
	"coalesce((SELECT min(r.id) FROM posts r WHERE r.retracts_id = p.id), 0), " \
	"EXISTS (SELECT 1 FROM post_to t WHERE t.post_id = p.id) "             \
	"FROM posts p JOIN patients pt ON pt.id = p.patient_id "               \
	"JOIN users u ON u.id = p.author_id "

void care_post_row(sqlite3_stmt *q, struct care_post *p);

/* The columns care_att_row() reads: "SELECT " CARE_ATT_COLS "WHERE ...". */
#define CARE_ATT_COLS                                                               \
	"a.id, a.owner_id, a.patient_id, coalesce(a.post_id, 0), a.mime, "     \
	"a.size, length(a.thumb), a.sha256, a.width, a.height, a.file_name, "  \
	"p.code FROM attachments a JOIN patients p ON p.id = a.patient_id "

void care_att_row(sqlite3_stmt *q, struct care_attachment *a);

/* s is valid UTF-8 without control characters, at most max bytes. */
bool care_text_ok(const char *s, size_t max);

/* Copy a text column into dst (cap bytes, truncated, NUL-terminated). */
void care_col(char *dst, size_t cap, sqlite3_stmt *q, int col);

/* The id of patient `code`; 0 if none; -1 on a database error. */
int64_t care_patient_id(struct store_conn *sc, const char *code);

/* Load a post the actor may `op` (read or ack); a post they may not see
 * is NOT_FOUND, as one that does not exist. */
int care_post_readable(struct store_conn *sc, const struct policy_actor *who,
                       int64_t post_id, int64_t now_ms, enum policy_op op,
                       struct care_post *out, struct rk_status *st);

/* RK_OK if the author has no post on this board with this client id yet; else a
 * refusal in st (ALREADY_EXISTS, field client_id). For a post written on
 * the way of another request (a hand-off's summary): (author, patient,
 * client_id) is unique, and care_insert_post would fail in the index. */
int care_client_id_unused(struct store_conn *sc, int64_t author_id,
                          int64_t patient_id, const char *client_id,
                          struct rk_status *st);

/* Insert a post row on patient_id's board with the next sequence number
 * and read it back into *out. No access check: callers do that, and
 * make sure (author_id, patient_id, in->client_id) is new (repeat_of, or
 * care_client_id_unused, or an id no client can send). */
int care_insert_post(struct store_conn *sc, int64_t patient_id,
                     int64_t author_id, const struct care_post_input *in,
                     int64_t amends_id, int64_t retracts_id, int64_t now_ms,
                     struct care_post *out, struct rk_status *st);

/* Load the actor's membership of patient_id and ask the policy. */
int care_member_check(struct store_conn *sc, const struct policy_actor *who,
                      int64_t patient_id, int64_t now_ms, enum policy_op op,
                      int visibility, struct rk_status *st);

/* The sheet's rows, as care_sheet_list, optionally only those valid now. */
int care_sheet_rows(struct store_conn *sc, int64_t patient_id, int64_t now_ms,
                    bool only_active, struct care_member **out, size_t *n);

/* Put finished uploads on a new post (same author and patient). */
int care_attach_to_post(struct store_conn *sc, int64_t author_id,
                        int64_t patient_id, int64_t post_id, const int64_t *ids,
                        size_t n, struct rk_status *st);

/* Fill in what a post's row does not hold: p->att with its photos, and
 * its addressing if it has any (request.c). */
int care_post_details(struct store_conn *sc, struct care_post *p);
int care_post_attachments(struct store_conn *sc, struct care_post *p);
int care_post_addressing(struct store_conn *sc, struct care_post *p);

/* Resolve in->to against patient_id's sheet for a post of `visibility`
 * by `who` (request.c): ids[] the addressees, *owner_id the request's
 * owner. Refusals as CreatePostRequest.to/owner/due_at_ms say. */
int care_address_resolve(struct store_conn *sc, const struct policy_actor *who,
                         int64_t patient_id, const struct care_post_input *in,
                         int visibility, int64_t now_ms, int64_t *ids,
                         int64_t *owner_id, struct rk_status *st);
/* Store a new post's addressing (after its row). */
int care_address_store(struct store_conn *sc, int64_t post_id,
                       const int64_t *ids, size_t n, bool request,
                       int64_t owner_id, int64_t due_ms);
/* The syntax of in's addressing fields (care_post_input_check). */
int care_address_input_check(const struct care_post_input *in,
                             struct rk_status *st);

#endif
