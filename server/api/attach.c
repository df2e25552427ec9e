/*
 * Photos over the protocol and over HTTPS.
 *
 * Upload: begin (size, SHA-256, the client's upload id) → chunks at the
 * offset the server reports → finish. Each chunk is a write op (so it is
 * durable when acknowledged, and a dropped connection resumes from what
 * was committed). Finish reads the whole file on a reader thread, checks
 * its digest, decodes and re-encodes it there (media_sanitize: the type
 * from the bytes, no metadata, orientation applied, a thumbnail) — never
 * on the service or writer thread — then stores the result in one write.
 * A refused photo leaves nothing behind.
 *
 * Download: in chunks over the WebSocket, or whole over HTTPS GET
 * /attachments/ID[?thumb=1] with "Authorization: Bearer TOKEN". Either
 * way a photo is readable exactly when its post is, and a photo one may
 * not read is answered exactly like one that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "media/media.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/text.h"

#define CHUNK_MAX (512 * 1024)

void
api_attachment_to_wire(const struct care_attachment *a, Renkei__V1__Attachment *w,
                       char hex[65])
{
	renkei__v1__attachment__init(w);
	rk_hex_encode(a->sha256, 32, hex);
	w->id = (uint64_t)a->id;
	w->mime = (char *)a->mime;
	w->size = (uint64_t)a->size;
	w->sha256 = hex;
	w->width = a->width;
	w->height = a->height;
	w->file_name = (char *)a->file_name;
	w->thumbnail_size = (uint64_t)a->thumb_size;
}

enum att_op { UP_BEGIN, UP_CHUNK, UP_FINISH, UP_STORE, UP_DISCARD, AT_GET };

struct att_req {
	struct api_req r;
	enum att_op what;
	struct policy_actor who;
	struct audit_entry *au;
	char key[CARE_CODE_MAX + 1];
	char code[CARE_CODE_MAX + 1];
	char file_name[CARE_NAME_MAX + 1];
	int64_t size, offset, received;
	uint8_t sha[32];
	uint8_t *data;
	size_t len;
	/* finish */
	struct media_image img, thumb;
	struct care_attachment att;
	bool done;
	/* get */
	int64_t id, length, total;
	bool thumbnail;
};

static void
att_free(struct att_req *q)
{
	free(q->data);
	media_image_fini(&q->img);
	media_image_fini(&q->thumb);
	api_req_fini(&q->r);
	free(q);
}

