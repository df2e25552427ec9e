/*
 * Photo uploads over the protocol: begin (size, SHA-256, the client's
 * upload id) → chunks at the offset the server reports → finish.
 *
 * Each chunk is a write op (so it is durable when acknowledged, and a
 * dropped connection resumes from what was committed). Finish reads the
 * whole file on a reader thread, checks its digest, decodes and
 * re-encodes it there (media_sanitize: the type from the bytes, no
 * metadata, orientation applied, a thumbnail) — never on the service or
 * writer thread — then stores the result in one write. A refused photo
 * leaves nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/record.h"
#include "api/reply.h"
#include "api/wire.h"
#include "media/media.h"
#include "util/mem.h"
#include "util/text.h"

#define CHUNK_MAX (512 * 1024)

enum upload_step { UP_BEGIN, UP_CHUNK, UP_STORE, UP_DISCARD };

struct upload_req {
	struct api_req r;
	enum upload_step step;
	struct policy_actor who;
	char key[CARE_CODE_MAX + 1]; /* the client's upload id */
	char code[CARE_CODE_MAX + 1];
	char file_name[CARE_NAME_MAX + 1];
	int64_t size, offset, received;
	uint8_t sha[32];
	uint8_t *data;
	size_t len;
	/* finish */
	struct media_image img, thumb;
	struct care_attachment att;
	bool done; /* finished before: answer with what was stored */
	enum care_upload_limit hit; /* begin: the limit that refused it */
	char msg[200];              /* ... and the message naming it */
};

_Static_assert(CARE_UPLOAD_SERVER_FULL <
                   sizeof(((struct api_stats *)0)->upload_refused) / sizeof(uint64_t),
               "a counter for every upload limit");

/* The refusal of a new upload, naming the setting and its value (the
 * care layer's messages name neither). */
static void
limit_message(const struct conf *conf, enum care_upload_limit hit, char *buf,
              size_t cap)
{
	switch (hit) {
	case CARE_UPLOAD_TOO_BIG:
		if (conf->upload_max_bytes % (1 << 20) == 0)
			snprintf(buf, cap, "the photo is larger than the limit of %d MiB "
			         "(upload_max_bytes)", conf->upload_max_bytes >> 20);
		else
			snprintf(buf, cap, "the photo is larger than the limit of %d bytes "
			         "(upload_max_bytes)", conf->upload_max_bytes);
		return;
	case CARE_UPLOAD_CONCURRENT:
		snprintf(buf, cap, "too many uploads in progress: at most %d at a time "
		         "(upload_max_per_user); finish one first",
		         conf->upload_max_per_user);
		return;
	case CARE_UPLOAD_QUOTA:
		snprintf(buf, cap, "over your quota of %d MiB for photos not yet on a post "
		         "(upload_quota_mb): put the finished ones on a post, or finish "
		         "the uploads in progress, first", conf->upload_quota_mb);
		return;
	case CARE_UPLOAD_SERVER_FULL:
		snprintf(buf, cap, "the server is receiving too many photos right now "
		         "(upload_max_total_mb, %d MiB in all); try again shortly",
		         conf->upload_max_total_mb);
		return;
	case CARE_UPLOAD_OK:
		break;
	}
	buf[0] = '\0';
}

static void
upload_fini(struct api_req *r)
{
	struct upload_req *q = (struct upload_req *)r;

	free(q->data);
	media_image_fini(&q->img);
	media_image_fini(&q->thumb);
	if (q->hit != CARE_UPLOAD_OK)
		r->api->stats.upload_refused[q->hit]++;
}

/* The refusal stands; the pieces go (nothing of a refused photo is kept). */
static int
discard(struct store_conn *sc, struct upload_req *q)
{
	static const char *const sql[] = {
		"DELETE FROM upload_parts WHERE upload_id IN (SELECT id FROM uploads "
		"WHERE user_id = ? AND upload_key = ?)",
		"DELETE FROM uploads WHERE user_id = ? AND upload_key = ?",
	};

	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *s = store_stmt(sc, sql[i]);
		if (s == NULL)
			return RK_ERR_STORE;
		sqlite3_bind_int64(s, 1, q->who.user_id);
		sqlite3_bind_text(s, 2, q->key, -1, SQLITE_STATIC);
		if (store_step(sc, s) != SQLITE_DONE)
			return RK_ERR_STORE;
	}
	return RK_OK; /* the refusal is recorded by its audit entry */
}

static int
upload_run(struct store_conn *sc, struct store_op *op)
{
	struct upload_req *q = (struct upload_req *)op;
	const struct conf *conf = q->r.api->conf;
	int64_t now = rk_now_ms();
	struct care_upload_limits lim = {
		.max_bytes = conf->upload_max_bytes,
		.max_per_user = conf->upload_max_per_user,
		.quota_bytes = (int64_t)conf->upload_quota_mb << 20,
		.max_total_bytes = (int64_t)conf->upload_max_total_mb << 20,
	};
	int rc;

	switch (q->step) {
	case UP_BEGIN:
		rc = care_upload_begin(sc, &q->who, q->code, q->key, q->file_name,
		                       q->size, q->sha, &lim, now, &q->received, &q->hit,
		                       &q->r.st);
		if (q->hit != CARE_UPLOAD_OK) {
			limit_message(conf, q->hit, q->msg, sizeof(q->msg));
			q->r.st.msg = q->msg;
		}
		return rc;
	case UP_CHUNK:
		return care_upload_chunk(sc, &q->who, q->key, q->offset, q->data, q->len,
		                         now, &q->received, &q->r.st);
	case UP_STORE:
		rc = care_upload_store(sc, &q->who, q->key, q->img.mime, q->img.width,
		                       q->img.height, q->img.data, q->img.len,
		                       q->thumb.data, q->thumb.len, now, &q->att, &q->r.st);
		if (rc == RK_OK) {
			api_audit_object_id(q->r.au, (uint64_t)q->att.id);
			audit_entry_set_patient(q->r.au, q->att.patient_code);
			if (api_content_photo(sc, q->r.au, q->att.id) != RK_OK)
				rc = rk_fail(&q->r.st, RK_ERR_STORE,
				             "temporarily unavailable", NULL);
		}
		return rc;
	case UP_DISCARD:
		return discard(sc, q);
	}
	return RK_ERR_INTERNAL;
}

static void
send_attachment(struct api_req *r, struct api_conn *c)
{
	struct upload_req *q = (struct upload_req *)r;
	Renkei__V1__UploadFinishResponse fr = RENKEI__V1__UPLOAD_FINISH_RESPONSE__INIT;
	Renkei__V1__Attachment a;
	char hex[65];

	if (c == NULL)
		return;
	api_attachment_to_wire(&q->att, &a, hex);
	fr.attachment = &a;
	api_reply(r->api, c, r->request_id,
	          RENKEI__V1__ENVELOPE__BODY_UPLOAD_FINISH_RESPONSE, &fr);
}

static void
send_status(struct api_req *r, struct api_conn *c)
{
	struct upload_req *q = (struct upload_req *)r;
	Renkei__V1__UploadStatus us = RENKEI__V1__UPLOAD_STATUS__INIT;

	if (c == NULL)
		return;
	if (q->step == UP_CHUNK)
		r->api->stats.upload_bytes += q->len;
	us.upload_id = q->key;
	us.received = (uint64_t)q->received;
	us.size = (uint64_t)q->size;
	api_reply(r->api, c, r->request_id, RENKEI__V1__ENVELOPE__BODY_UPLOAD_STATUS,
	          &us);
}

/* A discard is done: answer with the refusal it followed. */
static void
discard_done(struct store_op *op, int rc)
{
	struct api_req *r = (struct api_req *)op;
	struct api_conn *c = api_req_conn(r);

	(void)rc;
	if (c != NULL)
		api_reply_status(r->api, c, r->request_id, &r->st, r->st.err);
	api_req_release(r);
}

static struct upload_req *
upload_req_new(const struct api_call *call, enum upload_step step,
               const char *key)
{
	struct upload_req *q = api_req_new(sizeof(*q), call);

	q->step = step;
	q->who = api_req_actor(&q->r, call->c);
	snprintf(q->key, sizeof(q->key), "%s", key);
	q->r.op.run = upload_run;
	q->r.ok = send_status;
	q->r.fini = upload_fini;
	return q;
}