static int
att_write_run(struct store_conn *sc, struct store_op *op)
{
	struct att_req *q = (struct att_req *)op;
	struct api *api = q->r.api;
	int64_t now = rk_now_ms();
	struct care_upload_limits lim = {
		.max_bytes = api->conf->upload_max_bytes,
		.max_total_bytes = (int64_t)api->conf->upload_max_total_mb << 20,
		.max_per_user = api->conf->upload_max_per_user,
	};

	switch (q->what) {
	case UP_BEGIN:
		return care_upload_begin(sc, &q->who, q->code, q->key, q->file_name,
		                         q->size, q->sha, &lim, now, &q->received, &q->r.st);
	case UP_CHUNK:
		return care_upload_chunk(sc, &q->who, q->key, q->offset, q->data, q->len,
		                         now, &q->received, &q->r.st);
	case UP_STORE: {
		int rc = care_upload_store(sc, &q->who, q->key, q->img.mime, q->img.width,
		                           q->img.height, q->img.data, q->img.len,
		                           q->thumb.data, q->thumb.len, now, &q->att,
		                           &q->r.st);
		if (rc == RK_OK) {
			char obj[24];
			snprintf(obj, sizeof(obj), "%lld", (long long)q->att.id);
			audit_entry_set_object(q->au, obj);
			audit_entry_set_patient(q->au, q->att.patient_code);
		}
		return rc;
	}
	case UP_DISCARD: {
		/* The refusal stands; the pieces go (nothing of a refused photo
		 * is kept). */
		sqlite3_stmt *s1 = store_stmt(sc, "DELETE FROM upload_parts WHERE upload_id "
		                                  "IN (SELECT id FROM uploads WHERE user_id = ? "
		                                  "AND upload_key = ?)");
		sqlite3_stmt *s2;
		if (s1 == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(s1, 1, q->who.user_id);
		sqlite3_bind_text(s1, 2, q->key, -1, SQLITE_STATIC);
		if (store_step(sc, s1) != SQLITE_DONE)
			return RK_ERR_STORE;
		s2 = store_stmt(sc, "DELETE FROM uploads WHERE user_id = ? AND "
		                    "upload_key = ?");
		if (s2 == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(s2, 1, q->who.user_id);
		sqlite3_bind_text(s2, 2, q->key, -1, SQLITE_STATIC);
		if (store_step(sc, s2) != SQLITE_DONE)
			return RK_ERR_STORE;
		return RK_OK; /* the refusal is recorded by its audit entry */
	}
	default:
		return RK_ERR_INTERNAL;
	}
}

static void
send_status(struct api *api, struct api_conn *c, struct att_req *q)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadStatus us = RENKEI__V1__UPLOAD_STATUS__INIT;

	us.upload_id = q->key;
	us.received = (uint64_t)q->received;
	us.size = (uint64_t)q->size;
	env.request_id = q->r.request_id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS;
	env.upload_status = &us;
	api_send(api, c, &env);
}

static void
send_attachment(struct api *api, struct api_conn *c, struct att_req *q)
{
	Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
	Renkei__V1__UploadFinishResponse fr = RENKEI__V1__UPLOAD_FINISH_RESPONSE__INIT;
	Renkei__V1__Attachment a;
	char hex[65];

	api_attachment_to_wire(&q->att, &a, hex);
	fr.attachment = &a;
	env.request_id = q->r.request_id;
	env.body_case = RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE;
	env.upload_finish_response = &fr;
	api_send(api, c, &env);
}

static void
att_write_done(struct store_op *op, int rc)
{
	struct att_req *q = (struct att_req *)op;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (c == NULL)
		goto out;
	if (q->what == UP_DISCARD) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
		goto out;
	}
	if (rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
		goto out;
	}
	if (q->what == UP_CHUNK)
		api->stats.upload_bytes += q->len;
	if (q->what == UP_STORE)
		send_attachment(api, c, q);
	else
		send_status(api, c, q);
out:
	att_free(q);
}

/* ---- finish: read + sanitise on a reader, then store */

static int
finish_run(struct store_conn *sc, struct store_op *op)
{
	struct att_req *q = (struct att_req *)op;
	struct media_limits lim;
	int rc;

	rc = care_upload_load(sc, &q->who, q->key, &q->data, &q->len, &q->done,
	                      &q->att, &q->r.st);
	if (rc != RK_OK || q->done)
		return rc;
	media_limits_init(&lim);
	lim.max_bytes = (size_t)q->r.api->conf->upload_max_bytes;
	rc = media_sanitize(q->data, q->len, &lim, &q->img, &q->thumb, &q->r.st);
	if (rc != RK_OK && q->r.st.field == NULL)
		q->r.st.field = "upload_id";
	free(q->data);
	q->data = NULL;
	return rc;
}

static void finish_reply(struct api_req *r, int rc);

static void
finish_done(struct store_op *op, int rc)
{
	struct att_req *q = (struct att_req *)op;
	struct api *api = q->r.api;
	void *journal = q->r.op.journal;

	q->r.api->decoding--;
	if (rc == RK_OK && !q->done) {
		/* Decoded and clean: store it (the audit record rides along). */
		memset(&q->r.op, 0, sizeof(q->r.op));
		q->r.op.journal = journal;
		q->what = UP_STORE;
		q->r.op.run = att_write_run;
		q->r.op.done = att_write_done;
		if (store_submit_write(api->store, &q->r.op) != RK_OK) {
			struct api_conn *c = api_req_conn(&q->r);
			if (c != NULL)
				api_send_error3(api, c, q->r.request_id, RK_ERR_UNAVAILABLE,
				                "the server is shutting down", NULL);
			att_free(q);
		}
		return;
	}
	if (rc == RK_ERR_INVALID) {
		/* Refused photo: drop its pieces, record the refusal, answer. */
		memset(&q->r.op, 0, sizeof(q->r.op));
		q->r.op.journal = journal;
		audit_entry_set_outcome(q->au, RK_ERR_INVALID);
		q->what = UP_DISCARD;
		q->r.op.run = att_write_run;
		q->r.op.done = att_write_done;
		if (store_submit_write(api->store, &q->r.op) != RK_OK)
			att_free(q);
		return;
	}
	api_audit_then(&q->r, rc, finish_reply);
}