void
api_upload_begin(const struct api_call *call, const void *msg)
{
	const Renkei__V1__UploadBeginRequest *m = msg;
	int64_t max = call->api->conf->upload_max_bytes;
	struct upload_req *q;
	char why[200];

	if (!care_client_id_valid(m->upload_id))
		return api_refuse(call, RK_ERR_INVALID,
		                  "upload_id must be 1-64 printable ASCII characters",
		                  "upload_id");
	if (!api_patient_named(call, m->patient))
		return;
	if (m->sha256.len != 32)
		return api_refuse(call, RK_ERR_INVALID, "sha256 must be the 32-byte digest",
		                  "sha256");
	if (m->size == 0)
		return api_refuse(call, RK_ERR_INVALID, "the photo is empty", "size");
	if (m->size > (uint64_t)max) {
		call->api->stats.upload_refused[CARE_UPLOAD_TOO_BIG]++;
		limit_message(call->api->conf, CARE_UPLOAD_TOO_BIG, why, sizeof(why));
		return api_refuse(call, RK_ERR_EXHAUSTED, why, "size");
	}
	if (strlen(m->file_name) > CARE_NAME_MAX)
		return api_refuse(call, RK_ERR_INVALID, "the file name is too long",
		                  "file_name");
	q = upload_req_new(call, UP_BEGIN, m->upload_id);
	snprintf(q->code, sizeof(q->code), "%s", m->patient);
	snprintf(q->file_name, sizeof(q->file_name), "%s", m->file_name);
	q->size = (int64_t)m->size;
	memcpy(q->sha, m->sha256.data, 32);
	audit_entry_set_patient(q->r.au, q->code);
	audit_entry_set_object(q->r.au, q->key);
	api_req_write(&q->r);
}

void
api_upload_chunk(const struct api_call *call, const void *msg)
{
	const Renkei__V1__UploadChunkRequest *m = msg;
	struct upload_req *q;

	if (!care_client_id_valid(m->upload_id))
		return api_refuse(call, RK_ERR_INVALID, "bad upload_id", "upload_id");
	if (m->data.len == 0 || m->data.len > CHUNK_MAX || m->offset > INT64_MAX)
		return api_refuse(call, RK_ERR_INVALID, "a chunk is 1 byte to 512 KiB",
		                  "data");
	q = upload_req_new(call, UP_CHUNK, m->upload_id);
	q->offset = (int64_t)m->offset;
	q->data = rk_malloc(m->data.len);
	memcpy(q->data, m->data.data, m->data.len);
	q->len = m->data.len;
	api_req_write(&q->r);
}

/* ---- finish: read + sanitise on a reader, then store */

static int
finish_run(struct store_conn *sc, struct store_op *op)
{
	struct upload_req *q = (struct upload_req *)op;
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

static void
finish_done(struct store_op *op, int rc)
{
	struct upload_req *q = (struct upload_req *)op;

	q->r.api->decoding--;
	if (rc == RK_OK && !q->done) {
		/* Decoded and clean: store it (the audit record rides along). */
		q->step = UP_STORE;
		api_req_next(&q->r, true, upload_run, NULL);
	} else if (rc == RK_ERR_INVALID) {
		/* Refused photo: drop its pieces, record the refusal, answer. */
		audit_entry_set_outcome(q->r.au, RK_ERR_INVALID);
		q->step = UP_DISCARD;
		api_req_next(&q->r, true, upload_run, discard_done);
	} else {
		/* Finished before, or the load failed: a read's answer. */
		api_req_read_done(op, rc);
	}
}

void
api_upload_finish(const struct api_call *call, const void *msg)
{
	const Renkei__V1__UploadFinishRequest *m = msg;
	struct upload_req *q;

	if (!care_client_id_valid(m->upload_id))
		return api_refuse(call, RK_ERR_INVALID, "bad upload_id", "upload_id");
	/* Decoding takes memory and CPU: a few at a time. */
	if (call->api->decoding >= 2 * call->api->conf->store_readers)
		return api_refuse(call, RK_ERR_EXHAUSTED,
		                  "the server is busy with other photos; try again in a "
		                  "moment",
		                  NULL);
	q = upload_req_new(call, UP_STORE, m->upload_id);
	q->r.op.run = finish_run;
	q->r.op.done = finish_done;
	q->r.ok = send_attachment;
	if (api_req_read(&q->r) == RK_OK)
		call->api->decoding++;
}