static void
finish_reply(struct api_req *r, int rc)
{
	struct att_req *q = (struct att_req *)r;
	struct api_conn *c = api_req_conn(&q->r);

	if (c != NULL) {
		if (rc == RK_OK)
			send_attachment(q->r.api, c, q);
		else
			api_send_error(q->r.api, c, q->r.request_id, &q->r.st);
	}
	att_free(q);
}

/* ---- download over the WebSocket */

static int
get_run(struct store_conn *sc, struct store_op *op)
{
	struct att_req *q = (struct att_req *)op;
	int rc = care_attachment_read(sc, &q->who, q->id, q->thumbnail, q->offset,
	                              q->length, rk_now_ms(), &q->att, &q->data,
	                              &q->len, &q->total, &q->r.st);
	if (rc == RK_OK)
		audit_entry_set_patient(q->au, q->att.patient_code);
	return rc;
}

static void
get_reply(struct api_req *r, int rc)
{
	struct att_req *q = (struct att_req *)r;
	struct api *api = q->r.api;
	struct api_conn *c = api_req_conn(&q->r);

	if (c != NULL && rc != RK_OK) {
		api_send_error(api, c, q->r.request_id, &q->r.st);
	} else if (c != NULL) {
		Renkei__V1__Envelope env = RENKEI__V1__ENVELOPE__INIT;
		Renkei__V1__AttachmentChunk ch = RENKEI__V1__ATTACHMENT_CHUNK__INIT;
		ch.attachment_id = (uint64_t)q->id;
		ch.data.data = q->data;
		ch.data.len = q->len;
		ch.offset = (uint64_t)q->offset;
		ch.total = (uint64_t)q->total;
		ch.mime = q->thumbnail ? (char *)"image/jpeg" : q->att.mime;
		ch.more = q->offset + (int64_t)q->len < q->total;
		env.request_id = q->r.request_id;
		env.body_case = RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_CHUNK;
		env.attachment_chunk = &ch;
		api_send(api, c, &env);
	}
	att_free(q);
}

static struct att_req *
att_new(struct api *api, struct api_conn *c, uint64_t rid, enum att_op what)
{
	struct att_req *q = rk_calloc(1, sizeof(*q));
	api_req_init(&q->r, api, c, rid);
	q->what = what;
	q->who = api_actor(c);
	return q;
}

void
api_handle_attach(struct api *api, struct api_conn *c,
                  const Renkei__V1__Envelope *env)
{
	uint64_t rid = env->request_id;
	struct att_req *q;
	int rc;

	switch (env->body_case) {
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_BEGIN_REQUEST: {
		const Renkei__V1__UploadBeginRequest *m = env->upload_begin_request;
		if (!care_client_id_valid(m->upload_id))
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "upload_id must be 1-64 printable ASCII "
			                       "characters",
			                       "upload_id");
		if (m->patient[0] == '\0' || strlen(m->patient) > CARE_CODE_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "name the patient (their code)", "patient");
		if (m->sha256.len != 32)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "sha256 must be the 32-byte digest", "sha256");
		if (m->size == 0 || m->size > (uint64_t)api->conf->upload_max_bytes)
			return api_send_error3(api, c, rid,
			                       m->size == 0 ? RK_ERR_INVALID : RK_ERR_EXHAUSTED,
			                       m->size == 0 ? "the photo is empty"
			                                    : "the photo is larger than allowed",
			                       "size");
		if (strlen(m->file_name) > CARE_NAME_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "the file name is too long", "file_name");
		q = att_new(api, c, rid, UP_BEGIN);
		snprintf(q->key, sizeof(q->key), "%s", m->upload_id);
		snprintf(q->code, sizeof(q->code), "%s", m->patient);
		snprintf(q->file_name, sizeof(q->file_name), "%s", m->file_name);
		q->size = (int64_t)m->size;
		memcpy(q->sha, m->sha256.data, 32);
		q->au = api_audit(&q->r, c, "attachment.upload.begin", q->code, q->key);
		break;
	}
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_CHUNK_REQUEST: {
		const Renkei__V1__UploadChunkRequest *m = env->upload_chunk_request;
		if (!care_client_id_valid(m->upload_id))
			return api_send_error3(api, c, rid, RK_ERR_INVALID, "bad upload_id",
			                       "upload_id");
		if (m->data.len == 0 || m->data.len > CHUNK_MAX || m->offset > INT64_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID,
			                       "a chunk is 1 byte to 512 KiB", "data");
		q = att_new(api, c, rid, UP_CHUNK);
		snprintf(q->key, sizeof(q->key), "%s", m->upload_id);
		q->offset = (int64_t)m->offset;
		q->data = rk_malloc(m->data.len);
		memcpy(q->data, m->data.data, m->data.len);
		q->len = m->data.len;
		break;
	}
	case RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_REQUEST: {
		const Renkei__V1__UploadFinishRequest *m = env->upload_finish_request;
		if (!care_client_id_valid(m->upload_id))
			return api_send_error3(api, c, rid, RK_ERR_INVALID, "bad upload_id",
			                       "upload_id");
		/* Decoding takes memory and CPU: a few at a time. */
		if (api->decoding >= 2 * api->conf->store_readers)
			return api_send_error3(api, c, rid, RK_ERR_EXHAUSTED,
			                       "the server is busy with other photos; try "
			                       "again in a moment",
			                       NULL);
		q = att_new(api, c, rid, UP_FINISH);
		snprintf(q->key, sizeof(q->key), "%s", m->upload_id);
		q->au = api_audit(&q->r, c, "attachment.upload", NULL, NULL);
		q->r.op.run = finish_run;
		q->r.op.done = finish_done;
		if (store_submit_read(api->store, &q->r.op) != RK_OK) {
			api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
			                "the server is shutting down", NULL);
			att_free(q);
			return;
		}
		api->decoding++;
		return;
	}
	case RENKEI__V1__ENVELOPE__BODY_ATTACHMENT_GET_REQUEST: {
		const Renkei__V1__AttachmentGetRequest *m = env->attachment_get_request;
		char obj[24];
		if (m->attachment_id == 0 || m->attachment_id > INT64_MAX ||
		    m->offset > INT64_MAX)
			return api_send_error3(api, c, rid, RK_ERR_INVALID, "bad photo id",
			                       "attachment_id");
		q = att_new(api, c, rid, AT_GET);
		q->id = (int64_t)m->attachment_id;
		q->thumbnail = m->thumbnail;
		q->offset = (int64_t)m->offset;
		q->length = m->length == 0 || m->length > CHUNK_MAX ? CHUNK_MAX : m->length;
		snprintf(obj, sizeof(obj), "%lld", (long long)q->id);
		q->au = api_audit(&q->r, c, "attachment.read", NULL, obj);
		q->r.op.run = get_run;
		q->r.reply = get_reply;
	q->r.op.done = api_read_done;
		if (store_submit_read(api->store, &q->r.op) != RK_OK) {
			api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
			                "the server is shutting down", NULL);
			att_free(q);
		}
		return;
	}
	default:
		return api_send_error3(api, c, rid, RK_ERR_INTERNAL, "unhandled request",
		                       NULL);
	}
	q->r.op.run = att_write_run;
	q->r.op.done = att_write_done;
	rc = store_submit_write(api->store, &q->r.op);
	if (rc != RK_OK) {
		api_send_error3(api, c, rid, RK_ERR_UNAVAILABLE,
		                "the server is shutting down", NULL);
		att_free(q);
	}
}

/* ---- garbage collection */

struct gc_op {
	struct store_op op;
	int64_t abandon_ms, orphan_ms;
	int uploads, orphans;
};

static int
gc_run(struct store_conn *sc, struct store_op *op)
{
	struct gc_op *g = (struct gc_op *)op;
	return care_media_gc(sc, rk_now_ms(), g->abandon_ms, g->orphan_ms,
	                     &g->uploads, &g->orphans);
}

static void
gc_done(struct store_op *op, int rc)
{
	struct gc_op *g = (struct gc_op *)op;
	if (rc == RK_OK && (g->uploads || g->orphans))
		LOG_I("MEDIA-GC", "abandoned_uploads=%d orphan_photos=%d", g->uploads,
		      g->orphans);
	free(g);
}

void
api_media_gc(struct api *api)
{
	struct gc_op *g = rk_calloc(1, sizeof(*g));

	g->op.run = gc_run;
	g->op.done = gc_done;
	g->abandon_ms = (int64_t)api->conf->upload_abandon_s * 1000;
	g->orphan_ms = (int64_t)api->conf->attachment_orphan_s * 1000;
	if (store_submit_write(api->store, &g->op) != RK_OK)
		free(g);
}
